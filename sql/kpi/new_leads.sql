/*
description: >
  New leads: how many leads were created in each fiscal quarter, for the
  company, each team and each rep. It measures how much fresh demand enters the
  funnel and who holds it, the first thing to check when pipeline dries up.
  Formula (spec KPI 3): count of leads whose CreatedDate falls in the quarter,
  credited to the lead's current owner (numerator = that count, denominator =
  1, value = the count). Choices where the spec is silent: converted and closed
  leads count too (the KPI is about creation, not about what became of the
  lead); deleted leads are already gone in core; a partial (current) quarter
  counts leads created up to the as-of date; the team is the owner's current
  team; leads owned by a queue or a user who is not a rep count for the company
  only; reps with no team appear in no team row; every rep gets a row for every
  quarter, 0 when they got no lead. An export without a Lead file gives 0
  everywhere (the pipeline reports the missing file).
columns:
  kpi: Always new_leads.
  period_type: Always quarter (fiscal quarter).
  period_start: First day of the fiscal quarter.
  period_end: Last day of the fiscal quarter (inclusive; the real end, even for the current, partial quarter).
  is_partial: True when the quarter has not ended at the as-of date; it is then counted up to the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Number of leads created in the quarter.
  denominator: Always 1 (a plain count).
  value: Number of leads created in the quarter (numerator / denominator).
  unit: Always count.
*/
with periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'quarter'
),

leads as (
    select lead_id, owner_id, created_date
    from core.fct_lead
    where created_date is not null
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

lead_periods as (
    select p.period_start, l.lead_id, l.owner_id
    from leads as l
    inner join periods as p
        on l.created_date between p.period_start and p.effective_end
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, lp.*
    from lead_periods as lp
    union all
    select os.scope, os.scope_id, lp.*
    from lead_periods as lp
    inner join owner_scopes as os on lp.owner_id = os.owner_id
),

aggregated as (
    select period_start, scope, scope_id, count(*) as leads
    from attributed
    group by period_start, scope, scope_id
),

final as (
    select
        'new_leads' as kpi,
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        coalesce(a.leads, 0) as numerator,
        cast(1 as bigint) as denominator,
        cast(coalesce(a.leads, 0) as double) as value,
        'count' as unit
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
    order by p.period_start, s.scope_order, s.scope_name, s.scope_id
)

select * from final
