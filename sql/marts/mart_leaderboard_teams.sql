/*
description: >
  Leaderboard of teams for the fiscal year holding the as-of date: the reps of marts.mart_leaderboard_reps
  added up per team (core.dim_rep team_id: the manager, falling back to the role). Formula: quota attainment =
  sum of the reps' won amount / sum of their quotas (only reps with a quota count on either side, so a rep
  without quota neither inflates nor dilutes it); average sales cycle = the won-deal-weighted average of the
  reps' averages (= the average over all the team's won deals); the other columns are sums. Ranks use rank()
  (ties share a rank), 1 = best, shortest sales cycle first; a NULL metric has a NULL rank. Reps without a team
  are grouped as '(no team)' with a NULL team_id. overall_rank orders by attainment, then won amount.
columns:
  team_id: The team (manager or role id); NULL for reps without a team.
  team_name: The team's name; '(no team)' for reps without one.
  fiscal_year_label: The fiscal year, e.g. FY2024.
  rep_count: Reps in the team.
  quota_ytd: Sum of the quotas of the team's reps with a quota.
  won_amount_with_quota: Won amount of the reps that have a quota (numerator of the attainment).
  quota_attainment: won_amount_with_quota / quota_ytd; NULL without quota.
  leads_in_pipeline: Sum of the reps' leads in pipeline.
  leads_generated: Sum of the reps' leads generated.
  won_deals: Sum of the reps' won deals.
  won_amount: Sum of the reps' won amount.
  avg_sales_cycle_days: Average sales cycle over the team's won deals; NULL without any.
  activities: Sum of the reps' completed activities.
  overall_rank: rank() by quota attainment, then won amount.
  attainment_rank: rank() by quota_attainment (NULL without quota).
  leads_in_pipeline_rank: rank() by leads_in_pipeline.
  leads_generated_rank: rank() by leads_generated.
  won_deals_rank: rank() by won_deals.
  won_amount_rank: rank() by won_amount.
  sales_cycle_rank: rank() by avg_sales_cycle_days, shortest first.
  activities_rank: rank() by activities.
*/
with reps as (
    select * from marts.mart_leaderboard_reps
),

teams as (
    select
        team_id,
        coalesce(max(team_name), team_id, '(no team)') as team_name,
        max(fiscal_year_label) as fiscal_year_label,
        count(*) as rep_count,
        sum(quota_ytd) as quota_ytd,
        sum(won_amount) filter (where quota_ytd is not null) as won_amount_with_quota,
        sum(leads_in_pipeline) as leads_in_pipeline,
        sum(leads_generated) as leads_generated,
        sum(won_deals) as won_deals,
        sum(won_amount) as won_amount,
        sum(avg_sales_cycle_days * cycle_deal_count) as cycle_days_total,
        sum(cycle_deal_count) as cycle_deal_count,
        sum(activities) as activities
    from reps
    group by team_id
),

measured as (
    select
        team_id,
        team_name,
        fiscal_year_label,
        cast(rep_count as bigint) as rep_count,
        cast(quota_ytd as double) as quota_ytd,
        cast(won_amount_with_quota as double) as won_amount_with_quota,
        won_amount_with_quota / nullif(quota_ytd, 0) as quota_attainment,
        cast(leads_in_pipeline as bigint) as leads_in_pipeline,
        cast(leads_generated as bigint) as leads_generated,
        cast(won_deals as bigint) as won_deals,
        cast(won_amount as double) as won_amount,
        cycle_days_total / nullif(cycle_deal_count, 0) as avg_sales_cycle_days,
        cast(activities as bigint) as activities
    from teams
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
    from measured
    order by overall_rank, team_name
)

select * from final
