/*
description: >
  State of the Union, the CRO's scorecard: one row per KPI, company scope, for the fiscal year holding the
  as-of date (fiscal year to date), next to its target, from marts.kpi_scorecard. basis says how the row was
  made. fiscal_year: a yearly KPI (annual_contract_value, customer_lifetime_value, employee_retention,
  ramp_time, customer_retention) takes its scorecard row for the current fiscal year as is (value, target,
  attainment and status reported up to the as-of date). as_of: lead_age is a snapshot at the as-of date and
  takes its scorecard row as is. fiscal_ytd: a quarterly KPI (new_leads, conversion_rate, referrals) is summed
  over the fiscal quarters that started on or before the as-of date; a count is the sum of the quarters'
  counts, a percent is 100 * sum(numerators) / sum(denominators) (for conversion_rate: won deals / lead-quarters
  in the pipeline, a lead in the pipeline during two quarters counts in both), any other unit sum(numerators)
  / sum(denominators). Choices where the spec is silent: the target of a fiscal_ytd row is the company's
  fiscal-year target from the targets file when there is one, else the sum of the started quarters' targets
  (counts) or their average (other units), NULL when no quarter has a target; attainment and status follow
  the rules of marts.kpi_scorecard (value / target, or target / value for the lower-is-better KPIs; on_track,
  at_risk and off_track by the thresholds of core.dim_run; no_target without target or value). A KPI without a
  row for the current fiscal year (e.g. employee_retention without hire dates) is listed with a NULL value.
  The current quarter's value, target and status are shown beside quarterly KPIs.
columns:
  kpi: The KPI's name (its table in schema kpi).
  unit: currency, percent, days or count.
  direction: higher_is_better, or lower_is_better for lead_age and ramp_time.
  basis: fiscal_year (the KPI's row for the fiscal year), fiscal_ytd (quarters summed up to the as-of date) or as_of (a snapshot).
  period_label: The fiscal year's label ('FY2024'), with ' YTD' for fiscal_ytd rows and 'as of <date>' for as_of rows.
  period_start: First day of the fiscal year (the as-of date for as_of rows).
  period_end: Last day reported (the as-of date while the fiscal year runs).
  is_partial: The fiscal year has not ended at the as-of date.
  quarters_included: Number of fiscal quarters summed (fiscal_ytd rows); NULL otherwise.
  numerator: The value's numerator (summed for fiscal_ytd rows).
  denominator: The value's denominator (summed for fiscal_ytd rows; 1 for counts).
  value: The KPI's value in unit; NULL when its denominator is 0 or the KPI has no row this fiscal year.
  target_value: The target (see description); NULL without a target.
  attainment: value / target_value (target_value / value when lower is better); 1.0 = on target; NULL when it cannot be computed.
  status: on_track, at_risk, off_track or no_target.
  current_quarter_start: First day of the fiscal quarter holding the as-of date (quarterly KPIs only).
  current_quarter_value: The KPI's value in that (partial) quarter.
  current_quarter_target: The quarter's target; NULL without one.
  current_quarter_status: The quarter's status from marts.kpi_scorecard.
*/
with run as (
    select as_of_date, on_track_attainment, at_risk_attainment from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label, is_partial, effective_end
    from core.dim_period
),

scorecard as (
    select * from marts.kpi_scorecard
    where scope = 'company'
),

kpi_targets as (
    select kpi, period_type, period_start, scope, scope_id, target_value
    from core.fct_kpi_target
),

current_year as (
    select
        periods.period_start as year_start,
        periods.period_end as year_end,
        periods.period_label,
        periods.is_partial,
        periods.effective_end,
        run.as_of_date
    from periods
    cross join run
    where periods.period_type = 'year'
        and run.as_of_date between periods.period_start and periods.period_end
),

kpis as (
    select
        kpi,
        any_value(unit) as unit,
        any_value(direction) as direction,
        case
            when bool_or(period_type = 'as_of') then 'as_of'
            when bool_or(period_type = 'year') then 'fiscal_year'
            else 'fiscal_ytd'
        end as basis
    from scorecard
    group by kpi
),

year_targets as (
    select kpi, period_start, min(target_value) as target_value
    from kpi_targets
    where period_type = 'year' and scope = 'company' and scope_id is null
    group by kpi, period_start
),

year_rows as (
    select s.kpi, s.numerator, s.denominator, s.value, s.target_value, s.attainment, s.status
    from scorecard as s
    inner join current_year as cy
        on s.period_type = 'year'
        and s.period_start = cy.year_start
),

as_of_rows as (
    select s.kpi, s.period_start, s.numerator, s.denominator, s.value, s.target_value, s.attainment, s.status
    from scorecard as s
    where s.period_type = 'as_of'
    qualify row_number() over (partition by s.kpi order by s.period_start desc) = 1
),

