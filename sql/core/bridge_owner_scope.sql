/*
description: >
  Which KPI scopes (core.dim_kpi_scope) a record owned by a user counts for, besides the company: the rep's own
  row and the row of the rep's current team. Owners who are not reps (queues, integration users) have no rows
  here, so their records count for the company only.
columns:
  owner_id: "The user id a record's OwnerId (or credited user) holds."
  scope: "'rep' or 'team'."
  scope_id: "The rep's user id, or the team id."
*/
with reps as (
    select user_id, team_id
    from core.dim_rep
    where is_rep and user_id is not null
),

final as (
    select user_id as owner_id, 'rep' as scope, user_id as scope_id from reps
    union all
    select user_id, 'team', team_id from reps where team_id is not null
)

select * from final
