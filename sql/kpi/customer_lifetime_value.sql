/*
description: >
  Customer lifetime value (CLV): what a customer is worth over the whole
  relationship, per fiscal year, for the company. It tells how much it is worth
  spending to win and keep a customer. Formula (spec KPI 2): CLV = average
  purchase value x average purchases per customer x average customer lifespan,
  where average purchase value = Closed Won amount (corporate currency) /
  number of Closed Won deals closed in the year, average purchases per customer
  = Closed Won deals / distinct accounts with one, and average customer lifespan
  in years = the mean, over the accounts that were customers by the period's
  end, of each account's first to last active day (see core.fct_customer_span:
  activated contracts, or Closed Won deals with a configurable window when
  there are no contracts), capped at the as-of date, at least one year. The
  first two factors multiply to Closed Won amount / customers, so numerator =
  Closed Won amount x average lifespan and denominator = distinct accounts with
  a Closed Won deal in the year; value = numerator / denominator. Each factor
  is in its own column. Choices where the spec is silent: a span's length
  counts both its first and last day, (last - first + 1) / 365.25 years; a
  customer "by the period's end" is an account whose first active day is on or
  before the period end (the as-of date for the current, partial year), and
  its lifespan runs to its last active day up to the as-of date, so earlier
  years use the lifespans as known today; won deals without an account count
  as deals but not as customers; won amounts without a known conversion rate
  add nothing (the data-quality checks flag them); a year with no won deal, or
  no customer yet, has value NULL. Company scope only, as the spec defines it.
columns:
  kpi: Always customer_lifetime_value.
  period_type: Always year (fiscal year).
  period_start: First day of the fiscal year.
  period_end: Last day of the fiscal year (inclusive; the real end, even for the current, partial year).
  is_partial: True when the year has not ended at the as-of date; it is then counted up to the as-of date.
  scope: Always company.
  scope_id: Always NULL (company).
  scope_name: Always Company.
  numerator: Closed Won amount in the year (corporate currency) x average customer lifespan in years; NULL when no account was a customer by the period's end.
  denominator: Distinct accounts with a Closed Won deal closed in the year.
  value: CLV in the corporate currency (numerator / denominator); NULL when the denominator is 0 or no lifespan is known.
  unit: Always currency (the corporate currency).
  won_amount: Closed Won amount (corporate currency) of the deals closed in the year.
  won_deals: Number of Closed Won deals closed in the year.
  avg_purchase_value: won_amount / won_deals; NULL without won deals.
  avg_purchases_per_customer: won_deals / denominator; NULL without customers with a won deal.
  avg_lifespan_years: Average lifespan in years of the accounts that were customers by the period's end (each at least one year).
  customers_by_period_end: Number of accounts whose lifespan was averaged.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'year'
),

won_deals as (
    select opportunity_id, account_id, close_date, amount_corporate
    from core.fct_opportunity
    where is_won and close_date is not null
),

account_lifespans as (
    select
        s.account_id,
        min(s.active_from) as first_active_day,
        greatest(
            (date_diff('day', min(s.active_from), least(max(s.active_to), run.as_of_date)) + 1) / 365.25,
            1
        ) as lifespan_years
    from core.fct_customer_span as s
    cross join run
    where s.account_id is not null
      and s.active_from <= run.as_of_date
    group by s.account_id, run.as_of_date
),

purchases as (
    select
        p.period_start,
        coalesce(sum(w.amount_corporate), 0) as won_amount,
        count(w.opportunity_id) as won_deals,
        count(distinct w.account_id) as customers_with_won_deal
    from periods as p
    left join won_deals as w
        on w.close_date between p.period_start and p.effective_end
    group by p.period_start
),

lifespans as (
    select
        p.period_start,
        avg(l.lifespan_years) as avg_lifespan_years,
        count(l.account_id) as customers_by_period_end
    from periods as p
    left join account_lifespans as l
        on l.first_active_day <= p.effective_end
    group by p.period_start
),

final as (
    select
        'customer_lifetime_value' as kpi,
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        'company' as scope,
        cast(null as varchar) as scope_id,
        'Company' as scope_name,
        pu.won_amount * l.avg_lifespan_years as numerator,
        pu.customers_with_won_deal as denominator,
        pu.won_amount * l.avg_lifespan_years / nullif(pu.customers_with_won_deal, 0) as value,
        'currency' as unit,
        pu.won_amount,
        pu.won_deals,
        pu.won_amount / nullif(pu.won_deals, 0) as avg_purchase_value,
        pu.won_deals / nullif(pu.customers_with_won_deal, 0) as avg_purchases_per_customer,
        l.avg_lifespan_years,
        l.customers_by_period_end
    from periods as p
    inner join purchases as pu on pu.period_start = p.period_start
    inner join lifespans as l on l.period_start = p.period_start
    order by p.period_start
)

select * from final
