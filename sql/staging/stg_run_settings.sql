/*
description: >
  The run's configuration as exactly one row, with every default filled in. raw.run_settings is written by a
  Python asset from the run's configuration; when it is empty (or a value is NULL) the defaults of the spec
  apply, so the row always exists. Out-of-range values fall back to the default (fiscal_year_start_month
  outside 1-12 -> 1, customer_window_days < 1 -> 365, unknown team_source / referral_credit -> the default).
  LIKE patterns are lowercased so that models match them against lower(value).
columns:
  as_of_date: "The as-of date the run was told to use; NULL = derive it from the export (see core.dim_run)."
  fiscal_year_start_month: "First month of the fiscal year (1-12, default 1 = calendar years)."
  corporate_currency: "Corporate currency configured for the run; NULL = the CurrencyType row with IsCorporate, else USD (see core.dim_run)."
  referral_sources: "Lowercase LIKE patterns; a lead/opportunity whose lower(LeadSource) matches one is a referral. Default ['%referral%', 'word of mouth']."
  closed_lead_statuses: "Lowercase LIKE patterns; a lead whose lower(Status) matches one is in a closed status. Default ['%closed%', '%unqualified%', '%disqualified%', '%converted%']."
  call_subject_patterns: "Lowercase LIKE patterns; a task whose lower(trim(Subject)) matches one is a call when nothing else classifies it (see core.fct_activity). Default ['call%']."
  email_subject_patterns: "Lowercase LIKE patterns for emails, tried after the call patterns. Default ['email%', 'e-mail%']."
  customer_window_days: "Without contracts, an account is a customer for this many days after a Closed Won CloseDate (default 365)."
  team_source: "'manager' (team = ManagerId, falling back to UserRoleId) or 'role' (team = UserRoleId, falling back to ManagerId); default 'manager'."
  referral_credit: "'referring_account' (credit the referring account's owner when filled) or 'owner' (always the record owner); default 'referring_account'."
  on_track_attainment: "Attainment at or above which a KPI is on track (default 1.0)."
  at_risk_attainment: "Attainment at or above which a KPI is at risk, below it off track (default 0.9)."
*/
with settings as (
    select * from raw.run_settings
    limit 1
),

defaults as (
    select
        1                                                                       as fiscal_year_start_month,
        'USD'                                                                   as fallback_currency,
        ['%referral%', 'word of mouth']                                         as referral_sources,
        ['%closed%', '%unqualified%', '%disqualified%', '%converted%']          as closed_lead_statuses,
        ['call%']                                                               as call_subject_patterns,
        ['email%', 'e-mail%']                                                   as email_subject_patterns,
        365                                                                     as customer_window_days,
        'manager'                                                               as team_source,
        'referring_account'                                                     as referral_credit,
        1.0                                                                     as on_track_attainment,
        0.9                                                                     as at_risk_attainment
),

final as (
    select
        cast(settings.as_of_date as date)                                       as as_of_date,
        cast(case when settings.fiscal_year_start_month between 1 and 12
                  then settings.fiscal_year_start_month
                  else defaults.fiscal_year_start_month end as integer)         as fiscal_year_start_month,
        nullif(upper(trim(settings.corporate_currency)), '')                    as corporate_currency,
        like_patterns(settings.referral_sources, defaults.referral_sources)     as referral_sources,
        like_patterns(settings.closed_lead_statuses, defaults.closed_lead_statuses) as closed_lead_statuses,
        like_patterns(settings.call_subject_patterns, defaults.call_subject_patterns) as call_subject_patterns,
        like_patterns(settings.email_subject_patterns, defaults.email_subject_patterns) as email_subject_patterns,
        cast(case when settings.customer_window_days >= 1
                  then settings.customer_window_days
                  else defaults.customer_window_days end as integer)            as customer_window_days,
        case when lower(trim(settings.team_source)) in ('manager', 'role')
             then lower(trim(settings.team_source))
             else defaults.team_source end                                      as team_source,
        case when lower(trim(settings.referral_credit)) in ('referring_account', 'owner')
             then lower(trim(settings.referral_credit))
             else defaults.referral_credit end                                  as referral_credit,
        cast(coalesce(settings.on_track_attainment, defaults.on_track_attainment) as double) as on_track_attainment,
        cast(coalesce(settings.at_risk_attainment, defaults.at_risk_attainment) as double)   as at_risk_attainment
    from defaults
    left join settings on true
)

select * from final
