/*
description: >
  Annual contract value (ACV): the average yearly value of the contracts that
  started in a fiscal year, per fiscal year, for the company, each team and
  each rep. It shows how big the commitments are that customers sign, stripped
  of contract length, so a three-year deal and a one-year deal compare fairly.
  Formula (spec KPI 1): per contract, TCV = sum of the corporate-currency
  Amount of its Closed Won opportunities (opportunities whose ContractId is the
  contract); term in years = ContractTerm / 12, else (EndDate - StartDate) /
  365.25; ACV = TCV / max(term_years, 1), so a contract shorter than a year
  counts its whole TCV. value = sum of ACV / number of activated contracts
  whose StartDate falls in the period (numerator = sum of ACV, denominator =
  number of contracts). TCV, term and ACV are computed here from
  core.fct_contract (dates, ContractTerm, owner) and core.fct_opportunity
  (corporate amounts, already converted at the rate in force on CloseDate), so
  the formula is visible in this model; a contract with neither ContractTerm
  nor EndDate counts as one year. An export without any contract rows falls back to one
  one-year contract per Closed Won opportunity (start = CloseDate); the column
  contract_source says which rule was used ('contract' or 'won_opportunity').
  Choices where the spec is silent: a partial (current) year counts contracts
  that started up to the as-of date, never later; activated contracts with no
  Closed Won opportunity linked count with ACV 0 (the spec averages over all
  activated contracts; a 0 here points at opportunities missing their
  ContractId); Closed Won amounts without a known conversion rate add nothing
  (the data-quality checks flag them); the rep is the contract owner (falling
  back to the won opportunity's owner) as the rep is today, and the team is
  that rep's current team; contracts owned by users who are not reps count for
  the company only; reps with no team appear in no team row; a scope with no
  contract in the period has numerator 0, denominator 0 and value NULL.
columns:
  kpi: Always 'annual_contract_value'.
  period_type: Always 'year' (fiscal year).
  period_start: First day of the fiscal year.
  period_end: Last day of the fiscal year (inclusive; the real end, even for the current, partial year).
  is_partial: True when the year has not ended at the as-of date; it is then counted up to the as-of date.
  scope: company, team or rep.
  scope_id: NULL for the company; the team id (manager's user id, or role id) for a team; the user id for a rep.
  scope_name: The display name, Company for the company, the team's name, or the rep's name.
  numerator: Sum of ACV (corporate currency) of the activated contracts that started in the period.
  denominator: Number of activated contracts that started in the period.
  value: Average ACV in the corporate currency (numerator / denominator); NULL when no contract started.
  unit: Always 'currency' (the corporate currency, see core.dim_run.corporate_currency).
  total_tcv: Sum of the total contract value (corporate currency) of those contracts.
  contract_source: Which rule built the contracts, contract when the export holds contracts, won_opportunity when Closed Won opportunities stood in for them as one-year contracts (no Contract rows in the export).
*/
with run as (
    select * from core.dim_run
),

periods as (
    select period_type, period_start, period_end, is_partial, effective_end
    from core.dim_period
    where period_type = 'year'
),

contracts as (
    select contract_id, owner_id, start_date, end_date, term_months, source
    from core.fct_contract
    where (is_activated or source = 'won_opportunity')
      and start_date is not null
),

won_opportunities as (
    select opportunity_id, contract_id, amount_corporate
    from core.fct_opportunity
    where is_won
),

opportunity_values as (
    -- what each won opportunity adds to: its contract, or (fallback) itself as a contract
    select 'contract' as contract_source, contract_id as contract_key, amount_corporate
    from won_opportunities
    where contract_id is not null
    union all
    select 'won_opportunity', opportunity_id, amount_corporate
    from won_opportunities
),

contract_values as (
    -- TCV: Closed Won opportunities pointing at the contract; in the fallback
    -- (no Contract rows) each contract is one won opportunity, keyed by its id.
    -- Equality join only, so it stays a hash join at millions of rows.
    select
        c.contract_id,
        c.owner_id,
        c.start_date,
        coalesce(sum(o.amount_corporate), 0) as tcv,
        coalesce(c.term_months / 12.0, date_diff('day', c.start_date, c.end_date) / 365.25) as term_years
    from contracts as c
    left join opportunity_values as o
        on o.contract_key = c.contract_id
        and o.contract_source = case when c.source = 'won_opportunity' then 'won_opportunity' else 'contract' end
    group by c.contract_id, c.owner_id, c.start_date, c.term_months, c.end_date
),

contract_acv as (
    select
        contract_id,
        owner_id,
        start_date,
        tcv as tcv_corporate,
        tcv / greatest(coalesce(term_years, 1), 1) as acv_corporate
    from contract_values
),

scopes as (
    select * from core.dim_kpi_scope
),

owner_scopes as (
    select * from core.bridge_owner_scope
),

contract_periods as (
    select p.period_start, c.*
    from contract_acv as c
    inner join periods as p
        on c.start_date between p.period_start and p.effective_end
),

attributed as (
    select 'company' as scope, cast(null as varchar) as scope_id, cp.*
    from contract_periods as cp
    union all
    select os.scope, os.scope_id, cp.*
    from contract_periods as cp
    inner join owner_scopes as os on cp.owner_id = os.owner_id
),

aggregated as (
    select
        period_start,
        scope,
        scope_id,
        coalesce(sum(acv_corporate), 0) as acv_sum,
        coalesce(sum(tcv_corporate), 0) as tcv_sum,
        count(*) as contracts
    from attributed
    group by period_start, scope, scope_id
),

final as (
    select
        'annual_contract_value' as kpi,
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_partial,
        s.scope,
        s.scope_id,
        s.scope_name,
        coalesce(a.acv_sum, 0) as numerator,
        coalesce(a.contracts, 0) as denominator,
        a.acv_sum / nullif(a.contracts, 0) as value,
        'currency' as unit,
        coalesce(a.tcv_sum, 0) as total_tcv,
        case when run.has_contracts then 'contract' else 'won_opportunity' end as contract_source
    from periods as p
    cross join scopes as s
    cross join run
    left join aggregated as a
        on a.period_start = p.period_start
        and a.scope = s.scope
        and a.scope_id is not distinct from s.scope_id
    order by p.period_start, s.scope_order, s.scope_name, s.scope_id
)

select * from final
