/*
description: >
  The calendar: one row per day from the first day of the fiscal year holding core.dim_run.first_data_date
  (or the as-of date, whichever is earlier) through the last day of the fiscal year holding the as-of date.
  Generated with generate_series, never from the data. Quarters and years are fiscal: they start in
  fiscal_year_start_month (1 = calendar quarters and years). fiscal_year is labelled by the calendar year in
  which the fiscal year ENDS, as Salesforce does (with a start month of April, 2024-04-01..2025-03-31 is
  FY2025). Empty when the export holds no dates at all.
columns:
  date_day: "The day."
  week_start: "Monday of the day's ISO week."
  month_start: "First day of the calendar month."
  month_end: "Last day of the calendar month."
  quarter_start: "First day of the fiscal quarter."
  quarter_end: "Last day of the fiscal quarter (inclusive)."
  fiscal_year: "Fiscal year, named by the calendar year in which it ends."
  fiscal_quarter: "Fiscal quarter 1-4."
  year_start: "First day of the fiscal year."
  year_end: "Last day of the fiscal year (inclusive)."
  quarter_label: "'FY2025-Q1'."
  year_label: "'FY2025'."
  day_of_week: "ISO day of week, 1 = Monday ... 7 = Sunday."
  is_weekend: "Saturday or Sunday."
  is_after_as_of: "The day lies after the run's as-of date."
*/
with run as (
    select * from core.dim_run
),

bounds as (
    select
        as_of_date,
        fiscal_year_start_month as fm,
        least(coalesce(first_data_date, as_of_date), as_of_date) as first_day
    from run
),

month_index as (
    -- months counted from year 0, shifted so that index 0 of every fiscal year is its first month
    select
        bounds.*,
        (year(first_day) * 12 + month(first_day) - fm) // 12 as first_fy_start_year,
        (year(as_of_date) * 12 + month(as_of_date) - fm) // 12 as last_fy_start_year
    from bounds
),

days as (
    select
        cast(unnest(generate_series(
            make_date(cast(first_fy_start_year as bigint), cast(fm as bigint), 1),
            cast(make_date(cast(last_fy_start_year + 1 as bigint), cast(fm as bigint), 1) - interval 1 day as date),
            interval 1 day
        )) as date) as date_day,
        fm
    from month_index
),

fiscal as (
    select
        date_day,
        fm,
        (year(date_day) * 12 + month(date_day) - fm) // 12 as fy_start_year,
        (year(date_day) * 12 + month(date_day) - fm) % 12  as fiscal_month_index
    from days
),

derived as (
    select
        date_day,
        fm,
        fy_start_year,
        fiscal_month_index // 3 + 1 as fiscal_quarter,
        make_date(cast(fy_start_year as bigint), cast(fm as bigint), 1) as year_start,
        -- absolute month number (year * 12 + month - 1) of the fiscal quarter's first month
        fy_start_year * 12 + (fm - 1) + (fiscal_month_index // 3) * 3 as quarter_month
    from fiscal
),

final as (
    select
        date_day,
        cast(date_trunc('week', date_day) as date)                                       as week_start,
        cast(date_trunc('month', date_day) as date)                                      as month_start,
        last_day(date_day)                                                               as month_end,
        make_date(cast(quarter_month // 12 as bigint), cast(quarter_month % 12 + 1 as bigint), 1) as quarter_start,
        cast(make_date(cast(quarter_month // 12 as bigint), cast(quarter_month % 12 + 1 as bigint), 1)
             + interval 3 month - interval 1 day as date)                               as quarter_end,
        cast(fy_start_year + case when fm = 1 then 0 else 1 end as integer)              as fiscal_year,
        cast(fiscal_quarter as integer)                                                  as fiscal_quarter,
        year_start,
        cast(year_start + interval 1 year - interval 1 day as date)                      as year_end,
        'FY' || cast(fy_start_year + case when fm = 1 then 0 else 1 end as varchar)
            || '-Q' || cast(fiscal_quarter as varchar)                                   as quarter_label,
        'FY' || cast(fy_start_year + case when fm = 1 then 0 else 1 end as varchar)      as year_label,
        cast(isodow(date_day) as integer)                                                as day_of_week,
        isodow(date_day) in (6, 7)                                                       as is_weekend,
        date_day > (select as_of_date from run)                                          as is_after_as_of
    from derived
)

select * from final
