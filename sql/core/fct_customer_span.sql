/*
description: >
  Merged spans during which an account is an active customer (inclusive dates, not capped at the as-of
  date). With contracts (core.dim_run.has_contracts): from activated contracts (core.fct_contract
  is_activated) StartDate .. EndDate; a contract without an end date (no EndDate, no ContractTerm) is
  treated as open-ended and runs to 9999-12-31. Without contracts: from Closed Won opportunities, CloseDate
  .. CloseDate + customer_window_days - 1, i.e. day d is active when CloseDate is in (d - window, d].
  Overlapping or adjacent (next day) spans of one account are merged (gaps-and-islands with a running max,
  no self-join). Rows without account or start date are ignored.
columns:
  account_id: "The customer account."
  active_from: "First active day of the span."
  active_to: "Last active day of the span (inclusive; may lie after the as-of date)."
  source: "'contract' or 'won_opportunity'."
  source_count: "How many contracts / won deals were merged into the span."
*/
with contracts as (
    select * from core.fct_contract
),

opportunities as (
    select * from core.fct_opportunity
),

run as (
    select * from core.dim_run
),

contract_spans as (
    select
        contracts.account_id,
        contracts.start_date                                    as active_from,
        coalesce(contracts.end_date, date '9999-12-31')         as active_to,
        'contract'                                              as source
    from contracts
    cross join run
    where run.has_contracts
      and contracts.source = 'contract'
      and contracts.is_activated
      and contracts.account_id is not null
      and contracts.start_date is not null
      and coalesce(contracts.end_date, date '9999-12-31') >= contracts.start_date
),

won_spans as (
    select
        opportunities.account_id,
        opportunities.close_date                                as active_from,
        cast(opportunities.close_date + to_days(run.customer_window_days - 1) as date) as active_to,
        'won_opportunity'                                       as source
    from opportunities
    cross join run
    where not run.has_contracts
      and opportunities.is_won
      and opportunities.account_id is not null
      and opportunities.close_date is not null
),

spans as (
    select * from contract_spans
    union all
    select * from won_spans
),

ordered as (
    select
        *,
        max(active_to) over (
            partition by account_id
            order by active_from, active_to
            rows between unbounded preceding and 1 preceding
        ) as previous_max_to
    from spans
),

islands as (
    select
        *,
        sum(case when previous_max_to is null or active_from > previous_max_to + 1 then 1 else 0 end) over (
            partition by account_id
            order by active_from, active_to
            rows between unbounded preceding and current row
        ) as island
    from ordered
),

final as (
    select
        account_id,
        min(active_from)        as active_from,
        max(active_to)          as active_to,
        min(source)             as source,
        count(*)                as source_count
    from islands
    group by account_id, island
)

select * from final
