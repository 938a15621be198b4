/*
description: >
  State of the Union, closed won vs forecast: one row per calendar month and per fiscal quarter that started
  on or before the as-of date (period_grain month | quarter). closed_won_amount is the corporate amount of the
  deals won (now) with a close date in the period. The forecasts are the pipeline as it stood at the start of
  the period (00:00 of its first day), rebuilt from core.fct_opportunity_history: for each opportunity, the
  history row in force at that instant (valid_from <= start < valid_to, or the last row). Formula:
  weighted_forecast = sum(amount_corporate * probability / 100) over those rows whose close date falls in the
  period; commit_forecast = sum(amount_corporate) over those rows with forecast category Commit or Closed and a
  close date in the period. Choices where the spec is silent: rows that were already closed lost at the
  period's start are left out (their probability is 0 anyway); rows already closed won with a close date in the
  period stay in (probability 100, category Closed); deals created during the period are in no forecast of it
  (their wins still count in closed_won); opportunities without history rows are in no forecast. Ratios
  (closed won as a percent of each forecast) are NULL when the forecast is 0.
columns:
  period_grain: month or quarter.
  period_start: First day of the month or fiscal quarter.
  period_end: Last day of the period (inclusive).
  period_label: "'2024-03' for a month, 'FY2024-Q1' for a quarter."
  is_partial: The period has not ended at the as-of date.
  closed_won_count: Deals won with a close date in the period.
  closed_won_amount: Their corporate amount.
  pipeline_count_at_start: Deals with a close date in the period that were in the pipeline (not lost) at the period's start.
  pipeline_amount_at_start: Their unweighted corporate amount at the period's start.
  weighted_forecast: Sum of amount * probability / 100 at the period's start (see description).
  commit_count_at_start: Deals in the commit forecast at the period's start.
  commit_forecast: Corporate amount of deals in forecast category Commit or Closed at the period's start.
  won_vs_weighted_pct: 100 * closed_won_amount / weighted_forecast; NULL when the forecast is 0.
  won_vs_commit_pct: 100 * closed_won_amount / commit_forecast; NULL when the forecast is 0.
*/
with run as (
    select as_of_date from core.dim_run
),

periods as (
    select period_type, period_start, period_end, period_label
    from core.dim_period
),

history as (
    select
        opportunity_id, valid_from, valid_to, amount_corporate, probability, close_date,
        forecast_category, is_closed, is_won
    from core.fct_opportunity_history
),

opportunities as (
    select opportunity_id, is_won, close_date, amount_corporate
    from core.fct_opportunity
),

quarters as (
    select
        'quarter' as period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_label
    from periods
    cross join run
    where periods.period_type = 'quarter'
        and periods.period_start <= run.as_of_date
),

quarter_months as (
    select cast(unnest(generate_series(period_start, period_end, interval 1 month)) as date) as month_start
    from quarters
),

months as (
    select
        'month' as period_grain,
        m.month_start as period_start,
        cast(m.month_start + interval 1 month - interval 1 day as date) as period_end,
        strftime(m.month_start, '%Y-%m') as period_label
    from quarter_months as m
    cross join run
    where m.month_start <= run.as_of_date
),

report_periods as (
    select period_grain, period_start, period_end, period_label from quarters
    union all
    select period_grain, period_start, period_end, period_label from months
),

won as (
    select
        p.period_grain,
        p.period_start,
        count(*) as closed_won_count,
        sum(o.amount_corporate) as closed_won_amount
    from report_periods as p
    inner join opportunities as o
        on o.is_won
        and o.close_date between p.period_start and p.period_end
    group by p.period_grain, p.period_start
),

snapshot as (
    -- the version of each deal in force at 00:00 of the period's first day
    select
        p.period_grain,
        p.period_start,
        h.opportunity_id,
        h.amount_corporate,
        h.probability,
        h.forecast_category
    from report_periods as p
    inner join history as h
        on h.valid_from <= cast(p.period_start as timestamp)
        and (h.valid_to is null or h.valid_to > cast(p.period_start as timestamp))
    where h.close_date between p.period_start and p.period_end
        and not (coalesce(h.is_closed, false) and not coalesce(h.is_won, false))
),

forecast as (
    select
        period_grain,
        period_start,
        count(*) as pipeline_count_at_start,
        sum(amount_corporate) as pipeline_amount_at_start,
        sum(amount_corporate * probability / 100.0) as weighted_forecast,
        count(*) filter (where forecast_category in ('Commit', 'Closed')) as commit_count_at_start,
        sum(amount_corporate) filter (where forecast_category in ('Commit', 'Closed')) as commit_forecast
    from snapshot
    group by period_grain, period_start
),

joined as (
    select
        p.period_grain,
        p.period_start,
        p.period_end,
        p.period_label,
        p.period_end > run.as_of_date as is_partial,
        cast(coalesce(w.closed_won_count, 0) as bigint) as closed_won_count,
        cast(coalesce(w.closed_won_amount, 0) as double) as closed_won_amount,
        cast(coalesce(f.pipeline_count_at_start, 0) as bigint) as pipeline_count_at_start,
        cast(coalesce(f.pipeline_amount_at_start, 0) as double) as pipeline_amount_at_start,
        cast(coalesce(f.weighted_forecast, 0) as double) as weighted_forecast,
        cast(coalesce(f.commit_count_at_start, 0) as bigint) as commit_count_at_start,
        cast(coalesce(f.commit_forecast, 0) as double) as commit_forecast
    from report_periods as p
    cross join run
    left join won as w
        on w.period_grain = p.period_grain
        and w.period_start = p.period_start
    left join forecast as f
        on f.period_grain = p.period_grain
        and f.period_start = p.period_start
),

final as (
    select
        *,
        100.0 * closed_won_amount / nullif(weighted_forecast, 0) as won_vs_weighted_pct,
        100.0 * closed_won_amount / nullif(commit_forecast, 0) as won_vs_commit_pct
    from joined
    order by case period_grain when 'quarter' then 0 else 1 end, period_start
)

select * from final
