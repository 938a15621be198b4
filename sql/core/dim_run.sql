/*
description: >
  One row: the facts every KPI of the run shares. as_of_date is the run's override when configured, else the
  date (GMT) of the newest SystemModstamp / LastModifiedDate / CreatedDate found in the Salesforce objects of
  the export (latest versions in staging, deleted records excluded; the plain HR and target files do not
  count), so the same export always gives the same numbers and nothing reads the wall clock. It is NULL only
  when the export holds no dated record at all (then calendars are empty). corporate_currency: the configured
  one, else the CurrencyType row with IsCorporate, else 'USD'. first_data_date: earliest Opportunity/Lead
  CreatedDate or Opportunity CloseDate. has_hire_dates is true when the HR file or the User custom field gives
  at least one hire date.
columns:
  as_of_date: "The run's as-of date (settings override, else derived from the export)."
  as_of_source: "'settings' or 'export' (or NULL when there is no date at all)."
  fiscal_year_start_month: "First month of the fiscal year (1 = calendar year)."
  corporate_currency: "ISO code all money is converted to."
  customer_window_days: "Days an account stays a customer after a Closed Won deal when there are no contracts."
  referral_sources: "Lowercase LIKE patterns for referral lead sources."
  closed_lead_statuses: "Lowercase LIKE patterns for closed lead statuses."
  call_subject_patterns: "Lowercase LIKE patterns of task subjects that mark a call (the last classification step)."
  email_subject_patterns: "Lowercase LIKE patterns of task subjects that mark an email."
  team_source: "'manager' or 'role': what defines a rep's team."
  referral_credit: "'referring_account' or 'owner'."
  on_track_attainment: "Scorecard threshold for on_track."
  at_risk_attainment: "Scorecard threshold for at_risk."
  has_contracts: "The export holds at least one (non-deleted) Contract row; else contract KPIs fall back to Closed Won opportunities."
  has_users: "The export holds at least one User row."
  has_hire_dates: "At least one hire date from the HR file or the User hire-date field."
  has_tasks: "The export holds at least one Task row."
  has_events: "The export holds at least one Event row."
  has_currency_types: "The export holds CurrencyType rows (a multi-currency org)."
  first_data_date: "Earliest Opportunity/Lead CreatedDate or Opportunity CloseDate (as a date)."
  export_max_timestamp: "The newest SystemModstamp / LastModifiedDate / CreatedDate in the export."
*/
with settings as (
    select * from staging.stg_run_settings
),

currency_types as (
    select * from staging.stg_currency_type
),

export_timestamps as (
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) as ts from staging.stg_opportunity
    union all
    select max(greatest(system_modstamp, created_date)) from staging.stg_opportunity_history
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_lead
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_account
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_contact
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_user
    union all
    select list_max([max(system_modstamp), max(last_modified_date)]) from staging.stg_user_role
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_contract
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_task
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_event
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_opportunity_line_item
    union all
    select list_max([max(system_modstamp), max(created_date)]) from staging.stg_pricebook_entry
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_product2
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_forecasting_quota
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_currency_type
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_dated_conversion_rate
    union all
    select list_max([max(system_modstamp), max(last_modified_date), max(created_date)]) from staging.stg_opportunity_stage
),

export_max as (
    select max(ts) as export_max_timestamp from export_timestamps
),

first_dates as (
    select list_min([min(cast(created_date as date)), min(close_date)]) as d from staging.stg_opportunity
    union all
    select min(cast(created_date as date)) from staging.stg_lead
),

first_data as (
    select min(d) as first_data_date from first_dates
),

corporate_currency as (
    select min(upper(trim(iso_code))) as iso_code
    from currency_types
    where is_corporate
),

counts as (
    select
        (select count(*) from staging.stg_contract) > 0                      as has_contracts,
        (select count(*) from staging.stg_user) > 0                          as has_users,
        (select count(*) from staging.stg_task) > 0                          as has_tasks,
        (select count(*) from staging.stg_event) > 0                         as has_events,
        (select count(*) from currency_types) > 0                            as has_currency_types,
        (select count(hire_date) from staging.stg_hr_employee) > 0
            or (select count(hire_date) from staging.stg_user) > 0           as has_hire_dates
),

final as (
    select
        coalesce(settings.as_of_date, cast(export_max.export_max_timestamp as date))       as as_of_date,
        case when settings.as_of_date is not null then 'settings'
             when export_max.export_max_timestamp is not null then 'export' end            as as_of_source,
        settings.fiscal_year_start_month,
        coalesce(settings.corporate_currency, corporate_currency.iso_code, 'USD')          as corporate_currency,
        settings.customer_window_days,
        settings.referral_sources,
        settings.closed_lead_statuses,
        settings.call_subject_patterns,
        settings.email_subject_patterns,
        settings.team_source,
        settings.referral_credit,
        settings.on_track_attainment,
        settings.at_risk_attainment,
        counts.has_contracts,
        counts.has_users,
        counts.has_hire_dates,
        counts.has_tasks,
        counts.has_events,
        counts.has_currency_types,
        first_data.first_data_date,
        export_max.export_max_timestamp
    from settings
    cross join export_max
    cross join first_data
    cross join corporate_currency
    cross join counts
)

select * from final
