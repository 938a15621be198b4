/*
description: >
  Conversion rate: Closed Won deals per lead worked, per fiscal quarter, for
  the company, each team and each rep. It tells how well the pipeline of leads
  turns into business. Formula (spec KPI 5): value = Closed Won opportunities
  with CloseDate in the quarter / leads in the pipeline during the quarter x
  100. A lead is in the pipeline over [CreatedDate, end], end = ConvertedDate
  if converted, LastModifiedDate if in a closed status, else the as-of date
  (core.fct_lead.pipeline_start / pipeline_end), and counts in every quarter
  that interval touches. In orgs where deals are created without leads the
  value exceeds 100 %; it is reported as defined, next to lead_conversion_pct
  (leads converted in the quarter / leads in the pipeline x 100) and
  win_rate_pct (won / (won + lost) closed in the quarter x 100), so a manager
  sees all three side by side. Choices where the spec is silent: won and lost
  deals are credited to the opportunity owner, leads to the lead owner, both
  as they are today, and the team is that owner's current team; records owned
  by a user who is not a rep count for the company only; a partial (current)
  quarter counts deals closed and leads touched up to the as-of date; a lead
  with no end date is taken as open up to the as-of date; every ratio is NULL
  when its denominator is 0 (a rep with won deals but no lead has a NULL
  value). An export without a Lead file has no lead in the pipeline, so value
  and lead_conversion_pct are NULL everywhere while win_rate_pct is still
  reported (the pipeline reports the missing file).
columns:
  kpi: Always conversion_rate.
  period_type: Always quarter (fiscal quarter).
  period_start: First day of the fiscal quarter.
  period_end: Last day of the fiscal quarter (inclusive; the real end, even for the current, partial quarter).
  is_partial: True when the quarter has not ended at the as-of date; it is then counted up to the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Closed Won opportunities with CloseDate in the quarter.
  denominator: Leads in the pipeline at some time during the quarter.
  value: numerator / denominator x 100, in percent (may exceed 100); NULL when no lead was in the pipeline.
  unit: Always percent.
  lead_conversion_pct: Leads converted in the quarter (ConvertedDate in it) / leads in the pipeline x 100; NULL when no lead was in the pipeline.
  win_rate_pct: Won / (won + lost) opportunities closed in the quarter x 100; NULL when none closed.
  leads_converted: Leads with ConvertedDate in the quarter.
  lost_deals: Closed lost opportunities (closed, not won) with CloseDate in the quarter.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'quarter'
),

leads as (
    select
        l.lead_id,
        l.owner_id,
        coalesce(l.pipeline_start, l.created_date) as pipeline_start,
        coalesce(l.pipeline_end, run.as_of_date) as pipeline_end,
        l.is_converted,
        l.converted_date
    from core.fct_lead as l
    cross join run
    where coalesce(l.pipeline_start, l.created_date) is not null
),

closed_opportunities as (
    select opportunity_id, owner_id, close_date, is_won, coalesce(is_lost, is_closed and not is_won) as is_lost
    from core.fct_opportunity
    where is_closed and close_date is not null
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

events as (
    -- one row per lead-in-pipeline, lead converted, deal won or deal lost, per quarter
    select
        p.period_start,
        l.owner_id,
        1 as in_pipeline,
        case when l.is_converted and l.converted_date between p.period_start and p.effective_end then 1 else 0 end as converted,
        0 as won,
        0 as lost
    from leads as l
    inner join periods as p
        on l.pipeline_start <= p.effective_end
        and l.pipeline_end >= p.period_start
    union all
    select
        p.period_start,
        o.owner_id,
        0,
        0,
        case when o.is_won then 1 else 0 end,
        case when o.is_lost then 1 else 0 end
    from closed_opportunities as o
    inner join periods as p
        on o.close_date between p.period_start and p.effective_end
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, e.*
    from events as e
    union all
    select os.scope, os.scope_id, e.*
    from events as e
    inner join owner_scopes as os on e.owner_id = os.owner_id
),

aggregated as (
    select
        period_start,
        scope,
        scope_id,
        sum(in_pipeline) as leads_in_pipeline,
        sum(converted) as leads_converted,
        sum(won) as won_deals,
        sum(lost) as lost_deals
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
        cast(coalesce(a.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(a.lost_deals, 0) as bigint) as lost_deals,
        cast(coalesce(a.leads_in_pipeline, 0) as bigint) as leads_in_pipeline,
        cast(coalesce(a.leads_converted, 0) as bigint) as leads_converted
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
),

final as (
    select
        'conversion_rate' as kpi,
        period_type,
        period_start,
        period_end,
        is_partial,
        scope,
        scope_id,
        scope_name,
        won_deals as numerator,
        leads_in_pipeline as denominator,
        100.0 * won_deals / nullif(leads_in_pipeline, 0) as value,
        'percent' as unit,
        100.0 * leads_converted / nullif(leads_in_pipeline, 0) as lead_conversion_pct,
        100.0 * won_deals / nullif(won_deals + lost_deals, 0) as win_rate_pct,
        leads_converted,
        lost_deals
    from filled
    order by period_start, scope_order, scope_name, scope_id
)

select * from final
