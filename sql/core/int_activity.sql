/*
description: >
  Every (non-deleted, latest-version) Task and Event, classified, without what depends on the as-of date
  (core.fct_activity adds that). Rows failing an error-severity data-quality rule (audit.quarantine) are left
  out. Each row derives only from its own Task or Event (and the run settings), so after a new export the
  nightly run merges it: the activities whose records changed, or whose quarantine rows changed, are
  re-derived; the other 30M rows are left alone (see pipeline/incremental.py). activity_type for tasks, first
  rule that applies: TaskSubtype Call -> call, Email/ListEmail -> email (other subtypes such as the default
  'Task' decide nothing); else Type Call -> call, Email -> email, Meeting -> meeting; else call fields
  (CallType or CallDurationInSeconds filled) -> call; else EmailMessageId filled -> email; else the trimmed
  lowercase subject matches one of the run's call_subject_patterns (default 'call%') -> call, else one of its
  email_subject_patterns (default 'email%', 'e-mail%') -> email; else 'task'. Events are always 'meeting'.
  contact_at (dates a prospect contact): task CompletedDateTime, else ActivityDate, else CreatedDate; event
  ActivityDateTime / StartDateTime, else ActivityDate, else CreatedDate.
incremental:
  unique_key: activity_id
  keyed_inputs: [staging.stg_task, staging.stg_event, audit.quarantine]
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
  task_completed: "Task IsClosed or Status 'Completed' (NULL for events, which complete by date)."
  event_date: "The day an event takes place: StartDateTime, else ActivityDateTime, else ActivityDate (NULL for tasks)."
  activity_date: "Task due date / event date."
  contact_at: "When the contact happened (see description)."
  created_at: "CreatedDate."
  call_type: "Task CallType."
  call_duration_seconds: "Task CallDurationInSeconds."
  duration_minutes: "Event DurationInMinutes."
*/
with tasks as (
    select * from staging.stg_task
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'Task' and q.record_id = task_id and q.severity = 'error'
    )
),

events as (
    select * from staging.stg_event
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'Event' and q.record_id = event_id and q.severity = 'error'
    )
),

settings as (
    select * from staging.stg_run_settings
),

task_rows as (
    select
        tasks.task_id                                                   as activity_id,
        'task'                                                          as source,
        case
            when lower(tasks.task_subtype) = 'call' then 'call'
            when lower(tasks.task_subtype) in ('email', 'listemail') then 'email'
            when lower(tasks.type) = 'call' then 'call'
            when lower(tasks.type) = 'email' then 'email'
            when lower(tasks.type) = 'meeting' then 'meeting'
            when tasks.call_type is not null or tasks.call_duration_in_seconds is not null then 'call'
            when tasks.email_message_id is not null then 'email'
            when list_bool_or(list_transform(settings.call_subject_patterns,
                                             lambda pattern: lower(trim(tasks.subject)) like pattern)) then 'call'
            when list_bool_or(list_transform(settings.email_subject_patterns,
                                             lambda pattern: lower(trim(tasks.subject)) like pattern)) then 'email'
            else 'task'
        end                                                             as activity_type,
        tasks.owner_id,
        tasks.who_id,
        tasks.what_id,
        tasks.account_id,
        tasks.subject,
        tasks.status,
        tasks.priority,
        coalesce(tasks.is_closed, false) or coalesce(lower(tasks.status) = 'completed', false) as task_completed,
        cast(null as date)                                              as event_date,
        tasks.activity_date,
        coalesce(tasks.completed_date_time, cast(tasks.activity_date as timestamp), tasks.created_date) as contact_at,
        tasks.created_date                                              as created_at,
        tasks.call_type,
        tasks.call_duration_in_seconds                                  as call_duration_seconds,
        cast(null as bigint)                                            as duration_minutes
    from tasks
    cross join settings
),

event_rows as (
    select
        events.event_id                                                 as activity_id,
        'event'                                                         as source,
        'meeting'                                                       as activity_type,
        events.owner_id,
        events.who_id,
        events.what_id,
        events.account_id,
        events.subject,
        cast(null as varchar)                                           as status,
        cast(null as varchar)                                           as priority,
        cast(null as boolean)                                           as task_completed,
        coalesce(
            cast(coalesce(events.start_date_time, events.activity_date_time) as date),
            events.activity_date
        )                                                               as event_date,
        coalesce(events.activity_date,
                 cast(coalesce(events.start_date_time, events.activity_date_time) as date)) as activity_date,
        coalesce(events.activity_date_time, events.start_date_time,
                 cast(events.activity_date as timestamp), events.created_date) as contact_at,
        events.created_date                                             as created_at,
        cast(null as varchar)                                           as call_type,
        cast(null as bigint)                                            as call_duration_seconds,
        events.duration_in_minutes                                      as duration_minutes
    from events
),

unioned as (
    select * from task_rows
    union all
    select * from event_rows
),

final as (
    select
        unioned.activity_id,
        unioned.source,
        unioned.activity_type,
        unioned.owner_id,
        unioned.who_id,
        case when unioned.who_id like '00Q%' then 'lead'
             when unioned.who_id like '003%' then 'contact' end         as who_type,
        unioned.what_id,
        unioned.account_id,
        unioned.subject,
        unioned.status,
        unioned.priority,
        unioned.task_completed,
        unioned.event_date,
        unioned.activity_date,
        unioned.contact_at,
        unioned.created_at,
        unioned.call_type,
        unioned.call_duration_seconds,
        unioned.duration_minutes
    from unioned
)

select * from final
