/*
description: >
  Team activities: one row per rep (core.dim_rep is_rep), grain (week | month) and period with at least one
  activity, from core.fct_activity (Tasks and Events). An activity belongs to the week (ISO, starting Monday)
  and the calendar month of its activity_date (task due date / event date), else of its contact_at, else of its
  created_at. Classification (call / email / meeting / task) is core.fct_activity's, per the spec (TaskSubtype,
  else Type, else call fields, else subject patterns; events are meetings). Choices where the spec is silent:
  periods starting after the as-of date are left out (tasks planned for later are not activity yet); overdue
  is the task's state at the as-of date (open with a due date before it), counted in the period of its due
  date; calls and emails count tasks only and meetings count events (and tasks typed Meeting), whether
  completed or not.
columns:
  rep_id: The rep's user id.
  rep_name: The rep's name.
  team_name: The rep's team name.
  period_grain: week or month.
  period_start: Monday of the week, or the first day of the month.
  period_end: Sunday of the week, or the last day of the month.
  activities_total: Tasks and events in the period.
  tasks_total: Tasks in the period.
  tasks_completed: Tasks completed (IsClosed or status Completed).
  tasks_overdue: Tasks still open at the as-of date with a due date before it.
  calls: Activities classified as calls.
  emails: Activities classified as emails.
  meetings: Activities classified as meetings (events, and tasks typed Meeting).
  events_completed: Events that took place by the as-of date.
*/
with run as (
    select as_of_date from core.dim_run
),

activities as (
    select
        activity_id,
        source,
        activity_type,
        owner_id,
        is_completed,
        is_overdue,
        coalesce(activity_date, cast(contact_at as date), cast(created_at as date)) as activity_day
    from core.fct_activity
),

reps as (
    select user_id, rep_name, team_id, team_name
    from core.dim_rep
    where is_rep and user_id is not null
),

dated as (
    select * from activities where activity_day is not null
),

by_grain as (
    select 'week' as period_grain, cast(date_trunc('week', activity_day) as date) as period_start, dated.*
    from dated
    union all
    select 'month' as period_grain, cast(date_trunc('month', activity_day) as date) as period_start, dated.*
    from dated
),

aggregated as (
    select
        owner_id,
        period_grain,
        period_start,
        count(*) as activities_total,
        count(*) filter (where source = 'task') as tasks_total,
        count(*) filter (where source = 'task' and is_completed) as tasks_completed,
        count(*) filter (where source = 'task' and is_overdue) as tasks_overdue,
        count(*) filter (where activity_type = 'call') as calls,
        count(*) filter (where activity_type = 'email') as emails,
        count(*) filter (where activity_type = 'meeting') as meetings,
        count(*) filter (where source = 'event' and is_completed) as events_completed
    from by_grain
    cross join run
    where by_grain.period_start <= run.as_of_date
    group by owner_id, period_grain, period_start
),

final as (
    select
        r.user_id as rep_id,
        coalesce(r.rep_name, r.user_id) as rep_name,
        coalesce(r.team_name, r.team_id) as team_name,
        a.period_grain,
        a.period_start,
        case a.period_grain
            when 'week' then cast(a.period_start + interval 6 day as date)
            else cast(a.period_start + interval 1 month - interval 1 day as date)
        end as period_end,
        cast(a.activities_total as bigint) as activities_total,
        cast(a.tasks_total as bigint) as tasks_total,
        cast(a.tasks_completed as bigint) as tasks_completed,
        cast(a.tasks_overdue as bigint) as tasks_overdue,
        cast(a.calls as bigint) as calls,
        cast(a.emails as bigint) as emails,
        cast(a.meetings as bigint) as meetings,
        cast(a.events_completed as bigint) as events_completed
    from aggregated as a
    inner join reps as r on r.user_id = a.owner_id
    order by a.period_grain desc, a.period_start, rep_name, rep_id
)

select * from final
