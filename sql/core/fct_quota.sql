/*
description: >
  Rows failing an error-severity data-quality rule (audit.quarantine) are left out.
  One row per quota owner and quota period start (ForecastingQuota), in the corporate currency (converted at
  the rate in force on the period's StartDate, like other money). Only amount quotas count (rows with a
  QuotaAmount; quantity-only quotas are dropped). When an org keeps quotas for several forecasting types, the
  type with the most quota rows is used for everyone, so quotas are not added up across types; amounts of
  duplicate rows of one owner, period and type are summed.
columns:
  owner_id: "The quota owner (user)."
  period_start: "First day of the quota period (ForecastingQuota.StartDate)."
  quota_amount: "Quota in its own currency."
  currency_iso_code: "Currency of the quota."
  quota_amount_corporate: "Quota in the corporate currency; NULL without a rate."
  has_currency_rate: "A rate was found."
  forecasting_type_id: "The forecasting type the quota belongs to."
*/
with quotas as (
    select * from staging.stg_forecasting_quota
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'ForecastingQuota' and q.record_id = forecasting_quota_id and q.severity = 'error'
    )
),

rates as (
    select * from core.dim_currency_rate
),

run as (
    select * from core.dim_run
),

dated_rates as (
    select iso_code, valid_from, valid_to, conversion_rate
    from rates
    where source = 'dated'
),

static_rates as (
    select iso_code, conversion_rate
    from rates
    where source = 'static'
),

main_type as (
    select forecasting_type_id
    from quotas
    where quota_amount is not null
    group by forecasting_type_id
    order by count(*) desc, forecasting_type_id nulls last
    limit 1
),

amount_quotas as (
    select
        quotas.quota_owner_id                                           as owner_id,
        quotas.start_date                                               as period_start,
        coalesce(upper(trim(quotas.currency_iso_code)), run.corporate_currency) as currency,
        quotas.forecasting_type_id,
        sum(quotas.quota_amount)                                        as quota_amount
    from quotas
    cross join run
    semi join main_type on main_type.forecasting_type_id is not distinct from quotas.forecasting_type_id
    where quotas.quota_amount is not null
      and quotas.quota_owner_id is not null
    group by all
),

with_dated_rate as (
    -- few rows: the ASOF join is cheap here
    select
        amount_quotas.*,
        case when dated_rates.valid_to is null or amount_quotas.period_start < dated_rates.valid_to
             then dated_rates.conversion_rate end as dated_rate
    from amount_quotas
    asof left join dated_rates
        on dated_rates.iso_code = amount_quotas.currency
        and amount_quotas.period_start >= dated_rates.valid_from
),

final as (
    select
        with_dated_rate.owner_id,
        with_dated_rate.period_start,
        with_dated_rate.quota_amount,
        with_dated_rate.currency                                        as currency_iso_code,
        with_dated_rate.quota_amount / nullif(coalesce(with_dated_rate.dated_rate, static_rates.conversion_rate), 0) as quota_amount_corporate,
        coalesce(with_dated_rate.dated_rate, static_rates.conversion_rate) is not null as has_currency_rate,
        with_dated_rate.forecasting_type_id
    from with_dated_rate
    left join static_rates on static_rates.iso_code = with_dated_rate.currency
)

select * from final
