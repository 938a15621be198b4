/*
description: >
  One row per (non-deleted, latest-version) Task and Event, classified, error-quarantined rows left out (see
  core.int_activity, which holds every column but the two below), with what depends on the as-of date. is_completed: task IsClosed or Status
  'Completed'; event whose start (StartDateTime, else ActivityDateTime, else ActivityDate) is on or before the
  as-of date. is_overdue: an open task with a due date before the as-of date (events never). A view: the
  as-of date moves with every export, and these two flags are all that moves with it, so the 30M-row table
  under it is merged nightly rather than rewritten.
materialized: view
columns:
  activity_id: "Task or Event id."
  source: "'task' or 'event'."
  activity_type: "'call', 'email', 'meeting' or 'task' (see description)."
  owner_id: "The rep who owns the activity."
  who_id: "The person it is with (lead 00Q or contact 003)."
  who_type: "'lead' for 00Q, 'contact' for 003, else NULL."
  what_id: "The record it is about."
  account_id: "The related account."
  subject: "Subject."
  status: "Task status (NULL for events)."
  priority: "Task priority (NULL for events)."
  is_completed: "Completed (see description)."
  is_overdue: "Open task with a due date before the as-of date."
  activity_date: "Task due date / event date."
  contact_at: "When the contact happened (see description)."
  created_at: "CreatedDate."
  call_type: "Task CallType."
  call_duration_seconds: "Task CallDurationInSeconds."
  duration_minutes: "Event DurationInMinutes."
*/
with activities as (
    select * from core.int_activity
),

run as (
    select * from core.dim_run
),

final as (
    select
        activities.activity_id,
        activities.source,
        activities.activity_type,
        activities.owner_id,
        activities.who_id,
        activities.who_type,
        activities.what_id,
        activities.account_id,
        activities.subject,
        activities.status,
        activities.priority,
        coalesce(case when activities.source = 'event' then activities.event_date <= run.as_of_date
                      else activities.task_completed end, false)       as is_completed,
        activities.source = 'task'
            and not coalesce(activities.task_completed, false)
            and coalesce(activities.activity_date < run.as_of_date, false) as is_overdue,
        activities.activity_date,
        activities.contact_at,
        activities.created_at,
        activities.call_type,
        activities.call_duration_seconds,
        activities.duration_minutes
    from activities
    cross join run
)

select * from final
