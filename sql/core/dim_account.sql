/*
description: >
  One row per (non-deleted, latest-version) Account. Accounts referenced by deals but missing from the export
  get no row here (facts keep their account_id; a data-quality check reports the dangling reference).
columns:
  account_id: "The account's id."
  account_name: "Account.Name."
  account_type: "Account.Type (Customer, Prospect, Partner, ...)."
  industry: "Account.Industry; the industry dimension."
  billing_country: "Account.BillingCountry; the country dimension."
  billing_state: "Account.BillingState."
  billing_city: "Account.BillingCity."
  owner_id: "The account owner (rep scope of customer retention)."
  parent_id: "Parent account."
  annual_revenue: "Account.AnnualRevenue, in the account's currency (informational)."
  number_of_employees: "Account.NumberOfEmployees."
  currency_iso_code: "Account.CurrencyIsoCode."
  created_date: "CreatedDate as a date."
  created_at: "CreatedDate (GMT timestamp)."
*/
with accounts as (
    select * from staging.stg_account
),

final as (
    select
        account_id,
        name                        as account_name,
        type                        as account_type,
        industry,
        billing_country,
        billing_state,
        billing_city,
        owner_id,
        parent_id,
        annual_revenue,
        number_of_employees,
        currency_iso_code,
        cast(created_date as date)  as created_date,
        created_date                as created_at
    from accounts
)

select * from final
