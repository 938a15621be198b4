/*
description: >
  One row per stage visit, without what depends on the as-of date (core.fct_opportunity_stage_change adds
  days_in_stage): consecutive core.fct_opportunity_history rows of an opportunity with the same stage are
  collapsed into one visit (a deal that leaves a stage and comes back has two visits). entered_at is the first
  row's valid_from, exited_at the next visit's entered_at (NULL while still in it). outcome: 'won' / 'lost'
  when the next stage (or, for the current visit, the stage itself) is won / lost per core.dim_stage;
  'advanced' when the next stage has a higher stage_order; 'moved_back' when lower; 'open' for the current
  visit of an open stage. History rows without a stage name are skipped. An opportunity's visits derive only
  from its own history rows, so the nightly run re-derives the visits of the opportunities whose history
  the merge of core.fct_opportunity_history changed.
incremental:
  unique_key: opportunity_id
  keyed_inputs: [core.fct_opportunity_history]
columns:
  opportunity_id: "The opportunity."
  visit_number: "1..n order of the visits of one opportunity."
  stage_name: "The stage visited."
  stage_order: "Its position (core.dim_stage)."
  entered_at: "When the deal entered the stage (history CreatedDate)."
  exited_at: "When it moved to another stage; NULL while still in it."
  next_stage_name: "The stage it moved to; NULL while still in it."
  next_stage_order: "Position of the next stage."
  is_current: "The deal is still in this stage (last visit)."
  is_closed_stage: "The visited stage is closed."
  outcome: "'advanced', 'moved_back', 'won', 'lost' or 'open'."
  owner_id: "Current owner of the opportunity."
*/
with history as (
    select * from core.fct_opportunity_history
),

stages as (
    select * from core.dim_stage
),

flagged as (
    select
        opportunity_id,
        owner_id,
        history_seq,
        stage_name,
        valid_from,
        lag(stage_name) over (partition by opportunity_id order by history_seq) as previous_stage_name
    from history
    where stage_name is not null
),

linked as (
    -- a visit starts at each row whose stage differs from the previous row's; the next visit's start is its exit
    select
        opportunity_id,
        owner_id,
        stage_name,
        valid_from                                                              as entered_at,
        row_number() over by_opportunity                                        as visit_number,
        lead(valid_from) over by_opportunity                                    as exited_at,
        lead(stage_name) over by_opportunity                                    as next_stage_name
    from flagged
    where previous_stage_name is distinct from stage_name
    window by_opportunity as (partition by opportunity_id order by history_seq)
),

final as (
    select
        linked.opportunity_id,
        cast(linked.visit_number as integer)                                        as visit_number,
        linked.stage_name,
        stages.stage_order,
        linked.entered_at,
        linked.exited_at,
        linked.next_stage_name,
        next_stages.stage_order                                                     as next_stage_order,
        linked.next_stage_name is null                                              as is_current,
        coalesce(stages.is_closed, false)                                           as is_closed_stage,
        case
            when linked.next_stage_name is not null then
                case when next_stages.is_won then 'won'
                     when next_stages.is_lost then 'lost'
                     when next_stages.stage_order > stages.stage_order then 'advanced'
                     else 'moved_back' end
            when stages.is_won then 'won'
            when stages.is_lost then 'lost'
            else 'open'
        end                                                                         as outcome,
        linked.owner_id
    from linked
    left join stages on stages.stage_name = linked.stage_name
    left join stages as next_stages on next_stages.stage_name = linked.next_stage_name
)

select * from final
