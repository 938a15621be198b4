/*
description: >
  Pipeline per rep: one row per rep (core.dim_rep is_rep) and fiscal quarter that has anything to show (open
  pipeline, closed deals or leads in the pipeline). The open pipeline is a snapshot at the end of the quarter's
  last reported day (the as-of date for the running quarter): the deals open at that moment with their amount
  and probability as they stood then, rebuilt from core.fct_opportunity_history (the version in force at
  00:00 of the following day, not closed); an opportunity without history rows counts as open on day d when
  it was created on or before d and is still open now or closes after d, with its current amount and
  probability. Deals are credited to their current owner (history does not record owners). Formula:
  weighted pipeline = sum(amount_corporate * probability / 100); average sales cycle = average of
  (CloseDate - CreatedDate) over deals won in the quarter (negative cycles of bad sample data, closed before
  created, are left out); average won deal size = won amount / won deals; win rate = won / (won + lost) closed
  in the quarter x 100; conversion rate = the rep's kpi.conversion_rate value for the quarter (Closed Won
  deals / leads in the pipeline x 100, see that KPI). Every ratio is NULL when its denominator is 0.
columns:
  rep_id: The rep's user id.
  rep_name: The rep's name.
  team_name: The rep's team name.
  region: The rep's sales region (User.Division).
  period_start: First day of the fiscal quarter.
  period_end: Last day of the fiscal quarter (inclusive).
  period_label: "The quarter's label, e.g. 'FY2024-Q3'."
  is_partial: The quarter has not ended at the as-of date.
  open_pipeline_count: Deals open at the end of the quarter (or at the as-of date).
  open_pipeline_amount: Their corporate amount at that moment.
  weighted_pipeline_amount: Sum of amount * probability / 100 at that moment.
  won_count: Deals won with a close date in the quarter.
  won_amount: Their corporate amount.
  lost_count: Deals lost with a close date in the quarter.
  avg_won_deal_size: won_amount / won deals with an amount; NULL without any.
  avg_sales_cycle_days: Average CreatedDate-to-CloseDate days of the deals won in the quarter; NULL without any.
  win_rate_pct: 100 * won / (won + lost); NULL when nothing closed.
  leads_in_pipeline: Leads in the rep's pipeline during the quarter (kpi.conversion_rate denominator).
  conversion_rate_pct: kpi.conversion_rate value (won deals / leads in pipeline x 100); NULL without leads.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label, is_partial, effective_end
    from core.dim_period
),

reps as (
    select user_id, rep_name, team_id, team_name, region
    from core.dim_rep
    where is_rep and user_id is not null
),

opportunities as (
    select
        opportunity_id, owner_id, is_closed, is_won, is_lost, created_date, close_date,
        amount_corporate, probability, cycle_days
    from core.fct_opportunity
),

history as (
    select opportunity_id, valid_from, valid_to, amount_corporate, probability, is_closed
    from core.fct_opportunity_history
),

conversion as (
    select scope_id, period_start, denominator, value
    from kpi.conversion_rate
    where scope = 'rep' and period_type = 'quarter'
),

quarters as (
    select
        period_start,
        period_end,
        period_label,
        is_partial,
        effective_end,
        cast(effective_end + interval 1 day as timestamp) as snapshot_at
    from periods
    where period_type = 'quarter'
),

opportunities_with_history as (
    select distinct opportunity_id from history
),

open_from_history as (
    select q.period_start, o.owner_id, h.amount_corporate, h.probability
    from quarters as q
    inner join history as h
        on h.valid_from < q.snapshot_at
        and (h.valid_to is null or h.valid_to >= q.snapshot_at)
    inner join opportunities as o on o.opportunity_id = h.opportunity_id
    where not coalesce(h.is_closed, false)
),

open_without_history as (
    select q.period_start, o.owner_id, o.amount_corporate, o.probability
    from quarters as q
    inner join opportunities as o
        on o.created_date <= q.effective_end
        and (not coalesce(o.is_closed, false) or o.close_date > q.effective_end)
    anti join opportunities_with_history as wh on wh.opportunity_id = o.opportunity_id
),

open_deals as (
    select period_start, owner_id, amount_corporate, probability from open_from_history
    union all
    select period_start, owner_id, amount_corporate, probability from open_without_history
),

open_pipeline as (
    select
        period_start,
        owner_id,
        count(*) as open_pipeline_count,
        sum(amount_corporate) as open_pipeline_amount,
        sum(amount_corporate * probability / 100.0) as weighted_pipeline_amount
    from open_deals
    group by period_start, owner_id
),

closed as (
    select
        q.period_start,
        o.owner_id,
        count(*) filter (where o.is_won) as won_count,
        sum(o.amount_corporate) filter (where o.is_won) as won_amount,
        count(o.amount_corporate) filter (where o.is_won) as won_with_amount,
        count(*) filter (where coalesce(o.is_lost, o.is_closed and not o.is_won)) as lost_count,
        avg(o.cycle_days) filter (where o.is_won and o.cycle_days >= 0) as avg_sales_cycle_days
    from quarters as q
    inner join opportunities as o
        on o.is_closed
        and o.close_date between q.period_start and q.effective_end
    group by q.period_start, o.owner_id
),

joined as (
    select
        r.user_id as rep_id,
        coalesce(r.rep_name, r.user_id) as rep_name,
        coalesce(r.team_name, r.team_id) as team_name,
        r.region,
        q.period_start,
        q.period_end,
        q.period_label,
        q.is_partial,
        cast(coalesce(op.open_pipeline_count, 0) as bigint) as open_pipeline_count,
        cast(coalesce(op.open_pipeline_amount, 0) as double) as open_pipeline_amount,
        cast(coalesce(op.weighted_pipeline_amount, 0) as double) as weighted_pipeline_amount,
        cast(coalesce(c.won_count, 0) as bigint) as won_count,
        cast(coalesce(c.won_amount, 0) as double) as won_amount,
        cast(coalesce(c.won_with_amount, 0) as bigint) as won_with_amount,
        cast(coalesce(c.lost_count, 0) as bigint) as lost_count,
        cast(c.avg_sales_cycle_days as double) as avg_sales_cycle_days,
        cast(coalesce(cv.denominator, 0) as bigint) as leads_in_pipeline,
        cast(cv.value as double) as conversion_rate_pct
    from reps as r
    cross join quarters as q
    left join open_pipeline as op
        on op.owner_id = r.user_id
        and op.period_start = q.period_start
    left join closed as c
        on c.owner_id = r.user_id
        and c.period_start = q.period_start
    left join conversion as cv
        on cv.scope_id = r.user_id
        and cv.period_start = q.period_start
),

final as (
    select
        rep_id,
        rep_name,
        team_name,
        region,
        period_start,
        period_end,
        period_label,
        is_partial,
        open_pipeline_count,
        open_pipeline_amount,
        weighted_pipeline_amount,
        won_count,
        won_amount,
        lost_count,
        won_amount / nullif(won_with_amount, 0) as avg_won_deal_size,
        avg_sales_cycle_days,
        100.0 * won_count / nullif(won_count + lost_count, 0) as win_rate_pct,
        leads_in_pipeline,
        conversion_rate_pct
    from joined
    where open_pipeline_count > 0
        or won_count + lost_count > 0
        or leads_in_pipeline > 0
    order by period_start, rep_name, rep_id
)

select * from final
