/*
description: >
  Stage analysis: one row per stage of core.dim_stage in sales-process order (stage_order), from the stage
  visits of core.fct_opportunity_stage_change (all history to the as-of date). Per stage: deals that entered it
  (at least one visit), moved forward from it (a visit that ended in a later stage or in a won stage), moved
  back, were lost from it (a visit that ended in a lost stage), and are still in it (their current visit).
  Formula: days in stage are summed per deal over its visits of the stage (the visit still running counts up
  to the end of the as-of day), then averaged and medianed over the deals; stage_to_won_pct = deals that
  entered the stage and are won now (core.fct_opportunity is_won) / deals that entered x 100; drop_off_pct =
  lost from the stage / entered x 100. The bottleneck is the open (not closed) stage with the highest average
  days in stage (ties: the higher median, then the earlier stage); exactly one stage is flagged when any open
  stage was entered. Choices where the spec is silent: running visits count in the time in stage, so deals
  stuck in a stage make it slow; closed stages (won, lost) have no time in stage and are never the bottleneck;
  a deal counts once per stage however often it came back.
columns:
  stage_order: Position in the sales process (core.dim_stage).
  stage_name: The stage.
  is_closed: The stage is closed.
  is_won: The stage is won.
  forecast_category: The stage's forecast category.
  deals_entered: Deals that entered the stage at least once.
  deals_moved_forward: Deals that left the stage for a later or won stage.
  deals_moved_back: Deals that left the stage for an earlier (open) stage.
  deals_lost: Deals that left the stage for a lost stage.
  deals_still_in_stage: Deals whose current stage it is.
  avg_days_in_stage: Average days per deal spent in the stage (NULL for closed stages and stages never entered).
  median_days_in_stage: Median of the same.
  stage_to_won_pct: 100 * deals that entered the stage and are won / deals that entered; NULL when none entered.
  drop_off_pct: 100 * deals lost from the stage / deals that entered; NULL when none entered.
  is_bottleneck: The slowest open stage (see description).
*/
with stages as (
    select stage_name, stage_order, is_closed, is_won, forecast_category
    from core.dim_stage
),

visits as (
    select opportunity_id, stage_name, days_in_stage, is_current, outcome
    from core.fct_opportunity_stage_change
),

opportunities as (
    select opportunity_id, is_won from core.fct_opportunity
),

deal_stage as (
    -- one row per deal and stage it visited
    select
        v.opportunity_id,
        v.stage_name,
        sum(v.days_in_stage) as days_in_stage,
        bool_or(v.outcome in ('advanced', 'won') and not v.is_current) as moved_forward,
        bool_or(v.outcome = 'moved_back') as moved_back,
        bool_or(v.outcome = 'lost' and not v.is_current) as lost_from,
        bool_or(v.is_current) as still_in
    from visits as v
    group by v.opportunity_id, v.stage_name
),

stage_stats as (
    select
        ds.stage_name,
        count(*) as deals_entered,
        count(*) filter (where ds.moved_forward) as deals_moved_forward,
        count(*) filter (where ds.moved_back) as deals_moved_back,
        count(*) filter (where ds.lost_from) as deals_lost,
        count(*) filter (where ds.still_in) as deals_still_in_stage,
        count(*) filter (where o.is_won) as deals_won,
        avg(ds.days_in_stage) as avg_days_in_stage,
        median(ds.days_in_stage) as median_days_in_stage
    from deal_stage as ds
    left join opportunities as o on o.opportunity_id = ds.opportunity_id
    group by ds.stage_name
),

joined as (
    select
        s.stage_order,
        s.stage_name,
        coalesce(s.is_closed, false) as is_closed,
        coalesce(s.is_won, false) as is_won,
        s.forecast_category,
        cast(coalesce(st.deals_entered, 0) as bigint) as deals_entered,
        cast(coalesce(st.deals_moved_forward, 0) as bigint) as deals_moved_forward,
        cast(coalesce(st.deals_moved_back, 0) as bigint) as deals_moved_back,
        cast(coalesce(st.deals_lost, 0) as bigint) as deals_lost,
        cast(coalesce(st.deals_still_in_stage, 0) as bigint) as deals_still_in_stage,
        cast(coalesce(st.deals_won, 0) as bigint) as deals_won,
        case when not coalesce(s.is_closed, false) then cast(st.avg_days_in_stage as double) end as avg_days_in_stage,
        case when not coalesce(s.is_closed, false) then cast(st.median_days_in_stage as double) end as median_days_in_stage
    from stages as s
    left join stage_stats as st on st.stage_name = s.stage_name
),

ranked as (
    select
        *,
        row_number() over (
            order by
                case when not is_closed and avg_days_in_stage is not null then 0 else 1 end,
                avg_days_in_stage desc nulls last,
                median_days_in_stage desc nulls last,
                stage_order
        ) as slowness_rank
    from joined
),

final as (
    select
        stage_order,
        stage_name,
        is_closed,
        is_won,
        forecast_category,
        deals_entered,
        deals_moved_forward,
        deals_moved_back,
        deals_lost,
        deals_still_in_stage,
        avg_days_in_stage,
        median_days_in_stage,
        100.0 * deals_won / nullif(deals_entered, 0) as stage_to_won_pct,
        100.0 * deals_lost / nullif(deals_entered, 0) as drop_off_pct,
        slowness_rank = 1 and not is_closed and avg_days_in_stage is not null as is_bottleneck
    from ranked
    order by stage_order, stage_name
)

select * from final