ytd_quarters as (
    select s.*
    from scorecard as s
    inner join current_year as cy
        on s.period_type = 'quarter'
        and s.period_start between cy.year_start and cy.as_of_date
),

ytd_rows as (
    select
        q.kpi,
        count(*) as quarters_included,
        sum(q.numerator) as numerator,
        case when any_value(q.unit) = 'count' then 1 else sum(q.denominator) end as denominator,
        case
            when any_value(q.unit) = 'count' then sum(q.value)
            when any_value(q.unit) = 'percent' then 100.0 * sum(q.numerator) / nullif(sum(q.denominator), 0)
            else sum(q.numerator) / nullif(sum(q.denominator), 0)
        end as value,
        case when any_value(q.unit) = 'count' then sum(q.target_value) else avg(q.target_value) end as quarter_target
    from ytd_quarters as q
    group by q.kpi
),

current_quarter as (
    select s.kpi, s.period_start, s.value, s.target_value, s.status
    from scorecard as s
    cross join run
    where s.period_type = 'quarter'
        and run.as_of_date between s.period_start and s.period_end
),

ytd_scored as (
    select
        y.kpi,
        y.quarters_included,
        y.numerator,
        y.denominator,
        y.value,
        coalesce(yt.target_value, y.quarter_target) as target_value,
        k.direction
    from ytd_rows as y
    inner join kpis as k on k.kpi = y.kpi
    cross join current_year as cy
    left join year_targets as yt
        on yt.kpi = y.kpi
        and yt.period_start = cy.year_start
),

ytd_attainment as (
    select
        *,
        case
            when direction = 'lower_is_better' then target_value / nullif(value, 0)
            else value / nullif(target_value, 0)
        end as attainment
    from ytd_scored
),

ytd_final as (
    select
        a.*,
        case
            when a.target_value is null or a.value is null then 'no_target'
            when a.attainment is null then
                case
                    when a.direction = 'lower_is_better' and a.value <= a.target_value then 'on_track'
                    when a.direction = 'higher_is_better' and a.value >= a.target_value then 'on_track'
                    else 'off_track'
                end
            when a.attainment >= run.on_track_attainment then 'on_track'
            when a.attainment >= run.at_risk_attainment then 'at_risk'
            else 'off_track'
        end as status
    from ytd_attainment as a
    cross join run
),

combined as (
    select
        k.kpi,
        k.unit,
        k.direction,
        k.basis,
        case k.basis
            when 'fiscal_ytd' then cy.period_label || ' YTD'
            when 'as_of' then 'as of ' || strftime(cy.as_of_date, '%Y-%m-%d')
            else cy.period_label
        end as period_label,
        case when k.basis = 'as_of' then cy.as_of_date else cy.year_start end as period_start,
        case when k.basis = 'as_of' then cy.as_of_date else cy.effective_end end as period_end,
        case when k.basis = 'as_of' then false else cy.is_partial end as is_partial,
        yf.quarters_included,
        coalesce(yr.numerator, ao.numerator, yf.numerator) as numerator,
        coalesce(yr.denominator, ao.denominator, yf.denominator) as denominator,
        coalesce(yr.value, ao.value, yf.value) as value,
        coalesce(yr.target_value, ao.target_value, yf.target_value) as target_value,
        coalesce(yr.attainment, ao.attainment, yf.attainment) as attainment,
        coalesce(yr.status, ao.status, yf.status, 'no_target') as status,
        cq.period_start as current_quarter_start,
        cq.value as current_quarter_value,
        cq.target_value as current_quarter_target,
        cq.status as current_quarter_status
    from kpis as k
    cross join current_year as cy
    left join year_rows as yr on k.basis = 'fiscal_year' and yr.kpi = k.kpi
    left join as_of_rows as ao on k.basis = 'as_of' and ao.kpi = k.kpi
    left join ytd_final as yf on k.basis = 'fiscal_ytd' and yf.kpi = k.kpi
    left join current_quarter as cq on k.basis = 'fiscal_ytd' and cq.kpi = k.kpi
),

final as (
    select
        kpi,
        unit,
        direction,
        basis,
        period_label,
        period_start,
        period_end,
        is_partial,
        cast(quarters_included as integer) as quarters_included,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value,
        cast(target_value as double) as target_value,
        cast(attainment as double) as attainment,
        status,
        current_quarter_start,
        cast(current_quarter_value as double) as current_quarter_value,
        cast(current_quarter_target as double) as current_quarter_target,
        current_quarter_status
    from combined
    order by kpi
)

select * from final
