/*
description: >
  State of the Union, top reps: one row per rep (core.dim_rep is_rep) with quota attainment for the fiscal
  year holding the as-of date, ranked. Formula: quota_attainment = won_amount_ytd / quota_ytd, where
  won_amount_ytd is the corporate amount of the rep's Closed Won deals with a close date from the fiscal
  year's start through the as-of date, and quota_ytd the sum of the rep's quotas (core.fct_quota) whose quota
  period starts from the fiscal year's start through the as-of date. Choices where the spec is silent: a quota
  period that has started counts in full (no pro-rating by days), so a monthly quota is earned in the month it
  starts; quota_full_year (every quota period starting in the fiscal year) is shown beside it; a rep without
  quota gets a NULL attainment and no attainment rank, never 0; ranks use rank(), so tied reps share a rank
  and the next rank is skipped. Won deals without a currency rate count in won_count_ytd but not in the
  amount.
columns:
  rep_id: The rep's user id.
  rep_name: The rep's name.
  team_id: The rep's team (manager or role id).
  team_name: The team's name.
  region: The rep's sales region (User.Division).
  fiscal_year_label: The fiscal year, e.g. FY2024.
  quota_ytd: Sum of the rep's quotas whose period started in the fiscal year up to the as-of date.
  quota_full_year: Sum of the rep's quotas whose period starts in the fiscal year.
  won_count_ytd: Closed Won deals closed in the fiscal year up to the as-of date.
  won_amount_ytd: Their corporate amount.
  quota_attainment: won_amount_ytd / quota_ytd (1.0 = quota met); NULL without quota.
  attainment_rank: rank() by quota_attainment descending (1 = best; ties share a rank); NULL without attainment.
  won_amount_rank: rank() by won_amount_ytd descending.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label
    from core.dim_period
),

reps as (
    select user_id, rep_name, team_id, team_name, region
    from core.dim_rep
    where is_rep and user_id is not null
),

quotas as (
    select owner_id, period_start, quota_amount_corporate
    from core.fct_quota
),

opportunities as (
    select owner_id, close_date, is_won, amount_corporate
    from core.fct_opportunity
),

current_year as (
    select periods.period_start as year_start, periods.period_end as year_end, periods.period_label, run.as_of_date
    from periods
    cross join run
    where periods.period_type = 'year'
        and run.as_of_date between periods.period_start and periods.period_end
),

rep_quotas as (
    select
        q.owner_id,
        sum(case when q.period_start <= cy.as_of_date then q.quota_amount_corporate end) as quota_ytd,
        sum(q.quota_amount_corporate) as quota_full_year
    from quotas as q
    inner join current_year as cy
        on q.period_start between cy.year_start and cy.year_end
    group by q.owner_id
),

rep_wins as (
    select
        o.owner_id,
        count(*) as won_count_ytd,
        sum(o.amount_corporate) as won_amount_ytd
    from opportunities as o
    inner join current_year as cy
        on o.close_date between cy.year_start and cy.as_of_date
    where o.is_won
    group by o.owner_id
),

joined as (
    select
        r.user_id as rep_id,
        coalesce(r.rep_name, r.user_id) as rep_name,
        r.team_id,
        coalesce(r.team_name, r.team_id) as team_name,
        r.region,
        cy.period_label as fiscal_year_label,
        cast(q.quota_ytd as double) as quota_ytd,
        cast(q.quota_full_year as double) as quota_full_year,
        cast(coalesce(w.won_count_ytd, 0) as bigint) as won_count_ytd,
        cast(coalesce(w.won_amount_ytd, 0) as double) as won_amount_ytd
    from reps as r
    cross join current_year as cy
    left join rep_quotas as q on q.owner_id = r.user_id
    left join rep_wins as w on w.owner_id = r.user_id
),

with_attainment as (
    select
        *,
        won_amount_ytd / nullif(quota_ytd, 0) as quota_attainment
    from joined
),

final as (
    select
        *,
        case
            when quota_attainment is not null
                then cast(rank() over (order by quota_attainment desc nulls last) as integer)
        end as attainment_rank,
        cast(rank() over (order by won_amount_ytd desc) as integer) as won_amount_rank
    from with_attainment
    order by attainment_rank nulls last, won_amount_rank, rep_name
)

select * from final
