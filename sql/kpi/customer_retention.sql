/*
description: >
  Customer retention: the share of the customers at the start of a fiscal year
  that are still customers at its end, for the company, each team and each rep
  (by account owner). Keeping customers is cheaper than winning new ones, and
  this is the number that shows whether the base holds. Formula (spec KPI 9):
  (customers at year end - customers at year end that were not customers at
  year start) / customers at year start x 100; numerator = customers at year
  end minus the new ones (that is, accounts that are customers on both days),
  denominator = customers at year start. An account is an active customer on
  day d when it has an activated contract with StartDate <= d <= EndDate, or,
  when the export holds no contracts, a Closed Won opportunity with CloseDate in
  (d - window, d] (window configurable, default 365 days); these spans come
  merged from core.fct_customer_span. Choices where the spec is silent: year
  start is the first day of the fiscal year and year end its last day, or the
  as-of date for the current, partial year; only the two days count, so a
  customer who lapses during the year and is back by its end is retained, and
  one who lapses across a year end is lost that year and new the next; the rep
  is the account's current owner and the team that rep's current team;
  accounts owned by a user who is not a rep count for the company only; a
  scope with no customer at year start has value NULL.
columns:
  kpi: Always customer_retention.
  period_type: Always year (fiscal year).
  period_start: First day of the fiscal year.
  period_end: Last day of the fiscal year (inclusive; the real end, even for the current, partial year).
  is_partial: True when the year has not ended at the as-of date; year end is then the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id of the account owner for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Customers at year end minus customers at year end that were not customers at year start (customers on both days).
  denominator: Customers at year start.
  value: numerator / denominator x 100, in percent; NULL when there was no customer at year start.
  unit: Always percent.
  customers_at_start: Accounts that were active customers on the first day of the year.
  customers_at_end: Accounts that were active customers on the last day of the year (the as-of date for a partial year).
  new_customers: Customers at year end that were not customers at year start.
  lost_customers: Customers at year start that were not customers at year end.
*/
with periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'year'
),

spans as (
    select account_id, active_from, active_to
    from core.fct_customer_span
    where account_id is not null
),

accounts as (
    select account_id, owner_id
    from core.dim_account
),

account_status as (
    -- one row per account and year in which the account was a customer on either day
    select
        p.period_start,
        s.account_id,
        bool_or(p.period_start between s.active_from and s.active_to) as at_start,
        bool_or(p.effective_end between s.active_from and s.active_to) as at_end
    from spans as s
    inner join periods as p
        on p.period_start between s.active_from and s.active_to
        or p.effective_end between s.active_from and s.active_to
    group by p.period_start, s.account_id
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

owned_status as (
    select st.*, a.owner_id
    from account_status as st
    left join accounts as a on a.account_id = st.account_id
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, os_.*
    from owned_status as os_
    union all
    select os.scope, os.scope_id, os_.*
    from owned_status as os_
    inner join owner_scopes as os on os_.owner_id = os.owner_id
),

aggregated as (
    select
        period_start,
        scope,
        scope_id,
        count(*) filter (where at_start) as customers_at_start,
        count(*) filter (where at_end) as customers_at_end,
        count(*) filter (where at_end and not at_start) as new_customers,
        count(*) filter (where at_start and not at_end) as lost_customers
    from attributed
    group by period_start, scope, scope_id
),

filled as (
    select
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        s.scope_order,
        coalesce(a.customers_at_start, 0) as customers_at_start,
        coalesce(a.customers_at_end, 0) as customers_at_end,
        coalesce(a.new_customers, 0) as new_customers,
        coalesce(a.lost_customers, 0) as lost_customers
    from periods as p
    cross join scopes as s
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
),

final as (
    select
        'customer_retention' as kpi,
        period_type,
        period_start,
        period_end,
        is_partial,
        scope,
        scope_id,
        scope_name,
        customers_at_end - new_customers as numerator,
        customers_at_start as denominator,
        100.0 * (customers_at_end - new_customers) / nullif(customers_at_start, 0) as value,
        'percent' as unit,
        customers_at_start,
        customers_at_end,
        new_customers,
        lost_customers
    from filled
    order by period_start, scope_order, scope_name, scope_id
)

select * from final
