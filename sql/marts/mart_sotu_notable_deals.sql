/*
description: >
  State of the Union, notable deals: the top 10 open deals and the top 10 closed-won deals of the fiscal year
  holding the as-of date, by amount in the corporate currency. Open: not closed now, with a close date in the
  current fiscal year (the deals that can still land this year; open deals whose close date has already passed
  are kept, flagged by days_past_close). Closed won: won, with a close date from the fiscal year's start
  through the as-of date. Ranked by amount_corporate descending, then close date and id (row_number, so
  exactly 10 per category when there are enough). Deals without a corporate amount (no currency rate) are left
  out. Opportunity and account names are business names, not personal data; no contact of the deal is shown.
columns:
  deal_category: open or closed_won.
  deal_rank: 1..10 within the category, by amount_corporate descending.
  opportunity_id: The opportunity's id.
  opportunity_name: Opportunity.Name.
  account_id: The customer account.
  account_name: The account's name.
  owner_id: The deal owner.
  owner_name: The deal owner's name.
  stage_name: Current stage.
  forecast_category: Current forecast category (Pipeline, Best Case, Commit, Closed, Omitted).
  created_date: CreatedDate.
  close_date: CloseDate (expected for open deals, actual for won ones).
  days_past_close: Days from close_date to the as-of date for an open deal whose close date has passed; NULL otherwise.
  amount_corporate: Amount in the corporate currency.
  probability: Probability (0-100).
  weighted_amount_corporate: amount_corporate * probability / 100.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end
    from core.dim_period
),

opportunities as (
    select * from core.fct_opportunity
),

accounts as (
    select account_id, account_name from core.dim_account
),

reps as (
    select user_id, rep_name from core.dim_rep
),

current_year as (
    select periods.period_start as year_start, periods.period_end as year_end, run.as_of_date
    from periods
    cross join run
    where periods.period_type = 'year'
        and run.as_of_date between periods.period_start and periods.period_end
),

candidates as (
    select
        case when o.is_won then 'closed_won' else 'open' end as deal_category,
        o.*,
        cy.as_of_date
    from opportunities as o
    cross join current_year as cy
    where o.amount_corporate is not null
        and (
            (not coalesce(o.is_closed, false) and o.close_date between cy.year_start and cy.year_end)
            or (o.is_won and o.close_date between cy.year_start and cy.as_of_date)
        )
),

ranked as (
    select
        *,
        row_number() over (
            partition by deal_category order by amount_corporate desc, close_date, opportunity_id
        ) as deal_rank
    from candidates
),

final as (
    select
        r.deal_category,
        cast(r.deal_rank as integer) as deal_rank,
        r.opportunity_id,
        r.opportunity_name,
        r.account_id,
        coalesce(a.account_name, r.account_id) as account_name,
        r.owner_id,
        coalesce(reps.rep_name, r.owner_id) as owner_name,
        r.stage_name,
        r.forecast_category,
        r.created_date,
        r.close_date,
        case
            when r.deal_category = 'open' and r.close_date < r.as_of_date
                then cast(r.as_of_date - r.close_date as integer)
        end as days_past_close,
        cast(r.amount_corporate as double) as amount_corporate,
        cast(r.probability as double) as probability,
        cast(r.amount_corporate * r.probability / 100.0 as double) as weighted_amount_corporate
    from ranked as r
    left join accounts as a on a.account_id = r.account_id
    left join reps on reps.user_id = r.owner_id
    where r.deal_rank <= 10
    order by case r.deal_category when 'open' then 0 else 1 end, r.deal_rank
)

select * from final
