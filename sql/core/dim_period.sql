/*
description: >
  The reporting periods: one row per fiscal quarter and per fiscal year that overlaps
  [core.dim_run.first_data_date, as_of_date] (built from core.dim_date, so fiscal_year_start_month shifts
  them). period_end is the real, inclusive end of the period; a period not finished by the as-of date is
  is_partial and is reported up to effective_end = least(period_end, as_of_date). When first_data_date lies
  after the as-of date (an as-of override into the past), the periods start at the as-of date's.
columns:
  period_type: "'quarter' or 'year'."
  period_start: "First day of the period."
  period_end: "Last day of the period (inclusive), even when it lies after the as-of date."
  period_label: "'FY2024' or 'FY2024-Q3' (fiscal year named by the year it ends in)."
  is_partial: "The period ends after the as-of date."
  effective_end: "least(period_end, as_of_date): the last day the period is reported up to."
  fiscal_year: "Fiscal year of the period."
  fiscal_quarter: "Fiscal quarter 1-4; NULL for years."
  period_days: "Days from period_start through effective_end."
*/
with run as (
    select * from core.dim_run
),

dates as (
    select * from core.dim_date
),

window_bounds as (
    select
        as_of_date,
        least(coalesce(first_data_date, as_of_date), as_of_date) as first_day
    from run
),

quarters as (
    select
        'quarter'        as period_type,
        quarter_start    as period_start,
        quarter_end      as period_end,
        quarter_label    as period_label,
        fiscal_year,
        fiscal_quarter
    from dates
    group by all
),

years as (
    select
        'year'           as period_type,
        year_start       as period_start,
        year_end         as period_end,
        year_label       as period_label,
        fiscal_year,
        cast(null as integer) as fiscal_quarter
    from dates
    group by all
),

periods as (
    select * from years
    union all
    select * from quarters
),

final as (
    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        periods.period_label,
        periods.period_end > window_bounds.as_of_date                            as is_partial,
        least(periods.period_end, window_bounds.as_of_date)                      as effective_end,
        periods.fiscal_year,
        periods.fiscal_quarter,
        cast(date_diff('day', periods.period_start,
                       least(periods.period_end, window_bounds.as_of_date)) + 1 as integer) as period_days
    from periods
    inner join window_bounds
        on periods.period_end >= window_bounds.first_day
        and periods.period_start <= window_bounds.as_of_date
    order by periods.period_type desc, periods.period_start
)

select * from final
