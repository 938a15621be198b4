/*
description: >
  Leaderboard of reps for the fiscal year holding the as-of date (from its first day through the as-of date):
  one row per rep (core.dim_rep is_rep) with quota attainment, leads in pipeline, leads generated, won deals
  and amount, average sales cycle and activities, each with its rank. Quota, won deals and won amount come from
  marts.mart_sotu_top_reps (same definitions: attainment = won amount / quotas of the periods started so far).
  Leads in pipeline: leads owned by the rep whose pipeline interval [pipeline_start, pipeline_end] (see
  core.fct_lead) touches the fiscal year to date, as in the conversion-rate KPI; leads generated: leads created
  in it; average sales cycle: CreatedDate-to-CloseDate days of the deals won in it (negative cycles of bad
  sample data left out); activities: completed tasks and events dated in it (core.fct_activity). Ranks use
  rank() (ties share a rank, the next rank is skipped), 1 = best: highest attainment, leads, deals, amount and
  activities, shortest sales cycle; a NULL metric has a NULL rank. overall_rank orders by quota attainment,
  then won amount (reps without quota after those with one).
columns:
  rep_id: The rep's user id.
  rep_name: The rep's name.
  team_id: The rep's team (manager or role id); NULL without a team.
  team_name: The team's name.
  region: The rep's sales region.
  fiscal_year_label: The fiscal year, e.g. FY2024.
  quota_ytd: Quotas of the periods started in the fiscal year up to the as-of date.
  quota_attainment: won_amount / quota_ytd; NULL without quota.
  leads_in_pipeline: Leads in the rep's pipeline at some point of the fiscal year to date.
  leads_generated: Leads created in the fiscal year to date.
  won_deals: Deals won in the fiscal year to date.
  won_amount: Their corporate amount.
  cycle_deal_count: Won deals that have a sales cycle (for team averages).
  avg_sales_cycle_days: Average sales cycle of the won deals; NULL without any.
  activities: Completed tasks and events in the fiscal year to date.
  overall_rank: rank() by quota attainment, then won amount.
  attainment_rank: rank() by quota_attainment (NULL without quota).
  leads_in_pipeline_rank: rank() by leads_in_pipeline.
  leads_generated_rank: rank() by leads_generated.
  won_deals_rank: rank() by won_deals.
  won_amount_rank: rank() by won_amount.
  sales_cycle_rank: rank() by avg_sales_cycle_days, shortest first (NULL without won deals).
  activities_rank: rank() by activities.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label
    from core.dim_period
),

top_reps as (
    select * from marts.mart_sotu_top_reps
),

leads as (
    select owner_id, created_date, pipeline_start, pipeline_end
    from core.fct_lead
),

opportunities as (
    select owner_id, is_won, close_date, cycle_days
    from core.fct_opportunity
),

activities as (
    select
        owner_id,
        is_completed,
        coalesce(activity_date, cast(contact_at as date), cast(created_at as date)) as activity_day
    from core.fct_activity
),

current_year as (
    select periods.period_start as year_start, run.as_of_date
    from periods
    cross join run
    where periods.period_type = 'year'
        and run.as_of_date between periods.period_start and periods.period_end
),

rep_leads as (
    select
        l.owner_id,
        count(*) filter (
            where coalesce(l.pipeline_start, l.created_date) <= cy.as_of_date
                and coalesce(l.pipeline_end, cy.as_of_date) >= cy.year_start
        ) as leads_in_pipeline,
        count(*) filter (where l.created_date between cy.year_start and cy.as_of_date) as leads_generated
    from leads as l
    cross join current_year as cy
    group by l.owner_id
),

rep_cycles as (
    select
        o.owner_id,
        count(o.cycle_days) as cycle_deal_count,
        avg(o.cycle_days) as avg_sales_cycle_days
    from opportunities as o
    inner join current_year as cy
        on o.close_date between cy.year_start and cy.as_of_date
    where o.is_won and o.cycle_days >= 0
    group by o.owner_id
),

rep_activities as (
    select a.owner_id, count(*) as activities
    from activities as a
    inner join current_year as cy
        on a.activity_day between cy.year_start and cy.as_of_date
    where a.is_completed
    group by a.owner_id
),

joined as (
    select
        t.rep_id,
        t.rep_name,
        t.team_id,
        t.team_name,
        t.region,
        t.fiscal_year_label,
        t.quota_ytd,
        t.quota_attainment,
        cast(coalesce(l.leads_in_pipeline, 0) as bigint) as leads_in_pipeline,
        cast(coalesce(l.leads_generated, 0) as bigint) as leads_generated,
        t.won_count_ytd as won_deals,
        t.won_amount_ytd as won_amount,
        cast(coalesce(c.cycle_deal_count, 0) as bigint) as cycle_deal_count,
        cast(c.avg_sales_cycle_days as double) as avg_sales_cycle_days,
        cast(coalesce(a.activities, 0) as bigint) as activities
    from top_reps as t
    left join rep_leads as l on l.owner_id = t.rep_id
    left join rep_cycles as c on c.owner_id = t.rep_id
    left join rep_activities as a on a.owner_id = t.rep_id
),

final as (
    select
        *,
        cast(rank() over (order by quota_attainment desc nulls last, won_amount desc) as integer) as overall_rank,
        case when quota_attainment is not null
            then cast(rank() over (order by quota_attainment desc nulls last) as integer) end as attainment_rank,
        cast(rank() over (order by leads_in_pipeline desc) as integer) as leads_in_pipeline_rank,
        cast(rank() over (order by leads_generated desc) as integer) as leads_generated_rank,
        cast(rank() over (order by won_deals desc) as integer) as won_deals_rank,
        cast(rank() over (order by won_amount desc) as integer) as won_amount_rank,
        case when avg_sales_cycle_days is not null
            then cast(rank() over (order by avg_sales_cycle_days asc nulls last) as integer) end as sales_cycle_rank,
        cast(rank() over (order by activities desc) as integer) as activities_rank
    from joined
    order by overall_rank, rep_name, rep_id
)

select * from final
