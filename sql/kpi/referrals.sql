/*
description: >
  Referrals: how many new leads and deals came from referrals in each fiscal
  quarter, for the company, each team and each rep, and how many of them became
  Closed Won business. Referred business is cheap to win and a sign of happy
  customers, so it is worth tracking who brings it in. Formula (spec KPI 8):
  count of leads whose LeadSource is a referral source (configurable; default
  values containing "referral", case-insensitive, and "Word of mouth"; see
  core.dim_run.referral_sources) created in the quarter, plus opportunities
  with a referral LeadSource that did not come from a converted lead, created
  in the quarter (numerator = that count, denominator = 1, value = the count).
  Credit goes to the owner of the referring account when crediting by
  referring account is configured (core.dim_run.referral_credit, default
  referring_account) and the referring-account field is filled with an account
  that has an owner; otherwise to the lead's (opportunity's) owner. Extra
  column converted = how many of them became Closed Won business. Choices
  where the spec is silent: converted counts a referral as won when, by the
  as-of date, the lead was converted into an opportunity that is Closed Won, or
  the referral opportunity itself is Closed Won, whenever that happened (the
  referral stays in the quarter it was created in); the team is the credited
  user's current team; referrals credited to a user who is not a rep count for
  the company only; a partial (current) quarter counts referrals created up to
  the as-of date; every rep gets a row for every quarter, 0 when none.
  Without a Lead file only referral opportunities count; without LeadSource
  values nothing is a referral.
columns:
  kpi: Always referrals.
  period_type: Always quarter (fiscal quarter).
  period_start: First day of the fiscal quarter.
  period_end: Last day of the fiscal quarter (inclusive; the real end, even for the current, partial quarter).
  is_partial: True when the quarter has not ended at the as-of date; it is then counted up to the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Referral leads plus referral opportunities not from a converted lead, created in the quarter.
  denominator: Always 1 (a plain count).
  value: Number of referrals created in the quarter (numerator / denominator).
  unit: Always count.
  converted: How many of those referrals are Closed Won business by the as-of date.
  referral_leads: How many of the referrals are leads.
  referral_opportunities: How many of the referrals are opportunities that did not come from a converted lead.
*/
with run as (
    select referral_sources, referral_credit from core.dim_run
),

periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'quarter'
),

referral_patterns as (
    select distinct lower(unnest(referral_sources)) as pattern
    from run
),

accounts as (
    select account_id, owner_id
    from core.dim_account
),

opportunities as (
    select * from core.fct_opportunity
),

referral_leads as (
    select
        l.lead_id as referral_id,
        'lead' as referral_kind,
        l.owner_id as record_owner_id,
        l.referring_account_id,
        l.created_date,
        coalesce(l.is_converted and o.is_won, false) as is_won
    from core.fct_lead as l
    left join opportunities as o on o.opportunity_id = l.converted_opportunity_id
    where l.is_referral
),

referral_opportunities as (
    select
        o.opportunity_id as referral_id,
        'opportunity' as referral_kind,
        o.owner_id as record_owner_id,
        o.referring_account_id,
        o.created_date,
        coalesce(o.is_won, false) as is_won
    from opportunities as o
    where not coalesce(o.from_converted_lead, false)
      and exists (
          select 1 from referral_patterns as rp
          where lower(o.lead_source) like rp.pattern
      )
),

referrals as (
    select r.*, coalesce(case when run.referral_credit = 'referring_account' then a.owner_id end, r.record_owner_id) as owner_id
    from (
        select * from referral_leads
        union all
        select * from referral_opportunities
    ) as r
    cross join run
    left join accounts as a on a.account_id = r.referring_account_id
    where r.created_date is not null
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

referral_periods as (
    select p.period_start, r.referral_kind, r.owner_id, r.is_won
    from referrals as r
    inner join periods as p
        on r.created_date between p.period_start and p.effective_end
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, rp.*
    from referral_periods as rp
    union all
    select os.scope, os.scope_id, rp.*
    from referral_periods as rp
    inner join owner_scopes as os on rp.owner_id = os.owner_id
),

aggregated as (
    select
        period_start,
        scope,
        scope_id,
        count(*) as referrals,
        count(*) filter (where is_won) as converted,
        count(*) filter (where referral_kind = 'lead') as referral_leads,
        count(*) filter (where referral_kind = 'opportunity') as referral_opportunities
    from attributed
    group by period_start, scope, scope_id
),

final as (
    select
        'referrals' as kpi,
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        coalesce(a.referrals, 0) as numerator,
        cast(1 as bigint) as denominator,
        cast(coalesce(a.referrals, 0) as double) as value,
        'count' as unit,
        coalesce(a.converted, 0) as converted,
        coalesce(a.referral_leads, 0) as referral_leads,
        coalesce(a.referral_opportunities, 0) as referral_opportunities
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
    order by p.period_start, s.scope_order, s.scope_name, s.scope_id
)

select * from final
