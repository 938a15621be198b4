/*
description: >
  One row per ForecastingQuota Id: the latest version across every loaded export (newest SystemModstamp, then latest load, then last row of the file). Rows without an Id are dropped. Every contract field renamed to snake_case and cast with the contract type; Id becomes forecasting_quota_id. No joins. Each rep's sales quota per forecast period, from Collaborative Forecasts. It gives quota attainment (closed-won amount against quota) on the leaderboard and the top-reps list of the State of the Union dashboard.
columns:
  forecasting_quota_id: "The quota's 18-character Salesforce id."
  quota_owner_id: "The rep the quota belongs to."
  quota_amount: "Revenue quota for the period."
  quota_quantity: "Quantity quota for the period (quantity forecasts)."
  start_date: "First day of the quota period."
  period_id: "The forecast period."
  forecasting_type_id: "The forecast type the quota is for."
  is_amount: "The quota is a revenue quota."
  is_quantity: "The quota is a quantity quota."
  currency_iso_code: "Currency of the quota amount (multi-currency orgs only)."
  created_date: "When the quota was created (GMT)."
  last_modified_date: "Last change to the quota (GMT)."
  system_modstamp: "Last system change (GMT); the newer version wins across exports."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with latest as (
    -- the newest version of each record: ranked on the row ids alone, then read whole (ranking whole
    -- rows sorted and spilled every column: Task at enterprise scale took 257 s instead of 121 s)
    select *
    from raw.forecasting_quota
    where rowid in (
        select rowid
        from raw.forecasting_quota
        where sf_id("Id") is not null and not coalesce(_duplicate_id, false)
        qualify row_number() over (
            partition by sf_id("Id")
            order by sf_timestamp("SystemModstamp", _date_order) desc nulls last, _loaded_at desc, _row_number desc
        ) = 1
    )
),

final as (
    select
        sf_id("Id")                      as forecasting_quota_id,
        sf_id("QuotaOwnerId")            as quota_owner_id,
        sf_number("QuotaAmount")         as quota_amount,
        sf_number("QuotaQuantity")       as quota_quantity,
        sf_date("StartDate", _date_order)             as start_date,
        sf_id("PeriodId")                as period_id,
        sf_id("ForecastingTypeId")       as forecasting_type_id,
        sf_bool("IsAmount")              as is_amount,
        sf_bool("IsQuantity")            as is_quantity,
        sf_text("CurrencyIsoCode")       as currency_iso_code,
        sf_timestamp("CreatedDate", _date_order)      as created_date,
        sf_timestamp("LastModifiedDate", _date_order) as last_modified_date,
        sf_timestamp("SystemModstamp", _date_order)   as system_modstamp,
        _export_id,
        _loaded_at
    from latest
)

select * from final
