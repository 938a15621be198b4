/*
description: >
  Lead age: how many days, on average, the leads still open at the as-of date
  have been waiting, for the company, each team and each rep. A rising lead
  age means leads are piling up unworked, and old leads rarely convert.
  Formula (spec KPI 4): average of (as-of date - CreatedDate) in days over the
  leads active at the as-of date, that is not converted and not in a closed
  status (closed statuses are configurable; default those containing Closed,
  Unqualified, Disqualified or Converted, see core.fct_lead.is_active);
  numerator = sum of the ages in days, denominator = number of active leads.
  One snapshot per run: period_type as_of with period_start = period_end = the
  as-of date and is_partial false. Choices where the spec is silent: ages are
  whole days (a lead created on the as-of date has age 0); the rep is the
  lead's current owner and the team that rep's current team; leads owned by a
  queue or a user who is not a rep count for the company only; a rep or team
  with no active lead has numerator 0, denominator 0 and value NULL. Extra
  column max_age_days shows the oldest active lead. An export without a Lead
  file gives NULL everywhere (the pipeline reports the missing file).
columns:
  kpi: Always lead_age.
  period_type: Always as_of (a snapshot at the as-of date).
  period_start: The as-of date.
  period_end: The as-of date.
  is_partial: Always false (a snapshot is complete by definition).
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Sum over the active leads of their age in days at the as-of date.
  denominator: Number of leads active at the as-of date.
  value: Average age in days of the active leads (numerator / denominator); NULL when there is none.
  unit: Always days.
  max_age_days: Age in days of the oldest active lead; NULL when there is none.
*/
with run as (
    select as_of_date from core.dim_run
),

active_leads as (
    select l.lead_id, l.owner_id, date_diff('day', l.created_date, run.as_of_date) as age_days
    from core.fct_lead as l
    cross join run
    where l.is_active
      and l.created_date is not null
      and l.created_date <= run.as_of_date
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, al.*
    from active_leads as al
    union all
    select os.scope, os.scope_id, al.*
    from active_leads as al
    inner join owner_scopes as os on al.owner_id = os.owner_id
),

aggregated as (
    select scope, scope_id, cast(sum(age_days) as bigint) as age_sum, count(*) as leads, max(age_days) as max_age
    from attributed
    group by scope, scope_id
),

final as (
    select
        'lead_age' as kpi,
        'as_of' as period_type,
        run.as_of_date as period_start,
        run.as_of_date as period_end,
        false as is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        coalesce(a.age_sum, 0) as numerator,
        coalesce(a.leads, 0) as denominator,
        a.age_sum / nullif(a.leads, 0) as value,
        'days' as unit,
        a.max_age as max_age_days
    from scopes as s
    cross join run
    left join aggregated as a
        on a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
    order by s.scope_order, s.scope_name, s.scope_id
)

select * from final
