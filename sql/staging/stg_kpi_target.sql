/*
description: >
  A plain file without record ids: the rows of the most recent load of the file only (each load is a full snapshot that replaces the previous one), one row per (kpi, period, scope, scope_id); when the file repeats a target the last row wins. Every contract field cast with the contract type. No joins. A plain file kept by sales operations with the target of each KPI per period and scope (company, team or rep). The KPI scorecard joins it to the KPI values to show attainment and on-track / at-risk / off-track status; without it every KPI shows \"no target\".
columns:
  kpi: "The KPI the target is for."
  period: "Fiscal period, \"2025\" for a year or \"2025-Q2\" for a quarter."
  scope: "Level of the target, company, team or rep."
  scope_id: "Empty for company; the manager's user id for a team; the rep's user id."
  target_value: "The target, in the KPI's unit (currency, percent, days or count)."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with source as (
    select * from raw.kpi_target
),

latest_load as (
    select *
    from source
    qualify _loaded_at = max(_loaded_at) over ()
),

deduplicated as (
    select *
    from latest_load
    qualify row_number() over (
        partition by lower(trim("kpi")), upper(trim("period")), lower(trim("scope")), sf_id("scope_id")
        order by _row_number desc
    ) = 1
),

final as (
    select
        lower(trim(sf_text("kpi")))    as kpi,
        upper(trim(sf_text("period"))) as period,
        lower(trim(sf_text("scope")))  as scope,
        sf_id("scope_id")              as scope_id,
        sf_number("target_value")      as target_value,
        _export_id,
        _loaded_at
    from deduplicated
)

select * from final
