/*
description: >
  Conversion rates to the corporate currency, as validity intervals: conversion_rate = units of iso_code per 1
  corporate unit, valid on valid_from <= d < valid_to (valid_to NULL = open). To convert an amount dated d:
  amount / conversion_rate of the 'dated' row in force on d when there is one, else the 'static' row.
  'dated' rows come from DatedConversionRate (StartDate .. NextStartDate; a missing NextStartDate is taken
  from the next StartDate of the same currency; Salesforce's 9999-12-31 is stored as NULL; a missing
  StartDate as 0001-01-01). 'static' rows come from CurrencyType (valid for all dates). The corporate currency
  always has a static rate of 1 even when CurrencyType is not exported (a single-currency org's amounts are
  taken as-is); any other currency without a row has no rate (a data-quality failure, never a silent 1.0).
  Non-positive rates are dropped. Inactive currencies keep their rates (old records may still use them).
columns:
  iso_code: "Currency ISO code (upper case)."
  conversion_rate: "Units of this currency per 1 corporate-currency unit."
  valid_from: "First day the rate applies."
  valid_to: "First day it no longer applies (exclusive); NULL = open-ended."
  source: "'dated' (DatedConversionRate) or 'static' (CurrencyType)."
  is_corporate: "iso_code is the corporate currency."
*/
with run as (
    select * from core.dim_run
),

dated as (
    select * from staging.stg_dated_conversion_rate
),

currency_types as (
    select * from staging.stg_currency_type
),

dated_rates as (
    select
        upper(trim(iso_code))                                   as iso_code,
        conversion_rate,
        coalesce(start_date, date '0001-01-01')                 as valid_from,
        coalesce(
            next_start_date,
            lead(start_date) over (partition by upper(trim(iso_code)) order by start_date nulls first, dated_conversion_rate_id)
        )                                                       as next_start
    from dated
    where iso_code is not null
      and conversion_rate > 0
),

static_rates as (
    select
        upper(trim(iso_code))                                   as iso_code,
        conversion_rate
    from currency_types
    where iso_code is not null
      and conversion_rate > 0
    qualify row_number() over (partition by upper(trim(iso_code)) order by is_active desc nulls last, system_modstamp desc nulls last) = 1
),

corporate_static as (
    select
        run.corporate_currency                                  as iso_code,
        1.0                                                     as conversion_rate
    from run
    anti join static_rates on static_rates.iso_code = run.corporate_currency
),

unioned as (
    select iso_code, conversion_rate, valid_from,
           case when next_start >= date '9999-12-31' then null else next_start end as valid_to,
           'dated' as source
    from dated_rates
    union all
    select iso_code, conversion_rate, date '0001-01-01', cast(null as date), 'static'
    from static_rates
    union all
    select iso_code, conversion_rate, date '0001-01-01', cast(null as date), 'static'
    from corporate_static
),

final as (
    select
        unioned.iso_code,
        cast(unioned.conversion_rate as double)                 as conversion_rate,
        unioned.valid_from,
        unioned.valid_to,
        unioned.source,
        unioned.iso_code = run.corporate_currency               as is_corporate
    from unioned
    cross join run
    where unioned.valid_to is null or unioned.valid_to > unioned.valid_from
)

select * from final
