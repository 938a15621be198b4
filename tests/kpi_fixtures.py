"""Hand-built core tables for the KPI tests.

The KPI models read only core.*; these are the core tables of the interface
(/tmp/brief/core_interface.md), created by hand with exactly the interface's
columns, so the KPI tests do not depend on the staging/core SQL models.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipeline.sql_models import parse_model

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

CORE_TABLES: dict[str, str] = {
    "dim_run": """
        as_of_date date, fiscal_year_start_month integer, corporate_currency varchar,
        customer_window_days integer, referral_sources varchar[], closed_lead_statuses varchar[],
        team_source varchar, referral_credit varchar, on_track_attainment double,
        at_risk_attainment double, has_contracts boolean, has_users boolean,
        has_hire_dates boolean, has_tasks boolean, has_events boolean, first_data_date date""",
    "dim_period": """
        period_type varchar, period_start date, period_end date, period_label varchar,
        is_partial boolean, effective_end date""",
    "dim_rep": """
        user_id varchar, rep_name varchar, email varchar, user_type varchar, is_active boolean,
        is_rep boolean, manager_id varchar, role_id varchar, role_name varchar, team_id varchar,
        team_name varchar, region varchar, hire_date date, termination_date date,
        hire_date_source varchar""",
    "dim_account": """
        account_id varchar, account_name varchar, account_type varchar, industry varchar,
        billing_country varchar, owner_id varchar, created_date date""",
    "fct_opportunity": """
        opportunity_id varchar, account_id varchar, owner_id varchar, opportunity_name varchar,
        type varchar, lead_source varchar, stage_name varchar, stage_order integer,
        is_closed boolean, is_won boolean, is_lost boolean, created_date date,
        created_at timestamp, close_date date, currency_iso_code varchar, amount double,
        amount_corporate double, has_currency_rate boolean, probability double,
        weighted_amount_corporate double, forecast_category varchar, contract_id varchar,
        referring_account_id varchar, campaign_id varchar, from_converted_lead boolean,
        cycle_days integer""",
    "fct_lead": """
        lead_id varchar, owner_id varchar, lead_source varchar, status varchar,
        created_date date, last_modified_date date, is_converted boolean, converted_date date,
        converted_opportunity_id varchar, converted_account_id varchar,
        is_closed_status boolean, pipeline_start date, pipeline_end date, is_active boolean,
        is_referral boolean, referring_account_id varchar""",
    "fct_contract": """
        contract_id varchar, account_id varchar, owner_id varchar, status_code varchar,
        is_activated boolean, start_date date, end_date date, term_months integer,
        term_years double, tcv_corporate double, acv_corporate double, source varchar""",
    "fct_activity": """
        activity_id varchar, source varchar, activity_type varchar, owner_id varchar,
        who_id varchar, who_type varchar, what_id varchar, account_id varchar, subject varchar,
        status varchar, is_completed boolean, is_overdue boolean, activity_date date,
        contact_at timestamp, created_at timestamp""",
    "fct_customer_span": "account_id varchar, active_from date, active_to date",
    "fct_kpi_target": """
        kpi varchar, period_type varchar, period_start date, period_end date, scope varchar,
        scope_id varchar, target_value double""",
}

KPI_NAMES = (
    "annual_contract_value", "customer_lifetime_value", "new_leads", "lead_age",
    "conversion_rate", "employee_retention", "ramp_time", "referrals", "customer_retention",
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def periods(first: str, as_of: str, fiscal_start_month: int = 1) -> list[dict]:
    """dim_period rows as the interface describes them: every fiscal year and quarter
    from the one holding `first` through the one holding `as_of`."""
    first_d, as_of_d = d(first), d(as_of)
    start = dt.date(first_d.year, fiscal_start_month, 1)
    if start > first_d:
        start = dt.date(first_d.year - 1, fiscal_start_month, 1)
    rows = []
    year_start = start
    while year_start <= as_of_d:
        year_end = _add_months(year_start, 12) - dt.timedelta(days=1)
        fy = year_end.year
        rows.append(dict(period_type="year", period_start=year_start, period_end=year_end,
                         period_label=f"FY{fy}", is_partial=year_end > as_of_d,
                         effective_end=min(year_end, as_of_d)))
        for q in range(4):
            qs = _add_months(year_start, 3 * q)
            qe = _add_months(qs, 3) - dt.timedelta(days=1)
            if qs > as_of_d:
                break
            rows.append(dict(period_type="quarter", period_start=qs, period_end=qe,
                             period_label=f"FY{fy}-Q{q + 1}", is_partial=qe > as_of_d,
                             effective_end=min(qe, as_of_d)))
        year_start = _add_months(year_start, 12)
    return rows


def insert(con, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"insert into core.{table} ({cols}) values ({marks})", list(row.values()))


def core_db(as_of: str, first: str, fiscal_start_month: int = 1, insert_periods: bool = True,
            **run) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with empty core tables, dim_run filled (defaults of the
    settings, overridable) and, unless told otherwise, dim_period generated."""
    con = duckdb.connect(":memory:")
    for schema in ("core", "kpi", "marts"):
        con.execute(f"create schema {schema}")
    for table, columns in CORE_TABLES.items():
        con.execute(f"create table core.{table} ({columns})")
    run_row = dict(
        as_of_date=d(as_of), fiscal_year_start_month=fiscal_start_month, corporate_currency="USD",
        customer_window_days=365, referral_sources=["%referral%", "word of mouth"],
        closed_lead_statuses=["%closed%", "%unqualified%", "%disqualified%", "%converted%"],
        team_source="manager", referral_credit="referring_account", on_track_attainment=1.0,
        at_risk_attainment=0.9, has_contracts=True, has_users=True, has_hire_dates=True,
        has_tasks=True, has_events=True, first_data_date=d(first),
    )
    run_row.update(run)
    insert(con, "dim_run", [run_row])
    if insert_periods:
        insert(con, "dim_period", periods(first, as_of, fiscal_start_month))
    return con


