/*
description: >
  Rows failing an error-severity data-quality rule (audit.quarantine) are left out.
  One row per (non-deleted, latest-version) Opportunity, with its money in the corporate currency. Deal state
  is the record's own IsClosed/IsWon (falling back to the stage's flags in core.dim_stage only when the record
  leaves them empty); is_lost = closed and not won. amount_corporate = Amount / the rate in force on CloseDate
  (core.dim_currency_rate: dated rate first, else static; found with an ASOF join); a record without
  CurrencyIsoCode is in the corporate currency (single-currency export); a currency with no rate gives
  amount_corporate NULL and has_currency_rate false. probability falls back to the stage's default
  probability when empty. cycle_days = CloseDate - CreatedDate (days) for closed deals, kept even when
  negative (sample data that closes before it was created; KPI models decide whether to filter).
  from_converted_lead is true when some lead's ConvertedOpportunityId is this opportunity.
unique_key: opportunity_id
columns:
  opportunity_id: "The opportunity's id."
  account_id: "Customer account."
  owner_id: "The deal owner (rep)."
  opportunity_name: "Opportunity.Name."
  type: "Opportunity.Type."
  lead_source: "Opportunity.LeadSource."
  stage_name: "Current stage."
  stage_order: "Position of the stage (core.dim_stage)."
  is_closed: "Closed (won or lost), from IsClosed."
  is_won: "Won, from IsWon."
  is_lost: "Closed and not won."
  is_open: "Not closed."
  created_date: "CreatedDate as a date."
  created_at: "CreatedDate (GMT timestamp)."
  close_date: "CloseDate."
  currency_iso_code: "The record's currency (the corporate currency when the export has none)."
  amount: "Amount in the record's currency."
  conversion_rate: "Rate used (units of the currency per corporate unit); NULL when none."
  rate_source: "'dated', 'static' or NULL."
  amount_corporate: "Amount in the corporate currency; NULL without a rate."
  has_currency_rate: "A rate was found for the record's currency on its close date."
  probability: "Probability (0-100); the stage default when empty."
  weighted_amount_corporate: "amount_corporate * probability / 100."
  expected_revenue: "ExpectedRevenue as exported (record currency)."
  forecast_category: "Forecast category as a label: Pipeline, Best Case, Commit, Closed, Omitted (the API value ForecastCategory normalized - Forecast = Commit, BestCase = Best Case - else ForecastCategoryName)."
  contract_id: "The contract the deal belongs to."
  referring_account_id: "Referring_Account__c: the account that referred the deal."
  campaign_id: "CampaignId."
  pricebook_id: "Pricebook2Id."
  from_converted_lead: "Some lead's ConvertedOpportunityId is this opportunity."
  cycle_days: "close_date - created_date in days for closed deals, else NULL."
  last_stage_change_at: "LastStageChangeDate."
  last_modified_at: "LastModifiedDate."
*/
with opportunities as (
    select * from staging.stg_opportunity
    where not exists (
        select 1 from audit.quarantine as q
        where q.object = 'Opportunity' and q.record_id = opportunity_id and q.severity = 'error'
    )
),

stages as (
    select * from core.dim_stage
),

rates as (
    select * from core.dim_currency_rate
),

run as (
    select * from core.dim_run
),

converted_opportunities as (
    select distinct converted_opportunity_id
    from staging.stg_lead
    where converted_opportunity_id is not null
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

keyed as (
    select
        opportunities.*,
        coalesce(upper(trim(opportunities.currency_iso_code)), run.corporate_currency) as currency
    from opportunities
    cross join run
),

rate_keys as (
    -- one rate lookup per distinct (currency, day), joined back with a hash join
    select distinct currency, close_date as rate_date
    from keyed
),

rate_lookup as (
    select
        rate_keys.currency,
        rate_keys.rate_date,
        case when dated_rates.valid_to is null or rate_keys.rate_date < dated_rates.valid_to
             then dated_rates.conversion_rate end                      as dated_rate,
        static_rates.conversion_rate                                    as static_rate
    from rate_keys
    asof left join dated_rates
        on dated_rates.iso_code = rate_keys.currency
        and rate_keys.rate_date >= dated_rates.valid_from
    left join static_rates on static_rates.iso_code = rate_keys.currency
),

with_rate as (
    select
        keyed.*,
        coalesce(rate_lookup.dated_rate, rate_lookup.static_rate)       as rate,
        case when rate_lookup.dated_rate is not null then 'dated'
             when rate_lookup.static_rate is not null then 'static' end as rate_source
    from keyed
    left join rate_lookup
        on rate_lookup.currency = keyed.currency
        and rate_lookup.rate_date is not distinct from keyed.close_date
),

final as (
    select
        with_rate.opportunity_id,
        with_rate.account_id,
        with_rate.owner_id,
        with_rate.name                                                          as opportunity_name,
        with_rate.type,
        with_rate.lead_source,
        with_rate.stage_name,
        stages.stage_order,
        coalesce(with_rate.is_closed, stages.is_closed, false) or coalesce(with_rate.is_won, false) as is_closed,
        coalesce(with_rate.is_won, stages.is_won, false)                        as is_won,
        (coalesce(with_rate.is_closed, stages.is_closed, false) or coalesce(with_rate.is_won, false))
            and not coalesce(with_rate.is_won, stages.is_won, false)            as is_lost,
        not (coalesce(with_rate.is_closed, stages.is_closed, false) or coalesce(with_rate.is_won, false)) as is_open,
        cast(with_rate.created_date as date)                                    as created_date,
        with_rate.created_date                                                  as created_at,
        with_rate.close_date,
        with_rate.currency                                                      as currency_iso_code,
        with_rate.amount,
        with_rate.rate                                                          as conversion_rate,
        with_rate.rate_source,
        with_rate.amount / nullif(with_rate.rate, 0)                                       as amount_corporate,
        with_rate.rate is not null                                              as has_currency_rate,
        coalesce(with_rate.probability, stages.default_probability)             as probability,
        with_rate.amount / nullif(with_rate.rate, 0)
            * coalesce(with_rate.probability, stages.default_probability) / 100 as weighted_amount_corporate,
        with_rate.expected_revenue,
        case lower(replace(coalesce(with_rate.forecast_category, with_rate.forecast_category_name), ' ', ''))
             when 'forecast' then 'Commit'
             when 'commit' then 'Commit'
             when 'bestcase' then 'Best Case'
             when 'pipeline' then 'Pipeline'
             when 'closed' then 'Closed'
             when 'omitted' then 'Omitted'
             else coalesce(with_rate.forecast_category_name, with_rate.forecast_category)
        end                                                                     as forecast_category,
        with_rate.contract_id,
        with_rate.referring_account                                             as referring_account_id,
        with_rate.campaign_id,
        with_rate.pricebook2_id                                                 as pricebook_id,
        converted_opportunities.converted_opportunity_id is not null            as from_converted_lead,
        case when coalesce(with_rate.is_closed, stages.is_closed, false) or coalesce(with_rate.is_won, false)
             then cast(date_diff('day', cast(with_rate.created_date as date), with_rate.close_date) as integer)
        end                                                                     as cycle_days,
        with_rate.last_stage_change_date                                        as last_stage_change_at,
        with_rate.last_modified_date                                            as last_modified_at
    from with_rate
    left join stages on stages.stage_name = with_rate.stage_name
    left join converted_opportunities
        on converted_opportunities.converted_opportunity_id = with_rate.opportunity_id
)

select * from final
