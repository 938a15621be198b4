/*
description: >
  One row per stage visit (core.int_opportunity_stage_change, which holds every column but days_in_stage),
  with the time spent in the stage: days_in_stage = (exited_at, else the END of the as-of day, minus
  entered_at) in days as a double, never below 0 (a visit entered on the as-of day counts the part of that
  day). A view: the as-of date moves with every export and only the current visits' days move with it, so
  the table under it is merged nightly rather than rewritten.
materialized: view
columns:
  opportunity_id: "The opportunity."
  visit_number: "1..n order of the visits of one opportunity."
  stage_name: "The stage visited."
  stage_order: "Its position (core.dim_stage)."
  entered_at: "When the deal entered the stage (history CreatedDate)."
  exited_at: "When it moved to another stage; NULL while still in it."
  next_stage_name: "The stage it moved to; NULL while still in it."
  next_stage_order: "Position of the next stage."
  days_in_stage: "Days spent in the stage (to the end of the as-of day while still in it)."
  is_current: "The deal is still in this stage (last visit)."
  is_closed_stage: "The visited stage is closed."
  outcome: "'advanced', 'moved_back', 'won', 'lost' or 'open'."
  owner_id: "Current owner of the opportunity."
*/
with visits as (
    select * from core.int_opportunity_stage_change
),

run as (
    select * from core.dim_run
),

final as (
    select
        visits.opportunity_id,
        visits.visit_number,
        visits.stage_name,
        visits.stage_order,
        visits.entered_at,
        visits.exited_at,
        visits.next_stage_name,
        visits.next_stage_order,
        greatest(
            epoch(coalesce(visits.exited_at, cast(run.as_of_date + interval 1 day as timestamp)) - visits.entered_at) / 86400.0,
            0.0
        )                                                                           as days_in_stage,
        visits.is_current,
        visits.is_closed_stage,
        visits.outcome,
        visits.owner_id
    from visits
    cross join run
)

select * from final
