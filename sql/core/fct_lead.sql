/*
description: >
  One row per (non-deleted, latest-version) Lead, error-quarantined rows left out (see core.int_lead, which
  holds every column but the two below), with what depends on the as-of date. A lead is in the pipeline over
  [pipeline_start, pipeline_end]: start = created_date; end = converted_date if converted (LastModifiedDate
  when a converted lead has no ConvertedDate), else last_modified_date if in a closed status, else the as-of
  date - and never after the as-of date (only matters for an as-of override into the past). is_active: not
  converted, not in a closed status, created on or before the as-of date. A view, so that the as-of date,
  which moves with every export, does not rewrite the lead table.
materialized: view
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
  pipeline_end: "converted_date if converted, last_modified_date if closed status, else as_of_date; capped at as_of_date."
  is_active: "Not converted, not in a closed status, created on/before the as-of date."
  is_referral: "LeadSource matches referral_sources (case-insensitive LIKE)."
  referring_account_id: "Referring_Account__c: the customer that referred the lead."
*/
with leads as (
    select * from core.int_lead
),

run as (
    select * from core.dim_run
),

final as (
    select
        leads.lead_id,
        leads.owner_id,
        leads.lead_source,
        leads.status,
        leads.company,
        leads.country,
        leads.industry,
        leads.created_date,
        leads.created_at,
        leads.last_modified_date,
        leads.is_converted,
        leads.converted_date,
        leads.converted_opportunity_id,
        leads.converted_account_id,
        leads.converted_contact_id,
        leads.is_closed_status,
        leads.pipeline_start,
        least(coalesce(leads.left_pipeline_on, run.as_of_date), run.as_of_date)  as pipeline_end,
        not leads.is_converted
            and not leads.is_closed_status
            and coalesce(leads.created_date <= run.as_of_date, true)        as is_active,
        leads.is_referral,
        leads.referring_account_id
    from leads
    cross join run
)

select * from final
