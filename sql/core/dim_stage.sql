/*
description: >
  One row per stage name seen in Opportunity or OpportunityHistory (or defined in OpportunityStage).
  stage_order is a dense 1..N rank of the stages in sales-process order: stages are sorted by their explicit
  sort order (Opportunity.StageSortOrder when present, else OpportunityStage.SortOrder, matched on MasterLabel
  or ApiName), then - for stages without one - by their average first-seen position within each
  opportunity's history, then by name; the raw value is kept in source_sort_order. Deal state comes from
  IsClosed/IsWon, never from the name: is_closed/is_won are the majority flag of the opportunities currently
  in the stage, else OpportunityStage's flags, else (history-only stages) inferred from the history rows'
  ForecastCategory (Closed = won; Omitted with probability 0 = lost), else false. It holds no counts of the
  deals in each stage (core.fct_opportunity and the marts have them): they change with every deal, and
  every fact that reads the stages would be rebuilt each night for them (see pipeline/incremental.py).
columns:
  stage_name: "The stage value as exported (free text, often localized)."
  stage_order: "1..N position in the sales process (see description)."
  source_sort_order: "The explicit sort order found (StageSortOrder or SortOrder); NULL if none."
  sort_order_source: "'opportunity', 'opportunity_stage', 'history' or 'name'."
  is_closed: "Deals in this stage are closed."
  is_won: "Deals in this stage are won."
  is_lost: "is_closed and not is_won."
  forecast_category: "The stage's forecast category as a label (Pipeline, Best Case, Commit, Closed, Omitted): most common among its opportunities, else OpportunityStage, else history."
  default_probability: "OpportunityStage.DefaultProbability, else the median probability of its opportunities, else the average of its history rows."
  is_active: "OpportunityStage.IsActive; NULL when unknown."
*/
with opportunities as (
    select * from staging.stg_opportunity
),

history as (
    select * from staging.stg_opportunity_history
),

stage_definitions as (
    select * from staging.stg_opportunity_stage
),

from_opportunities as (
    select
        stage_name,
        min(stage_sort_order)                                           as sort_order,
        count(*)                                                        as opportunity_count,
        count_if(is_closed) * 2 > count(is_closed)                      as is_closed,
        count_if(is_won) * 2 > count(is_won)                            as is_won,
        count(is_closed)                                                as closed_flag_count,
        mode(forecast_category)                                         as forecast_category,
        median(probability)                                             as median_probability
    from opportunities
    where stage_name is not null
    group by stage_name
),

history_rows as (
    select opportunity_id, stage_name, created_date, forecast_category, probability
    from history
    where stage_name is not null
),

first_seen as (
    -- when each opportunity first reached each stage (a hash aggregate, no sort over all history)
    select opportunity_id, stage_name, min(created_date) as first_seen_at
    from history_rows
    group by opportunity_id, stage_name
),

first_seen_position as (
    -- rank of the stage among the stages of the same opportunity, by first appearance
    select
        stage_name,
        row_number() over (partition by opportunity_id order by first_seen_at nulls last, stage_name) as position
    from first_seen
),

from_history as (
    select
        stage_name,
        count(*)                                                        as history_row_count,
        mode(forecast_category)                                         as forecast_category,
        avg(probability)                                                as avg_probability,
        count_if(forecast_category = 'Closed') * 2 > count(*)           as looks_won,
        count_if(forecast_category = 'Omitted' and probability = 0) * 2 > count(*) as looks_lost
    from history_rows
    group by stage_name
),

history_position as (
    select stage_name, avg(position) as avg_position
    from first_seen_position
    group by stage_name
),

definitions as (
    select
        coalesce(master_label, api_name)                                as stage_name,
        master_label,
        api_name,
        sort_order,
        is_closed,
        is_won,
        coalesce(forecast_category, forecast_category_name)             as forecast_category,
        default_probability,
        is_active
    from stage_definitions
    where coalesce(master_label, api_name) is not null
),

stage_names as (
    select stage_name from from_opportunities
    union
    select stage_name from from_history
    union
    select stage_name from definitions
),

definition_by_label as (
    select * from definitions
    qualify row_number() over (partition by lower(trim(master_label)) order by sort_order nulls last) = 1
),

definition_by_api_name as (
    select * from definitions
    qualify row_number() over (partition by lower(trim(api_name)) order by sort_order nulls last) = 1
),

combined as (
    select
        stage_names.stage_name,
        from_opportunities.sort_order                                   as opportunity_sort_order,
        coalesce(definition_by_label.sort_order, definition_by_api_name.sort_order) as definition_sort_order,
        history_position.avg_position,
        from_opportunities.opportunity_count,
        from_opportunities.closed_flag_count,
        from_opportunities.is_closed                                    as opportunity_is_closed,
        from_opportunities.is_won                                       as opportunity_is_won,
        coalesce(definition_by_label.is_closed, definition_by_api_name.is_closed) as definition_is_closed,
        coalesce(definition_by_label.is_won, definition_by_api_name.is_won)       as definition_is_won,
        from_history.looks_won,
        from_history.looks_lost,
        from_history.history_row_count,
        coalesce(from_opportunities.forecast_category,
                 definition_by_label.forecast_category,
                 definition_by_api_name.forecast_category,
                 from_history.forecast_category)                        as forecast_category,
        coalesce(definition_by_label.default_probability,
                 definition_by_api_name.default_probability,
                 from_opportunities.median_probability,
                 from_history.avg_probability)                          as default_probability,
        coalesce(definition_by_label.is_active, definition_by_api_name.is_active) as is_active
    from stage_names
    left join from_opportunities on from_opportunities.stage_name = stage_names.stage_name
    left join from_history on from_history.stage_name = stage_names.stage_name
    left join history_position on history_position.stage_name = stage_names.stage_name
    left join definition_by_label on lower(trim(definition_by_label.master_label)) = lower(trim(stage_names.stage_name))
    left join definition_by_api_name on lower(trim(definition_by_api_name.api_name)) = lower(trim(stage_names.stage_name))
),

flagged as (
    select
        *,
        coalesce(opportunity_sort_order, definition_sort_order)         as source_sort_order,
        case when opportunity_sort_order is not null then 'opportunity'
             when definition_sort_order is not null then 'opportunity_stage'
             when avg_position is not null then 'history'
             else 'name' end                                            as sort_order_source,
        case when closed_flag_count > 0 then opportunity_is_closed
             when definition_is_closed is not null then definition_is_closed
             else coalesce(looks_won or looks_lost, false) end          as stage_is_closed,
        case when closed_flag_count > 0 then opportunity_is_won and opportunity_is_closed
             when definition_is_closed is not null then coalesce(definition_is_won, false) and definition_is_closed
             else coalesce(looks_won, false) end                        as stage_is_won
    from combined
),

final as (
    select
        stage_name,
        cast(row_number() over (
            order by source_sort_order nulls last, avg_position nulls last, stage_name
        ) as integer)                                                   as stage_order,
        source_sort_order,
        sort_order_source,
        stage_is_closed                                                 as is_closed,
        stage_is_won                                                    as is_won,
        stage_is_closed and not stage_is_won                            as is_lost,
        case lower(replace(forecast_category, ' ', ''))
             when 'forecast' then 'Commit'
             when 'commit' then 'Commit'
             when 'bestcase' then 'Best Case'
             when 'pipeline' then 'Pipeline'
             when 'closed' then 'Closed'
             when 'omitted' then 'Omitted'
             else forecast_category
        end                                                             as forecast_category,
        default_probability,
        is_active
    from flagged
)

select * from final
