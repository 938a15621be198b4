/*
description: >
  Rows failing an error-severity data-quality rule (audit.quarantine) are left out.
  One row per (non-deleted, latest-version) OpportunityHistory row of an opportunity that exists in
  core.fct_opportunity (history of deleted or missing opportunities is dropped). Each row is a version of
  the deal valid from its CreatedDate until the next row's CreatedDate for the same opportunity (rows ordered
  by CreatedDate, SystemModstamp, Id; NULL valid_to for the last). Stage flags and order come from
  core.dim_stage (history rows carry no IsClosed/IsWon). Amount is in the opportunity's currency and is
  converted at the rate in force on the row's CloseDate (else on its CreatedDate), like fct_opportunity (one
  rate lookup per distinct currency and day). ForecastCategory is normalized to labels (Forecast = Commit,
  BestCase = Best Case). An opportunity's rows derive only from its own history rows and its own
  core.fct_opportunity row, so the nightly run merges the table: the opportunities whose row changed, or
  whose history rows (or their quarantine verdicts) changed, are re-derived, the rest left alone.
incremental:
  unique_key: opportunity_id
  record_key: opportunity_history_id
  keyed_inputs: [staging.stg_opportunity_history, core.fct_opportunity, audit.quarantine]
columns:
  opportunity_history_id: "The history row's id."
  opportunity_id: "The opportunity."
  history_seq: "1..n order of the rows of one opportunity."
  valid_from: "CreatedDate of the row: when this version started."
  valid_to: "CreatedDate of the next row of the opportunity; NULL for the last."
  stage_name: "Stage of this version."
  stage_order: "Stage position (core.dim_stage)."
  amount: "Amount in the opportunity's currency."
  currency_iso_code: "The opportunity's currency."
  amount_corporate: "Amount in the corporate currency; NULL without a rate."
  has_currency_rate: "A rate was found."
  probability: "Probability of this version (0-100)."
  weighted_amount_corporate: "amount_corporate * probability / 100."
  close_date: "Expected close date of this version."
  forecast_category: "Forecast category label of this version."
  is_closed: "The stage is closed (core.dim_stage)."
  is_won: "The stage is won (core.dim_stage)."
  is_lost: "The stage is lost."
  owner_id: "Current owner of the opportunity (history does not record the owner)."
*/
with history as (
    select * from staging.stg_opportunity_history
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'OpportunityHistory' and q.record_id = opportunity_history_id and q.severity = 'error'
    )
),

opportunities as (
    select * from core.fct_opportunity
),

stages as (
    select * from core.dim_stage
),

rates as (
    select * from core.dim_currency_rate
),

dated_rates as (
    select iso_code, valid_from, valid_to, conversion_rate
    from rates
    where source = 'dated'
),

static_rates as (
    select iso_code, conversion_rate
    from rates
    where source = 'static'
),

sequenced as (
    select
        history.opportunity_history_id,
        history.opportunity_id,
        history.created_date,
        history.stage_name,
        history.amount,
        history.probability,
        history.close_date,
        history.forecast_category,
        opportunities.currency_iso_code as currency,
        opportunities.owner_id,
        coalesce(history.close_date, cast(history.created_date as date)) as rate_date,
        row_number() over by_opportunity as history_seq,
        lead(history.created_date) over by_opportunity as next_created_date
    from history
    inner join opportunities on opportunities.opportunity_id = history.opportunity_id
    window by_opportunity as (
        partition by history.opportunity_id
        order by history.created_date nulls last, history.system_modstamp, history.opportunity_history_id
    )
),

rate_keys as (
    select distinct currency, rate_date
    from sequenced
),

rate_lookup as (
    select
        rate_keys.currency,
        rate_keys.rate_date,
        coalesce(
            case when dated_rates.valid_to is null or rate_keys.rate_date < dated_rates.valid_to
                 then dated_rates.conversion_rate end,
            static_rates.conversion_rate
        ) as rate
    from rate_keys
    asof left join dated_rates
        on dated_rates.iso_code = rate_keys.currency
        and rate_keys.rate_date >= dated_rates.valid_from
    left join static_rates on static_rates.iso_code = rate_keys.currency
),

final as (
    select
        sequenced.opportunity_history_id,
        sequenced.opportunity_id,
        sequenced.history_seq,
        sequenced.created_date                                      as valid_from,
        sequenced.next_created_date                                 as valid_to,
        sequenced.stage_name,
        stages.stage_order,
        sequenced.amount,
        sequenced.currency                                          as currency_iso_code,
        sequenced.amount / nullif(rate_lookup.rate, 0)                         as amount_corporate,
        rate_lookup.rate is not null                                as has_currency_rate,
        sequenced.probability,
        sequenced.amount / nullif(rate_lookup.rate, 0) * sequenced.probability / 100 as weighted_amount_corporate,
        sequenced.close_date,
        case lower(replace(sequenced.forecast_category, ' ', ''))
             when 'forecast' then 'Commit'
             when 'commit' then 'Commit'
             when 'bestcase' then 'Best Case'
             when 'pipeline' then 'Pipeline'
             when 'closed' then 'Closed'
             when 'omitted' then 'Omitted'
             else sequenced.forecast_category
        end                                                         as forecast_category,
        coalesce(stages.is_closed, false)                           as is_closed,
        coalesce(stages.is_won, false)                              as is_won,
        coalesce(stages.is_lost, false)                             as is_lost,
        sequenced.owner_id
    from sequenced
    left join rate_lookup
        on rate_lookup.currency = sequenced.currency
        and rate_lookup.rate_date is not distinct from sequenced.rate_date
    left join stages on stages.stage_name = sequenced.stage_name
)

select * from final
