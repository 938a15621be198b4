"""The run's KPI settings as a one-row table, so SQL models can read them."""


import dagster as dg

from pipeline import layout
from pipeline.incremental import touch
from pipeline.quality import table_exists
from pipeline.resources import KpiSettings
from pipeline.warehouse import Warehouse

COLUMNS = {
    "as_of_date": "date",
    "fiscal_year_start_month": "integer",
    "corporate_currency": "varchar",
    "referral_sources": "varchar[]",
    "closed_lead_statuses": "varchar[]",
    "call_subject_patterns": "varchar[]",
    "email_subject_patterns": "varchar[]",
    "customer_window_days": "integer",
    "team_source": "varchar",
    "referral_credit": "varchar",
    "on_track_attainment": "double",
    "at_risk_attainment": "double",
}


def write_settings(con, settings: KpiSettings) -> None:
    if not 1 <= settings.fiscal_year_start_month <= 12:
        raise ValueError(f"fiscal_year_start_month must be 1-12, got {settings.fiscal_year_start_month}")
    con.execute("create or replace table raw.run_settings (" + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
    con.execute(
        f"insert into raw.run_settings values ({', '.join('?' for _ in COLUMNS)})",
        [getattr(settings, c) for c in COLUMNS],
    )


@dg.asset(
    key=layout.asset_key("raw", "run_settings"),
    group_name=layout.group("raw"),
    kinds={"duckdb", "python"},
    owners=[layout.OWNER],
    description="This run's KPI settings (as-of date override, fiscal year start month, reporting currency, "
    "referral sources, closed lead statuses, call and email subject patterns, customer activity window, team source, scorecard thresholds), "
    "from the KpiSettings resource (environment variables KPI_* or run config). One row.",
)
def run_settings(warehouse: Warehouse, kpi_settings: KpiSettings) -> dg.MaterializeResult:
    con = warehouse.connect()
    exists = table_exists(con, "raw", "run_settings")
    before = con.execute("select * from raw.run_settings").fetchall() if exists else None
    write_settings(con, kpi_settings)
    touch(con, "raw.run_settings", warehouse.run_id, changed=before != con.execute("select * from raw.run_settings").fetchall())
    return dg.MaterializeResult(metadata={c: str(getattr(kpi_settings, c)) for c in COLUMNS})
