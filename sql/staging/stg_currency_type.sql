/*
description: >
  One row per CurrencyType Id: the latest version across every loaded export (newest SystemModstamp, then latest load, then last row of the file). Rows without an Id are dropped. Every contract field renamed to snake_case and cast with the contract type; Id becomes currency_type_id. No joins. The org's currencies with their static conversion rates (units of the currency per one unit of the corporate currency). Every money KPI converts amounts to the corporate currency with these rates when no dated rate applies.
columns:
  currency_type_id: "The currency's 18-character Salesforce id."
  iso_code: "Three-letter ISO currency code (USD, EUR, ...)."
  conversion_rate: "Units of this currency per one corporate-currency unit."
  decimal_places: "Decimal places shown for the currency."
  is_active: "The currency can be used on records."
  is_corporate: "This is the corporate currency (rate 1) that all KPIs report in."
  created_date: "When the currency was added (GMT)."
  last_modified_date: "Last change to the currency (GMT)."
  system_modstamp: "Last system change (GMT); the newer version wins across exports."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with latest as (
    -- the newest version of each record: ranked on the row ids alone, then read whole (ranking whole
    -- rows sorted and spilled every column: Task at enterprise scale took 257 s instead of 121 s)
    select *
    from raw.currency_type
    where rowid in (
        select rowid
        from raw.currency_type
        where sf_id("Id") is not null and not coalesce(_duplicate_id, false)
        qualify row_number() over (
            partition by sf_id("Id")
            order by sf_timestamp("SystemModstamp", _date_order) desc nulls last, _loaded_at desc, _row_number desc
        ) = 1
    )
),

final as (
    select
        sf_id("Id")                      as currency_type_id,
        sf_text("IsoCode")               as iso_code,
        sf_number("ConversionRate")      as conversion_rate,
        sf_integer("DecimalPlaces")      as decimal_places,
        sf_bool("IsActive")              as is_active,
        sf_bool("IsCorporate")           as is_corporate,
        sf_timestamp("CreatedDate", _date_order)      as created_date,
        sf_timestamp("LastModifiedDate", _date_order) as last_modified_date,
        sf_timestamp("SystemModstamp", _date_order)   as system_modstamp,
        _export_id,
        _loaded_at
    from latest
)

select * from final
