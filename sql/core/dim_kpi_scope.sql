/*
description: >
  The scopes every KPI table reports on, one row each: the company, every team with at least one rep, and every
  rep (core.dim_rep rows with is_rep). A KPI table crosses its periods with these rows, so a team or rep with
  nothing in a period still gets its row (0, or NULL for a ratio without data). Names fall back to the id when
  unknown; a team's name is the one its reps carry (the greatest, should they disagree).
columns:
  scope: "'company', 'team' or 'rep'."
  scope_id: "NULL for the company, else the team id or the rep's user id."
  scope_name: "'Company', the team's name or the rep's name."
  scope_order: "0 company, 1 team, 2 rep: the order KPI tables list scopes in."
*/
with reps as (
    select
        user_id,
        coalesce(rep_name, user_id) as rep_name,
        team_id,
        coalesce(team_name, team_id) as team_name
    from core.dim_rep
    where is_rep and user_id is not null
),

teams as (
    select team_id, max(team_name) as team_name
    from reps
    where team_id is not null
    group by team_id
),

final as (
    select 'company' as scope, cast(null as varchar) as scope_id, 'Company' as scope_name, 0 as scope_order
    union all
    select 'team', team_id, team_name, 1 from teams
    union all
    select 'rep', user_id, rep_name, 2 from reps
)

select * from final
