/*
description: >
  One row per OpportunityHistory Id: the latest version across every loaded export (newest SystemModstamp, then latest load, then last row of the file), with deleted records (IsDeleted) dropped after the latest version is chosen, so a deletion in a newer export hides older versions. Rows without an Id are dropped. Every contract field renamed to snake_case and cast with the contract type; Id becomes opportunity_history_id. No joins. One row per change of a deal's stage, amount, probability or close date, written by Salesforce. It rebuilds the pipeline as it stood at the start of a period (the forecast on the State of the Union dashboard) and the days each deal spent in each stage (the stage-analysis funnel).
columns:
  opportunity_history_id: "The history row's 18-character Salesforce id."
  opportunity_id: "The deal this change belongs to."
  created_by_id: "The user who made the change."
  created_date: "When the change was made (GMT); the moment the deal entered this state."
  stage_name: "The deal's stage after the change."
  amount: "The deal's amount after the change."
  expected_revenue: "Amount times probability after the change."
  close_date: "The deal's expected close date after the change."
  probability: "The deal's probability (0-100) after the change; weights the forecast."
  forecast_category: "The deal's forecast category after the change (Forecast = Commit)."
  system_modstamp: "Last system change (GMT); the newer version wins across exports."
  is_deleted: "The row is deleted; deleted rows are ignored."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with latest as (
    -- the newest version of each record: ranked on the row ids alone, then read whole (ranking whole
    -- rows sorted and spilled every column: Task at enterprise scale took 257 s instead of 121 s)
    select *
    from raw.opportunity_history
    where rowid in (
        select rowid
        from raw.opportunity_history
        where sf_id("Id") is not null and not coalesce(_duplicate_id, false)
        qualify row_number() over (
            partition by sf_id("Id")
            order by sf_timestamp("SystemModstamp", _date_order) desc nulls last, _loaded_at desc, _row_number desc
        ) = 1
    )
),

final as (
    select
        sf_id("Id")                    as opportunity_history_id,
        sf_id("OpportunityId")         as opportunity_id,
        sf_id("CreatedById")           as created_by_id,
        sf_timestamp("CreatedDate", _date_order)    as created_date,
        sf_text("StageName")           as stage_name,
        sf_number("Amount")            as amount,
        sf_number("ExpectedRevenue")   as expected_revenue,
        sf_date("CloseDate", _date_order)           as close_date,
        sf_number("Probability")       as probability,
        sf_text("ForecastCategory")    as forecast_category,
        sf_timestamp("SystemModstamp", _date_order) as system_modstamp,
        sf_bool("IsDeleted")           as is_deleted,
        _export_id,
        _loaded_at
    from latest
    where not sf_deleted("IsDeleted", _connector_deleted)
)

select * from final
