/*
description: >
  Business performance: closed business per fiscal period (quarter and year, from core.dim_period) and
  dimension: region (the deal owner's sales region, User.Division, from core.dim_rep), industry and
  billing_country (the account's Industry and BillingCountry, core.dim_account), account, and product_family
  (OpportunityLineItem -> Product2, directly or through PricebookEntry, core.fct_opportunity_line_item). One row per
  period, dimension and value that closed at least one deal. Deals count in the period holding their close
  date (up to the as-of date). Formula: win rate = won / (won + lost) x 100; average cycle = average
  CreatedDate-to-CloseDate days of the won deals (negative cycles of bad sample data left out); average won
  deal size = won amount / won deals with an amount. A missing value is shown as '(none)' (dimension_id NULL).
  For product_family a deal counts once in each family it has line items in, with the corporate total of those
  line items as its amount (so family amounts add up to the line items, not to the deal amounts); deals
  without line items have no product_family row.
columns:
  period_type: quarter or year.
  period_start: First day of the fiscal period.
  period_end: Last day of the fiscal period (inclusive).
  period_label: "'FY2024-Q3' or 'FY2024'."
  is_partial: The period has not ended at the as-of date.
  dimension: region, industry, account, billing_country or product_family.
  dimension_id: The value's id (account id for account, else the value itself); NULL for '(none)'.
  dimension_value: The region, industry, account name or country; '(none)' when missing.
  closed_won_count: Deals won with a close date in the period.
  closed_won_amount: Their corporate amount.
  closed_lost_count: Deals lost with a close date in the period.
  win_rate_pct: 100 * won / (won + lost); NULL when nothing closed.
  avg_cycle_days: Average CreatedDate-to-CloseDate days of the won deals; NULL without any.
  avg_won_deal_size: closed_won_amount / won deals with an amount; NULL without any.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label, is_partial, effective_end
    from core.dim_period
),

opportunities as (
    select opportunity_id, account_id, owner_id, is_closed, is_won, is_lost, close_date, amount_corporate, cycle_days
    from core.fct_opportunity
    where is_closed and close_date is not null
),

accounts as (
    select account_id, account_name, industry, billing_country
    from core.dim_account
),

reps as (
    select user_id, region from core.dim_rep
),

family_amounts as (
    select opportunity_id, product_family, sum(total_price_corporate) as family_amount
    from core.fct_opportunity_line_item
    group by opportunity_id, product_family
),

deals as (
    select
        o.*,
        a.account_name,
        a.industry,
        a.billing_country,
        r.region
    from opportunities as o
    left join accounts as a on a.account_id = o.account_id
    left join reps as r on r.user_id = o.owner_id
),

deal_dimensions as (
    select 'region' as dimension, region as dimension_id, region as dimension_value, deals.* from deals
    union all
    select 'industry', industry, industry, deals.* from deals
    union all
    select 'billing_country', billing_country, billing_country, deals.* from deals
    union all
    select 'account', account_id, coalesce(account_name, account_id), deals.* from deals
    union all
    select 'product_family', f.product_family, f.product_family, deals.* replace (f.family_amount as amount_corporate)
    from deals
    inner join family_amounts as f on f.opportunity_id = deals.opportunity_id
),

aggregated as (
    select
        p.period_type,
        p.period_start,
        p.period_end,
        p.period_label,
        p.is_partial,
        d.dimension,
        d.dimension_id,
        coalesce(d.dimension_value, '(none)') as dimension_value,
        count(*) filter (where d.is_won) as closed_won_count,
        coalesce(sum(d.amount_corporate) filter (where d.is_won), 0) as closed_won_amount,
        count(d.amount_corporate) filter (where d.is_won) as won_with_amount,
        count(*) filter (where coalesce(d.is_lost, not d.is_won)) as closed_lost_count,
        avg(d.cycle_days) filter (where d.is_won and d.cycle_days >= 0) as avg_cycle_days
    from periods as p
    inner join deal_dimensions as d
        on d.close_date between p.period_start and p.effective_end
    group by all
),

final as (
    select
        period_type,
        period_start,
        period_end,
        period_label,
        is_partial,
        dimension,
        dimension_id,
        dimension_value,
        cast(closed_won_count as bigint) as closed_won_count,
        cast(closed_won_amount as double) as closed_won_amount,
        cast(closed_lost_count as bigint) as closed_lost_count,
        100.0 * closed_won_count / nullif(closed_won_count + closed_lost_count, 0) as win_rate_pct,
        cast(avg_cycle_days as double) as avg_cycle_days,
        closed_won_amount / nullif(won_with_amount, 0) as avg_won_deal_size
    from aggregated
    order by period_type, period_start, dimension, closed_won_amount desc, dimension_value
)

select * from final
