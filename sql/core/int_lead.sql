/*
description: >
  One row per (non-deleted, latest-version) Lead, without what depends on the as-of date (core.fct_lead adds
  that). Rows failing an error-severity data-quality rule (audit.quarantine) are left out. Each row derives
  only from its own Lead (and the run settings), so a new export merges the leads whose records or quarantine
  rows changed (see pipeline/incremental.py). Status and LeadSource are matched against the run's lowercase
  LIKE patterns (closed_lead_statuses, referral_sources) once per distinct value and joined back, so the
  pattern test does not run per lead.
incremental:
  unique_key: lead_id
  keyed_inputs: [staging.stg_lead, audit.quarantine]
columns:
  lead_id: "The lead's id."
  owner_id: "Current owner (a user, or a queue id 00G...)."
  lead_source: "Lead.LeadSource."
  status: "Lead.Status."
  company: "Lead.Company."
  country: "Lead.Country."
  industry: "Lead.Industry."
  created_date: "CreatedDate as a date."
  created_at: "CreatedDate (GMT timestamp)."
  last_modified_date: "LastModifiedDate as a date."
  is_converted: "Lead.IsConverted."
  converted_date: "Lead.ConvertedDate."
  converted_opportunity_id: "The opportunity the lead became."
  converted_account_id: "The account the lead became."
  converted_contact_id: "The contact the lead became."
  is_closed_status: "Status matches closed_lead_statuses (case-insensitive LIKE)."
  pipeline_start: "= created_date."
  left_pipeline_on: "converted_date (else last_modified_date) if converted, last_modified_date if in a closed status, else NULL (still open)."
  is_referral: "LeadSource matches referral_sources (case-insensitive LIKE)."
  referring_account_id: "Referring_Account__c: the customer that referred the lead."
*/
with leads as (
    select * from staging.stg_lead
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'Lead' and q.record_id = lead_id and q.severity = 'error'
    )
),

settings as (
    select * from staging.stg_run_settings
),

statuses as (
    select distinct status from leads where status is not null
),

closed_statuses as (
    select distinct statuses.status
    from statuses
    inner join (select unnest(closed_lead_statuses) as pattern from settings) as patterns
        on lower(statuses.status) like patterns.pattern
),

sources as (
    select distinct lead_source from leads where lead_source is not null
),

referral_sources as (
    select distinct sources.lead_source
    from sources
    inner join (select unnest(referral_sources) as pattern from settings) as patterns
        on lower(sources.lead_source) like patterns.pattern
),

flagged as (
    select
        leads.*,
        closed_statuses.status is not null          as is_closed_status,
        referral_sources.lead_source is not null    as is_referral,
        coalesce(leads.is_converted, false)         as converted
    from leads
    left join closed_statuses on closed_statuses.status = leads.status
    left join referral_sources on referral_sources.lead_source = leads.lead_source
),

final as (
    select
        flagged.lead_id,
        flagged.owner_id,
        flagged.lead_source,
        flagged.status,
        flagged.company,
        flagged.country,
        flagged.industry,
        cast(flagged.created_date as date)                                  as created_date,
        flagged.created_date                                                as created_at,
        cast(flagged.last_modified_date as date)                            as last_modified_date,
        flagged.converted                                                   as is_converted,
        flagged.converted_date,
        flagged.converted_opportunity_id,
        flagged.converted_account_id,
        flagged.converted_contact_id,
        flagged.is_closed_status,
        cast(flagged.created_date as date)                                  as pipeline_start,
        case when flagged.converted
                 then coalesce(flagged.converted_date, cast(flagged.last_modified_date as date))
             when flagged.is_closed_status
                 then cast(flagged.last_modified_date as date) end          as left_pipeline_on,
        flagged.is_referral,
        flagged.referring_account                                           as referring_account_id
    from flagged
)

select * from final
