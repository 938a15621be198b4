/*
description: >
  Rows failing an error-severity data-quality rule (audit.quarantine) are left out.
  One row per contract with its value. When the export holds contract rows (core.dim_run.has_contracts):
  one row per (non-deleted, latest-version) Contract; tcv_corporate = sum of amount_corporate of Closed Won
  opportunities whose ContractId is the contract (0 if none; won deals without a currency rate are left out
  of the sum and counted in unconverted_won_count; NULL when every won deal of the contract lacks a rate, and
  for a fallback row whose opportunity lacks a rate, so an unknown value never averages in as 0); term_years = ContractTerm/12, else (EndDate -
  StartDate)/365.25; acv_corporate = tcv / greatest(term_years, 1) (a contract without term or end date counts
  as one year). end_date is EndDate, else the day before the same day ContractTerm months later (a start on
  a day the end month lacks, e.g. Feb 29, ends on that month's last day).
  owner_id = contract owner, falling back to the owner of its most recently closed won opportunity.
  is_activated means the contract was activated: StatusCode Activated, Expired or Terminated (expired and
  terminated contracts were activated during their term), or Status 'Activated', or an ActivatedDate. When
  the export has no contract rows at all: one row per Closed Won opportunity as a one-year contract
  (contract_id = opportunity_id, start = close_date, end = close_date + 1 year - 1 day (2024-02-29 -> 2025-02-28), term 12 months,
  tcv = acv = its amount_corporate, source 'won_opportunity').
columns:
  contract_id: "Contract id (the opportunity id for fallback rows)."
  account_id: "The customer account."
  owner_id: "Contract owner, fallback the won opportunity's owner."
  contract_number: "ContractNumber (NULL for fallback rows)."
  status: "Contract.Status."
  status_code: "Contract.StatusCode (Draft, InApproval, Activated, Terminated, Expired), else Status."
  is_activated: "The contract was activated (see description)."
  activated_at: "ActivatedDate."
  start_date: "StartDate (close date for fallback rows)."
  end_date: "EndDate (inclusive; see description)."
  term_months: "ContractTerm (12 for fallback rows)."
  term_years: "ContractTerm/12, else (end_date - start_date)/365.25."
  tcv_corporate: "Total contract value in the corporate currency."
  acv_corporate: "tcv_corporate / greatest(term_years, 1)."
  won_opportunity_count: "Closed Won opportunities summed into the TCV."
  unconverted_won_count: "Closed Won opportunities of the contract left out for lack of a currency rate."
  source: "'contract' or 'won_opportunity'."
*/
with contracts as (
    select * from staging.stg_contract
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'Contract' and q.record_id = contract_id and q.severity = 'error'
    )
),

opportunities as (
    select * from core.fct_opportunity
),

run as (
    select * from core.dim_run
),

won as (
    select * from opportunities where is_won
),

won_by_contract as (
    select
        contract_id,
        sum(amount_corporate)                                   as tcv_corporate,
        count(*)                                                as won_opportunity_count,
        count(*) - count(amount_corporate)                      as unconverted_won_count,
        arg_max(owner_id, close_date)                           as won_owner_id
    from won
    where contract_id is not null
    group by contract_id
),

from_contracts as (
    select
        contracts.contract_id,
        contracts.account_id,
        coalesce(contracts.owner_id, won_by_contract.won_owner_id)          as owner_id,
        contracts.contract_number,
        contracts.status,
        coalesce(contracts.status_code, contracts.status)                   as status_code,
        coalesce(contracts.status_code in ('Activated', 'Expired', 'Terminated'), false)
            or coalesce(contracts.status = 'Activated', false)
            or contracts.activated_date is not null                         as is_activated,
        contracts.activated_date                                            as activated_at,
        contracts.start_date,
        coalesce(
            contracts.end_date,
            -- the day before the same day N months later; when that day does not exist (a start on the 29th-31st)
            -- the month is clamped and its last day is the end
            case when day(contracts.start_date + to_months(cast(contracts.contract_term as integer))) < day(contracts.start_date)
                 then cast(contracts.start_date + to_months(cast(contracts.contract_term as integer)) as date)
                 else cast(contracts.start_date + to_months(cast(contracts.contract_term as integer)) - interval 1 day as date)
            end
        )                                                                   as end_date,
        contracts.contract_term                                             as term_months,
        case when won_by_contract.contract_id is null then 0.0
             else won_by_contract.tcv_corporate end                         as tcv_corporate,
        coalesce(won_by_contract.won_opportunity_count, 0)                  as won_opportunity_count,
        coalesce(won_by_contract.unconverted_won_count, 0)                  as unconverted_won_count,
        'contract'                                                          as source
    from contracts
    left join won_by_contract on won_by_contract.contract_id = contracts.contract_id
),

from_won_opportunities as (
    select
        won.opportunity_id                                                  as contract_id,
        won.account_id,
        won.owner_id,
        cast(null as varchar)                                               as contract_number,
        'Activated'                                                         as status,
        'Activated'                                                         as status_code,
        true                                                                as is_activated,
        cast(null as timestamp)                                             as activated_at,
        won.close_date                                                      as start_date,
        case when day(won.close_date + interval 1 year) < day(won.close_date)
             then cast(won.close_date + interval 1 year as date)              -- a leap-day start ends on Feb 28
             else cast(won.close_date + interval 1 year - interval 1 day as date)
        end                                                                 as end_date,
        cast(12 as bigint)                                                  as term_months,
        won.amount_corporate                                                as tcv_corporate,
        1                                                                   as won_opportunity_count,
        case when won.amount_corporate is null then 1 else 0 end            as unconverted_won_count,
        'won_opportunity'                                                   as source
    from won
    cross join run
    where not run.has_contracts
),

unioned as (
    select * from from_contracts
    union all
    select * from from_won_opportunities
),

final as (
    select
        contract_id,
        account_id,
        owner_id,
        contract_number,
        status,
        status_code,
        is_activated,
        activated_at,
        start_date,
        end_date,
        term_months,
        coalesce(term_months / 12.0, date_diff('day', start_date, end_date) / 365.25) as term_years,
        tcv_corporate,
        tcv_corporate / greatest(coalesce(term_months / 12.0, date_diff('day', start_date, end_date) / 365.25, 1.0), 1.0) as acv_corporate,
        won_opportunity_count,
        unconverted_won_count,
        source
    from unioned
)

select * from final
