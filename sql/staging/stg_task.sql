/*
description: >
  One row per Task Id: the latest version across every loaded export (newest SystemModstamp, then latest load, then last row of the file), with deleted records (IsDeleted) dropped after the latest version is chosen, so a deletion in a newer export hides older versions. Rows without an Id are dropped. Every contract field renamed to snake_case and cast with the contract type; Id becomes task_id. No joins. Calls, emails and to-dos logged by reps. They make up the team-activities dashboard (total, completed, overdue, calls, emails) and the leaderboard's activity count; a rep's first completed call or email with a lead or contact ends their ramp time.
columns:
  task_id: "The task's 18-character Salesforce id (prefix 00T)."
  who_id: "The person the task is with; a lead (00Q) or a contact (003)."
  what_id: "The record the task is about (account, opportunity, ...)."
  account_id: "The account the task relates to."
  subject: "Task subject; a fallback for telling calls from emails."
  activity_date: "Due date of the task; decides whether an open task is overdue."
  status: "Task status (Not Started, In Progress, Completed, ...)."
  priority: "Task priority."
  is_closed: "The task is completed; only completed tasks count as contacts."
  owner_id: "The rep who owns the task."
  type: "Task type (Call, Email, Meeting, Other); often empty."
  task_subtype: "Kind of task set by Salesforce; the first way to tell calls from emails."
  call_type: "Inbound, Outbound or Internal; filled for logged calls."
  call_duration_in_seconds: "Length of a logged call."
  call_disposition: "Outcome of a logged call."
  email_message_id: "The EmailMessage logged with the task (Enhanced Email); filled makes the task an email when TaskSubtype, Type and the call fields say nothing."
  completed_date_time: "When the task was completed (GMT); dates a rep's first contact."
  description: "Comments on the task (free text, may hold personal details). (pii: never select it in a mart)"
  created_date: "When the task was created (GMT); the last-resort activity date."
  last_modified_date: "Last change to the task (GMT)."
  system_modstamp: "Last system change (GMT); the newer version wins across exports."
  is_deleted: "The task is deleted; deleted rows are ignored."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with latest as (
    -- the newest version of each record: ranked on the row ids alone, then read whole (ranking whole
    -- rows sorted and spilled every column: Task at enterprise scale took 257 s instead of 121 s)
    select *
    from raw.task
    where rowid in (
        select rowid
        from raw.task
        where sf_id("Id") is not null and not coalesce(_duplicate_id, false)
        qualify row_number() over (
            partition by sf_id("Id")
            order by sf_timestamp("SystemModstamp", _date_order) desc nulls last, _loaded_at desc, _row_number desc
        ) = 1
    )
),

final as (
    select
        sf_id("Id")                         as task_id,
        sf_id("WhoId")                      as who_id,
        sf_id("WhatId")                     as what_id,
        sf_id("AccountId")                  as account_id,
        sf_text("Subject")                  as subject,
        sf_date("ActivityDate", _date_order)             as activity_date,
        sf_text("Status")                   as status,
        sf_text("Priority")                 as priority,
        sf_bool("IsClosed")                 as is_closed,
        sf_id("OwnerId")                    as owner_id,
        sf_text("Type")                     as type,
        sf_text("TaskSubtype")              as task_subtype,
        sf_text("CallType")                 as call_type,
        sf_integer("CallDurationInSeconds") as call_duration_in_seconds,
        sf_text("CallDisposition")          as call_disposition,
        sf_id("EmailMessageId")             as email_message_id,
        sf_timestamp("CompletedDateTime", _date_order)   as completed_date_time,
        sf_text("Description")              as description,
        sf_timestamp("CreatedDate", _date_order)         as created_date,
        sf_timestamp("LastModifiedDate", _date_order)    as last_modified_date,
        sf_timestamp("SystemModstamp", _date_order)      as system_modstamp,
        sf_bool("IsDeleted")                as is_deleted,
        _export_id,
        _loaded_at
    from latest
    where not sf_deleted("IsDeleted", _connector_deleted)
)

select * from final
