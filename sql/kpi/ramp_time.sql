/*
description: >
  Ramp time: how many days new reps take from their hire date to their first
  contact with a prospect, averaged over the reps hired in a fiscal year (and,
  finer, in a fiscal quarter), for the company and each team. It shows how fast
  onboarding turns a hire into a working seller. Formula (spec KPI 7): per rep,
  days from hire_date to the first prospect contact = the earliest completed
  call, email or meeting (core.fct_activity, activity_type call, email or
  meeting, is_completed) owned by the rep whose WhoId is a lead (00Q) or a
  contact (003), dated by CompletedDateTime, else ActivityDate /
  ActivityDateTime, else CreatedDate (core.fct_activity.contact_at); value =
  sum of those days / number of reps hired in the period who have made a
  contact. Reps with no contact yet are counted in still_ramping, not in the
  average. A rep whose first prospect contact is dated before the hire date is
  a data-quality failure for that rep: the rep is left out of the average and
  counted in contact_before_hire. Hire dates come from the HR export or the
  User custom fields (core.dim_rep); when the input has no hire dates
  (core.dim_run.has_hire_dates false) this table has no rows. When the export
  has no Task and no Event file (core.dim_run.has_tasks / has_events false)
  there is no contact at all and every hired rep is still ramping; the
  pipeline reports both. Choices where the spec is silent: days are whole
  calendar days between the hire date and the date of the contact (a contact on
  the hire day is 0 days); contacts dated after the as-of date are ignored; a
  rep who left without ever making a contact is not still ramping but counted
  in left_without_contact; the period is the one the rep was hired in (a
  partial current period counts reps hired up to the as-of date; reps hired
  before the first period of the data appear in no period); the team is
  the rep's current team; reps with no team count for the company only; a
  scope with no ramped rep has value NULL.
columns:
  kpi: Always ramp_time.
  period_type: year or quarter (fiscal), the period the reps were hired in.
  period_start: First day of the period.
  period_end: Last day of the period (inclusive; the real end, even for the current, partial period).
  is_partial: True when the period has not ended at the as-of date; hires are then counted up to the as-of date.
  scope: company or team.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team.
  scope_name: The display name, Company for the company, or the team's name.
  numerator: Sum over the ramped reps hired in the period of the days from hire date to first prospect contact.
  denominator: Number of reps hired in the period with a first prospect contact on or after their hire date.
  value: Average ramp time in days (numerator / denominator); NULL when no rep hired in the period has ramped.
  unit: Always days.
  still_ramping: Reps hired in the period, still employed at the as-of date, with no prospect contact yet.
  contact_before_hire: Reps hired in the period whose first prospect contact is dated before their hire date (data-quality failure, left out of the average).
  left_without_contact: Reps hired in the period who left (termination date on or before the as-of date) without any prospect contact.
  reps_hired: All reps hired in the period.
*/
with run as (
    select as_of_date, has_hire_dates from core.dim_run
),

periods as (
    select p.period_type, p.period_start, p.period_end, p.is_partial, p.effective_end
    from core.dim_period as p
    cross join run
    where p.period_type in ('year', 'quarter')
      and run.has_hire_dates
),

reps as (
    select
        user_id,
        team_id,
        coalesce(team_name, team_id) as team_name,
        hire_date,
        termination_date
    from core.dim_rep
    where is_rep
),

scopes as (
    select * from core.dim_kpi_scope
    where scope in ('company', 'team')
),

prospect_contacts as (
    select a.owner_id, min(cast(a.contact_at as date)) as first_contact_date
    from core.fct_activity as a
    cross join run
    where a.is_completed
      and a.activity_type in ('call', 'email', 'meeting')
      and a.who_type in ('lead', 'contact')
      and a.contact_at is not null
      and cast(a.contact_at as date) <= run.as_of_date
    group by a.owner_id
),

rep_ramp as (
    select
        r.user_id,
        r.team_id,
        r.hire_date,
        c.first_contact_date,
        case
            when c.first_contact_date is null then null
            when c.first_contact_date < r.hire_date then 'contact_before_hire'
            else 'ramped'
        end as ramp_state,
        case
            when c.first_contact_date >= r.hire_date then date_diff('day', r.hire_date, c.first_contact_date)
        end as ramp_days,
        c.first_contact_date is null
            and (r.termination_date is null or r.termination_date > run.as_of_date) as is_still_ramping,
        c.first_contact_date is null
            and r.termination_date <= run.as_of_date as has_left_without_contact
    from reps as r
    cross join run
    left join prospect_contacts as c on c.owner_id = r.user_id
    where r.hire_date is not null
),

rep_periods as (
    select p.period_type, p.period_start, rr.*
    from rep_ramp as rr
    inner join periods as p
        on rr.hire_date between p.period_start and p.effective_end
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, rp.*
    from rep_periods as rp
    union all
    select 'team', rp.team_id, rp.*
    from rep_periods as rp
    where rp.team_id is not null
),

aggregated as (
    select
        period_type,
        period_start,
        scope,
        scope_id,
        cast(sum(ramp_days) as bigint) as ramp_days_sum,
        count(*) filter (where ramp_state = 'ramped') as ramped,
        count(*) filter (where is_still_ramping) as still_ramping,
        count(*) filter (where ramp_state = 'contact_before_hire') as contact_before_hire,
        count(*) filter (where has_left_without_contact) as left_without_contact,
        count(*) as reps_hired
    from attributed
    group by period_type, period_start, scope, scope_id
),

final as (
    select
        'ramp_time' as kpi,
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        coalesce(a.ramp_days_sum, 0) as numerator,
        coalesce(a.ramped, 0) as denominator,
        a.ramp_days_sum / nullif(a.ramped, 0) as value,
        'days' as unit,
        coalesce(a.still_ramping, 0) as still_ramping,
        coalesce(a.contact_before_hire, 0) as contact_before_hire,
        coalesce(a.left_without_contact, 0) as left_without_contact,
        coalesce(a.reps_hired, 0) as reps_hired
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_type = p.period_type
        and a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
    order by p.period_type desc, p.period_start, s.scope_order, s.scope_name, s.scope_id
)

select * from final
