/*
description: >
  KPI scorecard: every value of the nine KPI tables (kpi.*), one row per KPI,
  period and scope, next to its target from the targets file
  (core.fct_kpi_target), with attainment and a traffic-light status. It is the
  one table a sales leader reads to see which numbers are on track. A target
  matches on kpi, period_type, period_start, scope and scope_id (NULL for the
  company). attainment = value / target for the higher-is-better KPIs, and
  target / value for the lower-is-better ones (lead_age and ramp_time), so
  1.0 always means "exactly on target" and more is better. status = on_track
  when attainment >= core.dim_run.on_track_attainment (default 1.0), at_risk
  when >= at_risk_attainment (default 0.9), off_track otherwise, and no_target
  when there is no target or the value is NULL. Choices where the spec is
  silent: lead_age is a snapshot at the as-of date (period_type as_of), so it
  takes the target of the fiscal quarter holding the as-of date, else that of
  the fiscal year holding it (target_period_type / target_period_start say
  which); when attainment cannot be computed because the divisor is 0 (a
  target of 0 for a higher-is-better KPI, or a value of 0 for a lower-is-better
  one), attainment is NULL and status compares value and target directly
  (meeting or beating the target is on_track, else off_track); if the targets
  file names the same KPI, period and scope twice, the lowest target is used
  (the data-quality checks report duplicates).
columns:
  kpi: The KPI's name (its table in schema kpi).
  period_type: quarter, year or as_of.
  period_start: First day of the period (the as-of date for as_of).
  period_end: Last day of the period, inclusive (the as-of date for as_of).
  is_partial: True when the period has not ended at the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: The KPI's numerator (see its table).
  denominator: The KPI's denominator (see its table).
  value: The KPI's value, in unit.
  unit: currency, percent, days or count.
  target_period_type: Period type of the matched target (quarter or year); NULL without a target.
  target_period_start: First day of the matched target's period; NULL without a target.
  target_value: The target, in the KPI's unit; NULL when the targets file has none for this row.
  attainment: value / target_value (higher is better) or target_value / value (lower is better); 1.0 = on target; NULL without a target, without a value or with a zero divisor.
  direction: higher_is_better, or lower_is_better for lead_age and ramp_time.
  status: on_track, at_risk, off_track, or no_target (no target or no value).
*/
with run as (
    select as_of_date, on_track_attainment, at_risk_attainment from core.dim_run
),

kpi_values as (
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           cast(numerator as double) as numerator, cast(denominator as double) as denominator,
           cast(value as double) as value, unit
    from kpi.annual_contract_value
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.customer_lifetime_value
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.new_leads
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.lead_age
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.conversion_rate
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.employee_retention
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.ramp_time
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.referrals
    union all
    select kpi, period_type, period_start, period_end, is_partial, scope, scope_id, scope_name,
           numerator, denominator, value, unit
    from kpi.customer_retention
),

targets as (
    select kpi, period_type, period_start, period_end, scope, scope_id, min(target_value) as target_value
    from core.fct_kpi_target
    where target_value is not null
    group by kpi, period_type, period_start, period_end, scope, scope_id
),

period_targets as (
    select
        v.kpi, v.period_type, v.period_start, v.scope, v.scope_id,
        t.period_type as target_period_type,
        t.period_start as target_period_start,
        t.target_value
    from kpi_values as v
    inner join targets as t
        on t.kpi = v.kpi
        and t.period_type = v.period_type
        and t.period_start = v.period_start
        and t.scope = v.scope
        and t.scope_id is not distinct from v.scope_id
    where v.period_type <> 'as_of'
),

snapshot_targets as (
    -- as_of rows (lead_age): the target of the fiscal quarter holding the
    -- as-of date, else the fiscal year holding it
    select
        v.kpi, v.period_type, v.period_start, v.scope, v.scope_id,
        t.period_type as target_period_type,
        t.period_start as target_period_start,
        t.target_value
    from kpi_values as v
    inner join targets as t
        on t.kpi = v.kpi
        and v.period_start between t.period_start and t.period_end
        and t.scope = v.scope
        and t.scope_id is not distinct from v.scope_id
    where v.period_type = 'as_of'
    qualify row_number() over (
        partition by v.kpi, v.period_start, v.scope, v.scope_id
        order by case t.period_type when 'quarter' then 0 else 1 end
    ) = 1
),

matched_targets as (
    select * from period_targets
    union all
    select * from snapshot_targets
),

scored as (
    select
        v.*,
        mt.target_period_type,
        mt.target_period_start,
        mt.target_value,
        case when v.kpi in ('lead_age', 'ramp_time') then 'lower_is_better' else 'higher_is_better' end as direction
    from kpi_values as v
    left join matched_targets as mt
        on mt.kpi = v.kpi
        and mt.period_type = v.period_type
        and mt.period_start = v.period_start
        and mt.scope = v.scope
        and mt.scope_id is not distinct from v.scope_id
),

with_attainment as (
    select
        *,
        case
            when direction = 'lower_is_better' then target_value / nullif(value, 0)
            else value / nullif(target_value, 0)
        end as attainment
    from scored
),

final as (
    select
        a.kpi,
        a.period_type,
        a.period_start,
        a.period_end,
        a.is_partial,
        a.scope,
        a.scope_id,
        a.scope_name,
        a.numerator,
        a.denominator,
        a.value,
        a.unit,
        a.target_period_type,
        a.target_period_start,
        a.target_value,
        a.attainment,
        a.direction,
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
    from with_attainment as a
    cross join run
    order by a.kpi, a.period_type, a.period_start, a.scope, a.scope_name
)

select * from final
