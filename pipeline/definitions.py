"""The Dagster code location: every asset, check, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from assets.checks import build_checks
from assets.dashboards import dashboard_pages
from assets.extract import extract_assets
from assets.models import model_asset
from assets.publish import publish_asset
from assets.quarantine import quarantine_asset
from assets.run_settings import run_settings
from pipeline.contracts import load_contracts
from pipeline.resources import ExportSource, KpiSettings
from pipeline.schedules import export_sensor, nightly_schedule
from pipeline.sql_models import load_models
from pipeline.warehouse import Warehouse

# Tables written by Python assets rather than SQL models: the extract assets' raw
# tables, the run settings, and the data-quality quarantine (which core facts read).
RAW_TABLES = frozenset(
    {("raw", c.table) for c in load_contracts().values()} | {("raw", "run_settings"), ("audit", "quarantine")}
)


def build_definitions() -> dg.Definitions:
    models = load_models(external_tables=RAW_TABLES)
    quarantine = quarantine_asset(models)
    build_assets = [*extract_assets(), run_settings, *(model_asset(m) for m in models),
                    *([quarantine] if quarantine else [])]
    build_assets.append(dashboard_pages)  # the HTML pages, rendered from the marts before publish
    upstream = [key for a in build_assets for key in a.keys]
    nightly = dg.define_asset_job(
        "nightly",
        selection=dg.AssetSelection.all(),
        description="Load the export, rebuild every model, KPI and mart, run the checks, publish.",
    )
    return dg.Definitions(
        assets=[*build_assets, publish_asset(upstream)],
        asset_checks=build_checks(models, set(upstream)),
        jobs=[nightly],
        schedules=[nightly_schedule(nightly)],
        sensors=[export_sensor(nightly)],
        resources={"warehouse": Warehouse(), "export": ExportSource(), "kpi_settings": KpiSettings()},
        # The multiprocess executor costs ~2.5 s a step and every step shares one DuckDB writer.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
