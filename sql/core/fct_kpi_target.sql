/*
description: >
  One row per KPI target of the sales-ops target file, with its period resolved to dates. period '2025' is
  FISCAL year 2025 (named by the year it ends in; with a fiscal year starting in April: 2024-04-01 ..
  2025-03-31), '2025-Q2' its second fiscal quarter; 'FY2025', 'FY2025-Q2', '2025Q2' and '2025 Q2' are accepted
  too. Rows whose period does not parse, or without kpi or target value, are dropped (the target file's
  data-quality checks report them). scope is lowercased; company targets have scope_id NULL.
columns:
  kpi: "KPI name (lowercase; the KPI table's name)."
  period_type: "'year' or 'quarter'."
  period_start: "First day of the fiscal period."
  period_end: "Last day of the fiscal period (inclusive)."
  period_label: "'FY2025' or 'FY2025-Q2', as in core.dim_period."
  scope: "'company', 'team' or 'rep'."
  scope_id: "NULL for company; manager/team id or user id."
  target_value: "The target, in the KPI's unit."
*/
with targets as (
    select * from staging.stg_kpi_target
),

run as (
    select * from core.dim_run
),

parsed as (
    select
        targets.*,
        try_cast(regexp_extract(targets.period, '^(?:FY)?\s*([0-9]{4})(?:\s*-?\s*Q([1-4]))?$', 1) as integer) as fiscal_year,
        try_cast(nullif(regexp_extract(targets.period, '^(?:FY)?\s*([0-9]{4})(?:\s*-?\s*Q([1-4]))?$', 2), '') as integer) as fiscal_quarter,
        run.fiscal_year_start_month as fm
    from targets
    cross join run
),

dated as (
    select
        *,
        -- the fiscal year named N starts in month fm of year N (fm = 1) or N - 1 (fm > 1)
        make_date(cast(fiscal_year - case when fm = 1 then 0 else 1 end as bigint), cast(fm as bigint), 1) as year_start
    from parsed
    where fiscal_year is not null
      and kpi is not null
      and target_value is not null
),

final as (
    select
        kpi,
        case when fiscal_quarter is null then 'year' else 'quarter' end                 as period_type,
        case when fiscal_quarter is null then year_start
             else cast(year_start + to_months((fiscal_quarter - 1) * 3) as date) end     as period_start,
        case when fiscal_quarter is null then cast(year_start + interval 1 year - interval 1 day as date)
             else cast(year_start + to_months(fiscal_quarter * 3) - interval 1 day as date) end as period_end,
        'FY' || cast(fiscal_year as varchar)
            || case when fiscal_quarter is null then '' else '-Q' || cast(fiscal_quarter as varchar) end as period_label,
        scope,
        case when scope = 'company' then null else scope_id end                         as scope_id,
        target_value
    from dated
)

select * from final
