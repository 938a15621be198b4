/*
description: >
  Employee retention: the share of the reps employed at the start of a fiscal
  year who are still employed at its end, for the company and each team.
  Losing reps costs quota capacity and months of ramp-up, so sales leaders
  watch it next to the revenue numbers. Formula (spec KPI 6): (reps employed at
  year end - reps employed at year end who were hired during the year) / reps
  employed at year start x 100. A rep is employed on day d when hire_date <= d
  and (no termination_date or termination_date > d); hire and termination dates
  come from the HR export or the User custom fields (core.dim_rep), never from
  User.CreatedDate. When the input has no hire dates at all
  (core.dim_run.has_hire_dates false) this table has no rows, and the
  pipeline's checks say why. Choices where the spec is silent: year start is
  the first day of the fiscal year and year end its last day, or the as-of
  date for the current, partial year; "hired during the year" means hired
  after year start (a rep hired on the first day is employed at year start and
  counts as retained if still there), so a rep hired and gone within one year
  changes nothing; reps without a hire date are left out (not guessed); the
  team is the rep's current team (teams are not historized); reps with no team
  count for the company only; a scope with nobody employed at year start has
  value NULL.
columns:
  kpi: Always employee_retention.
  period_type: Always year (fiscal year).
  period_start: First day of the fiscal year.
  period_end: Last day of the fiscal year (inclusive; the real end, even for the current, partial year).
  is_partial: True when the year has not ended at the as-of date; year end is then the as-of date.
  scope: company or team.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team.
  scope_name: The display name, Company for the company, or the team's name.
  numerator: Reps employed at year end minus those of them hired during the year.
  denominator: Reps employed at year start.
  value: numerator / denominator x 100, in percent; NULL when nobody was employed at year start.
  unit: Always percent.
  reps_at_start: Reps employed on the first day of the year.
  reps_at_end: Reps employed on the last day of the year (the as-of date for a partial year).
  reps_hired: Reps employed at year end who were hired during the year.
  reps_left: Reps employed at year start who were no longer employed at year end.
*/
with run as (
    select has_hire_dates from core.dim_run
),

periods as (
    select p.period_type, p.period_start, p.period_end, p.is_partial, p.effective_end
    from core.dim_period as p
    cross join run
    where p.period_type = 'year'
      and run.has_hire_dates
),

reps as (
    select
        user_id,
        team_id,
        coalesce(team_name, team_id) as team_name,
        hire_date,
        termination_date
    from core.dim_rep
    where is_rep
),

employees as (
    select * from reps where hire_date is not null
),

scopes as (
    select * from core.dim_kpi_scope
    where scope in ('company', 'team')
),

employment as (
    select
        p.period_start,
        e.team_id,
        e.hire_date <= p.period_start
            and (e.termination_date is null or e.termination_date > p.period_start) as at_start,
        e.hire_date <= p.effective_end
            and (e.termination_date is null or e.termination_date > p.effective_end) as at_end,
        e.hire_date > p.period_start as hired_in_year
    from employees as e
    cross join periods as p
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, em.*
    from employment as em
    union all
    select 'team', em.team_id, em.*
    from employment as em
    where em.team_id is not null
),

aggregated as (
    select
        period_start,
        scope,
        scope_id,
        count(*) filter (where at_start) as reps_at_start,
        count(*) filter (where at_end) as reps_at_end,
        count(*) filter (where at_end and hired_in_year) as reps_hired,
        count(*) filter (where at_start and not at_end) as reps_left
    from attributed
    group by period_start, scope, scope_id
),

filled as (
    select
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        s.scope_order,
        coalesce(a.reps_at_start, 0) as reps_at_start,
        coalesce(a.reps_at_end, 0) as reps_at_end,
        coalesce(a.reps_hired, 0) as reps_hired,
        coalesce(a.reps_left, 0) as reps_left
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
),

final as (
    select
        'employee_retention' as kpi,
        period_type,
        period_start,
        period_end,
        is_partial,
        scope,
        scope_id,
        scope_name,
        reps_at_end - reps_hired as numerator,
        reps_at_start as denominator,
        100.0 * (reps_at_end - reps_hired) / nullif(reps_at_start, 0) as value,
        'percent' as unit,
        reps_at_start,
        reps_at_end,
        reps_hired,
        reps_left
    from filled
    order by period_start, scope_order, scope_name, scope_id
)

select * from final