def rep(user_id: str, name: str, team_id: str | None = "M1", team_name: str | None = "Team M1",
        is_rep: bool = True, hire_date=None, termination_date=None) -> dict:
    return dict(user_id=user_id, rep_name=name, user_type="Standard", is_active=True, is_rep=is_rep,
                manager_id=team_id, team_id=team_id, team_name=team_name,
                hire_date=d(hire_date) if hire_date else None,
                termination_date=d(termination_date) if termination_date else None,
                hire_date_source="hr_file" if hire_date else None)


SCOPE_MODELS = ("dim_kpi_scope", "bridge_owner_scope")  # core models over dim_rep that every KPI reads


def run_kpi(con, name: str, layer: str = "kpi") -> None:
    if layer == "kpi":  # the real core SQL, over this fixture's dim_rep
        for scope_model in SCOPE_MODELS:
            con.execute(parse_model(SQL_DIR / "core" / f"{scope_model}.sql", SQL_DIR).create_statement())
    model = parse_model(SQL_DIR / layer / f"{name}.sql", SQL_DIR)
    con.execute(model.create_statement())


def rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def one(con, table: str, period_start: str, scope: str = "company", scope_id: str | None = None,
        period_type: str | None = None) -> dict:
    """The single row of a KPI table for one period and scope (fails unless exactly one)."""
    sql = (f"select * from {table} where period_start = ? and scope = ? "
           "and scope_id is not distinct from ?")
    params = [d(period_start), scope, scope_id]
    if period_type:
        sql += " and period_type = ?"
        params.append(period_type)
    found = rows(con, sql, params)
    assert len(found) == 1, f"{table} {period_type} {period_start} {scope} {scope_id}: {len(found)} rows"
    return found[0]
