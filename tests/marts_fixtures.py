"""A tiny hand-built warehouse for the mart and dashboard tests.

The marts read core, kpi and marts tables. These are created here by hand with the
columns of the core interface (/tmp/brief/core_interface.md) and of the KPI tables, and
filled with a small story whose numbers are worked out in tests/test_marts.py. Nothing
here runs the staging/core/kpi models, so the mart tests do not depend on them.

The story: as-of date Wednesday 2024-05-15, calendar fiscal years (FY2024 =
2024-01-01..2024-12-31, Q2 partial), first data 2023-10-01. Reps Ann (U1, team M1,
EMEA), Bob (U2, team M1, NA), Cid (U3, team M2, NA), Dee (U4, team M2, no region); an
integration user (API) is not a rep.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipeline.sql_models import parse_model

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# The marts of the dashboards, in dependency order (kpi_scorecard is the kpi helper's and
# is hand-made here).
MARTS = (
    "mart_sotu_scorecard",
    "mart_sotu_notable_deals",
    "mart_sotu_top_reps",
    "mart_sotu_forecast",
    "mart_pipeline_by_rep",
    "mart_activities_by_rep",
    "mart_business_performance",
    "mart_stage_funnel",
    "mart_leaderboard_reps",
    "mart_leaderboard_teams",
)

TABLES: dict[str, str] = {
    "core.dim_run": """
        as_of_date date, fiscal_year_start_month integer, corporate_currency varchar,
        customer_window_days integer, referral_sources varchar[], closed_lead_statuses varchar[],
        team_source varchar, referral_credit varchar, on_track_attainment double,
        at_risk_attainment double, has_contracts boolean, has_users boolean,
        has_hire_dates boolean, has_tasks boolean, has_events boolean, first_data_date date""",
    "core.dim_period": """
        period_type varchar, period_start date, period_end date, period_label varchar,
        is_partial boolean, effective_end date""",
    "core.dim_rep": """
        user_id varchar, rep_name varchar, email varchar, user_type varchar, is_active boolean,
        is_rep boolean, manager_id varchar, role_id varchar, role_name varchar, team_id varchar,
        team_name varchar, region varchar, hire_date date, termination_date date,
        hire_date_source varchar""",
    "core.dim_account": """
        account_id varchar, account_name varchar, account_type varchar, industry varchar,
        billing_country varchar, owner_id varchar, created_date date""",
    "core.dim_stage": """
        stage_name varchar, stage_order integer, is_closed boolean, is_won boolean, is_lost boolean,
        forecast_category varchar, default_probability double""",
    "core.fct_opportunity": """
        opportunity_id varchar, account_id varchar, owner_id varchar, opportunity_name varchar,
        type varchar, lead_source varchar, stage_name varchar, stage_order integer,
        is_closed boolean, is_won boolean, is_lost boolean, created_date date,
        created_at timestamp, close_date date, currency_iso_code varchar, amount double,
        amount_corporate double, has_currency_rate boolean, probability double,
        weighted_amount_corporate double, forecast_category varchar, contract_id varchar,
        referring_account_id varchar, campaign_id varchar, from_converted_lead boolean,
        cycle_days integer""",
    "core.fct_opportunity_history": """
        opportunity_id varchar, valid_from timestamp, valid_to timestamp, stage_name varchar,
        stage_order integer, amount_corporate double, probability double, close_date date,
        forecast_category varchar, is_closed boolean, is_won boolean""",
    "core.fct_opportunity_stage_change": """
        opportunity_id varchar, stage_name varchar, stage_order integer, entered_at timestamp,
        exited_at timestamp, next_stage_name varchar, next_stage_order integer,
        days_in_stage double, is_current boolean, outcome varchar""",
    "core.fct_lead": """
        lead_id varchar, owner_id varchar, lead_source varchar, status varchar,
        created_date date, last_modified_date date, is_converted boolean, converted_date date,
        converted_opportunity_id varchar, converted_account_id varchar,
        is_closed_status boolean, pipeline_start date, pipeline_end date, is_active boolean,
        is_referral boolean, referring_account_id varchar""",
    "core.fct_activity": """
        activity_id varchar, source varchar, activity_type varchar, owner_id varchar,
        who_id varchar, who_type varchar, what_id varchar, account_id varchar, subject varchar,
        status varchar, is_completed boolean, is_overdue boolean, activity_date date,
        contact_at timestamp, created_at timestamp""",
    "core.fct_quota": "owner_id varchar, period_start date, quota_amount_corporate double",
    "core.fct_opportunity_line_item": """
        opportunity_line_item_id varchar, opportunity_id varchar, product_id varchar, product_name varchar,
        product_family varchar, quantity double, total_price double, total_price_corporate double""",
    "core.fct_kpi_target": """
        kpi varchar, period_type varchar, period_start date, period_end date, scope varchar,
        scope_id varchar, target_value double""",
    "kpi.conversion_rate": """
        kpi varchar, period_type varchar, period_start date, period_end date, is_partial boolean,
        scope varchar, scope_id varchar, scope_name varchar, numerator double, denominator double,
        value double, unit varchar, lead_conversion_pct double, win_rate_pct double""",
    "marts.kpi_scorecard": """
        kpi varchar, period_type varchar, period_start date, period_end date, is_partial boolean,
        scope varchar, scope_id varchar, scope_name varchar, numerator double, denominator double,
        value double, unit varchar, target_period_type varchar, target_period_start date,
        target_value double, attainment double, direction varchar, status varchar""",
}

AS_OF = dt.date(2024, 5, 15)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def empty_warehouse(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    for schema in ("core", "kpi", "marts"):
        con.execute(f"create schema if not exists {schema}")
    for table, columns in TABLES.items():
        con.execute(f"create table {table} ({columns})")
    return con


def insert(con, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = ", ".join(row)
        con.execute(f"insert into {table} ({cols}) values ({', '.join('?' for _ in row)})", list(row.values()))


def rows(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def run_mart(con, name: str) -> None:
    con.execute(parse_model(SQL_DIR / "marts" / f"{name}.sql", SQL_DIR).create_statement())


def run_marts(con) -> None:
    for name in MARTS:
        run_mart(con, name)


def periods() -> list[dict]:
    """FY2023-Q4 .. FY2024-Q2 and the two fiscal years, as core.dim_period holds them."""
    def period(kind, start, end, label):
        s, e = d(start), d(end)
        return dict(period_type=kind, period_start=s, period_end=e, period_label=label,
                    is_partial=e > AS_OF, effective_end=min(e, AS_OF))
    return [
        period("year", "2023-01-01", "2023-12-31", "FY2023"),
        period("quarter", "2023-10-01", "2023-12-31", "FY2023-Q4"),
        period("year", "2024-01-01", "2024-12-31", "FY2024"),
        period("quarter", "2024-01-01", "2024-03-31", "FY2024-Q1"),
        period("quarter", "2024-04-01", "2024-06-30", "FY2024-Q2"),
    ]


def rep(user_id, name, team_id, team_name, region, is_rep=True):
    return dict(user_id=user_id, rep_name=name, email=f"{name.lower()}@example.com", user_type="Standard",
                is_active=True, is_rep=is_rep, manager_id=team_id, team_id=team_id, team_name=team_name,
                region=region)


def opp(opportunity_id, owner_id, account_id, stage, created, close, amount, probability, won=None,
        forecast="Pipeline"):
    """won: True (Closed Won), False (Closed Lost), None (open)."""
    closed = won is not None
    cycle = (d(close) - d(created)).days if closed else None
    return dict(opportunity_id=opportunity_id, owner_id=owner_id, account_id=account_id,
                opportunity_name=f"Deal {opportunity_id}", stage_name=stage, is_closed=closed,
                is_won=bool(won), is_lost=closed and not won, created_date=d(created),
                created_at=ts(created + " 09:00:00"), close_date=d(close), currency_iso_code="USD",
                amount=amount, amount_corporate=amount, has_currency_rate=True, probability=probability,
                weighted_amount_corporate=amount * probability / 100, forecast_category=forecast,
                cycle_days=cycle)


def hist(opportunity_id, valid_from, valid_to, stage, amount, probability, close, forecast):
    closed = stage.startswith("Closed")
    return dict(opportunity_id=opportunity_id, valid_from=ts(valid_from),
                valid_to=ts(valid_to) if valid_to else None, stage_name=stage, amount_corporate=amount,
                probability=probability, close_date=d(close), forecast_category=forecast, is_closed=closed,
                is_won=stage == "Closed Won")


def visit(opportunity_id, stage, days_in_stage, outcome, current=False):
    return dict(opportunity_id=opportunity_id, stage_name=stage, days_in_stage=days_in_stage,
                outcome=outcome, is_current=current)


def activity(activity_id, owner_id, kind, day, completed, overdue=False, source="task", created=None):
    return dict(activity_id=activity_id, source=source, activity_type=kind, owner_id=owner_id,
                who_id="00Q000000000001AAA", who_type="lead", is_completed=completed, is_overdue=overdue,
                activity_date=d(day) if day else None, contact_at=None,
                created_at=ts(created) if created else ts("2024-01-01 08:00:00"))


def scorecard(kpi, period_type, start, end, value, unit, numerator=None, denominator=1.0, target=None,
              attainment=None, status="no_target", direction="higher_is_better"):
    return dict(kpi=kpi, period_type=period_type, period_start=d(start), period_end=d(end),
                is_partial=d(end) > AS_OF, scope="company", scope_id=None, scope_name="Company",
                numerator=value if numerator is None else numerator, denominator=denominator, value=value,
                unit=unit, target_value=target, attainment=attainment, direction=direction, status=status)


def story_warehouse(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = empty_warehouse(path)
    insert(con, "core.dim_run", [dict(
        as_of_date=AS_OF, fiscal_year_start_month=1, corporate_currency="USD", customer_window_days=365,
        team_source="manager", referral_credit="referring_account", on_track_attainment=1.0,
        at_risk_attainment=0.9, has_contracts=False, has_users=True, has_hire_dates=False, has_tasks=True,
        has_events=True, first_data_date=d("2023-10-01"))])
    insert(con, "core.dim_period", periods())
    insert(con, "core.dim_rep", [
        rep("U1", "Ann", "M1", "Team Mia", "EMEA"),
        rep("U2", "Bob", "M1", "Team Mia", "NA"),
        rep("U3", "Cid", "M2", "Team Max", "NA"),
        rep("U4", "Dee", "M2", "Team Max", None),
        rep("API", "Integration", None, None, None, is_rep=False),
    ])
    insert(con, "core.dim_account", [
        dict(account_id="A1", account_name="Acme Oil", industry="Energy", billing_country="US"),
        dict(account_id="A2", account_name="Bolt Retail", industry="Retail", billing_country="DE"),
        dict(account_id="A3", account_name="Cobalt", industry=None, billing_country=None),
    ])
    insert(con, "core.dim_stage", [
        dict(stage_name="Prospecting", stage_order=1, is_closed=False, is_won=False, is_lost=False,
             forecast_category="Pipeline", default_probability=10),
        dict(stage_name="Qualification", stage_order=2, is_closed=False, is_won=False, is_lost=False,
             forecast_category="Pipeline", default_probability=20),
        dict(stage_name="Proposal", stage_order=3, is_closed=False, is_won=False, is_lost=False,
             forecast_category="Best Case", default_probability=50),
        dict(stage_name="Negotiation", stage_order=4, is_closed=False, is_won=False, is_lost=False,
             forecast_category="Commit", default_probability=80),
        dict(stage_name="Closed Won", stage_order=5, is_closed=True, is_won=True, is_lost=False,
             forecast_category="Closed", default_probability=100),
        dict(stage_name="Closed Lost", stage_order=6, is_closed=True, is_won=False, is_lost=True,
             forecast_category="Omitted", default_probability=0),
    ])
    insert(con, "core.fct_opportunity", [
        opp("O1", "U1", "A1", "Closed Won", "2024-01-10", "2024-02-09", 1000, 100, won=True, forecast="Closed"),
        opp("O2", "U1", "A2", "Closed Won", "2024-03-01", "2024-04-10", 3000, 100, won=True, forecast="Closed"),
        opp("O3", "U2", "A1", "Closed Lost", "2024-01-05", "2024-02-20", 500, 0, won=False, forecast="Omitted"),
        opp("O4", "U2", "A3", "Negotiation", "2024-02-01", "2024-06-15", 2000, 80, forecast="Commit"),
        opp("O5", "U3", "A3", "Proposal", "2024-04-20", "2024-05-30", 4000, 50),
        opp("O6", "U3", "A2", "Closed Won", "2023-11-01", "2024-05-02", 3000, 100, won=True, forecast="Closed"),
        opp("O7", "U1", "A1", "Prospecting", "2024-05-01", "2025-01-15", 9000, 10),
        opp("O8", "U2", "A1", "Proposal", "2024-01-20", "2024-03-31", 700, 50),
        opp("O9", "U4", "A3", "Prospecting", "2024-03-10", "2024-07-31", 100, 20),  # no history rows
    ])
    insert(con, "core.fct_opportunity_history", [
        hist("O1", "2024-01-10 09:00:00", "2024-02-09 15:00:00", "Proposal", 1000, 50, "2024-02-28", "Best Case"),
        hist("O1", "2024-02-09 15:00:00", None, "Closed Won", 1000, 100, "2024-02-09", "Closed"),
        hist("O2", "2024-03-01 08:00:00", "2024-04-10 12:00:00", "Proposal", 3000, 60, "2024-04-30", "Best Case"),
        hist("O2", "2024-04-10 12:00:00", None, "Closed Won", 3000, 100, "2024-04-10", "Closed"),
        hist("O3", "2024-01-05 09:00:00", "2024-02-20 10:00:00", "Prospecting", 500, 10, "2024-02-20", "Pipeline"),
        hist("O3", "2024-02-20 10:00:00", None, "Closed Lost", 500, 0, "2024-02-20", "Omitted"),
        # the second version starts exactly at 00:00 of Q2's first day: it is the one in force then
        hist("O4", "2024-02-01 09:00:00", "2024-04-01 00:00:00", "Proposal", 2000, 50, "2024-06-15", "Pipeline"),
        hist("O4", "2024-04-01 00:00:00", None, "Negotiation", 2000, 80, "2024-06-15", "Commit"),
        hist("O5", "2024-04-20 09:00:00", None, "Proposal", 4000, 50, "2024-05-30", "Pipeline"),
        hist("O6", "2023-11-01 09:00:00", "2024-04-20 09:00:00", "Negotiation", 2500, 80, "2024-03-31", "Commit"),
        hist("O6", "2024-04-20 09:00:00", "2024-05-02 09:00:00", "Negotiation", 3000, 90, "2024-05-02", "Commit"),
        hist("O6", "2024-05-02 09:00:00", None, "Closed Won", 3000, 100, "2024-05-02", "Closed"),
        hist("O7", "2024-05-01 10:00:00", None, "Prospecting", 9000, 10, "2025-01-15", "Pipeline"),
        hist("O8", "2024-01-20 09:00:00", None, "Proposal", 700, 50, "2024-03-31", "Pipeline"),
    ])
    insert(con, "core.fct_opportunity_stage_change", [
        visit("O1", "Proposal", 30, "won"), visit("O1", "Closed Won", 96, "won", current=True),
        visit("O2", "Proposal", 40, "won"), visit("O2", "Closed Won", 35, "won", current=True),
        visit("O3", "Prospecting", 10, "advanced"), visit("O3", "Proposal", 36, "lost"),
        visit("O3", "Closed Lost", 85, "lost", current=True),
        visit("O4", "Proposal", 60, "advanced"), visit("O4", "Negotiation", 45, "open", current=True),
        visit("O5", "Proposal", 25, "open", current=True),
        visit("O6", "Negotiation", 100, "moved_back"), visit("O6", "Proposal", 12, "advanced"),
        visit("O6", "Negotiation", 10, "won"), visit("O6", "Closed Won", 13, "won", current=True),
        visit("O8", "Prospecting", 116, "open", current=True),
    ])
    insert(con, "core.fct_lead", [
        dict(lead_id="L1", owner_id="U1", created_date=d("2023-12-01"), pipeline_start=d("2023-12-01"),
             pipeline_end=d("2024-01-15"), is_converted=True, converted_date=d("2024-01-15")),
        dict(lead_id="L2", owner_id="U1", created_date=d("2024-02-01"), pipeline_start=d("2024-02-01"),
             pipeline_end=AS_OF, is_converted=False),
        dict(lead_id="L3", owner_id="U2", created_date=d("2023-06-01"), pipeline_start=d("2023-06-01"),
             pipeline_end=d("2023-12-31"), is_converted=False, is_closed_status=True),
        dict(lead_id="L4", owner_id="U2", created_date=d("2024-05-10"), pipeline_start=d("2024-05-10"),
             pipeline_end=AS_OF, is_converted=False),
    ])
    insert(con, "core.fct_activity", [
        activity("T1", "U1", "call", "2024-05-06", True),
        activity("T2", "U1", "email", "2024-05-08", True),
        activity("T3", "U1", "task", "2024-05-10", False, overdue=True),
        activity("E1", "U1", "meeting", "2024-05-14", True, source="event"),
        activity("T4", "U1", "call", "2024-05-20", False),  # next week: after the as-of date
        activity("T5", "U1", "call", None, True, created="2024-04-30 10:00:00"),  # no date: created_at
        activity("T6", "U2", "email", "2024-05-13", True),
        activity("T7", "API", "email", "2024-05-13", True),  # not a rep
    ])
    insert(con, "core.fct_opportunity_line_item", [
        # O1 (won 1000): 600 Software + 400 Services; O2 (won 3000): all Software; O3 (lost): Software
        dict(opportunity_line_item_id="L1", opportunity_id="O1", product_id="P1", product_family="Software",
             total_price_corporate=600),
        dict(opportunity_line_item_id="L2", opportunity_id="O1", product_id="P2", product_family="Services",
             total_price_corporate=400),
        dict(opportunity_line_item_id="L3", opportunity_id="O2", product_id="P1", product_family="Software",
             total_price_corporate=1000),
        dict(opportunity_line_item_id="L4", opportunity_id="O2", product_id="P3", product_family="Software",
             total_price_corporate=2000),
        dict(opportunity_line_item_id="L5", opportunity_id="O3", product_id="P1", product_family="Software",
             total_price_corporate=500),
    ])
    insert(con, "core.fct_quota", [
        dict(owner_id="U1", period_start=d("2023-10-01"), quota_amount_corporate=5000),  # last year
        dict(owner_id="U1", period_start=d("2024-01-01"), quota_amount_corporate=2000),
        dict(owner_id="U1", period_start=d("2024-04-01"), quota_amount_corporate=2000),
        dict(owner_id="U1", period_start=d("2024-07-01"), quota_amount_corporate=2000),  # not started yet
        dict(owner_id="U2", period_start=d("2024-01-01"), quota_amount_corporate=1000),
        dict(owner_id="U3", period_start=d("2024-04-01"), quota_amount_corporate=3000),
    ])
    insert(con, "core.fct_kpi_target", [
        dict(kpi="new_leads", period_type="year", period_start=d("2024-01-01"), period_end=d("2024-12-31"),
             scope="company", scope_id=None, target_value=40),
    ])
    insert(con, "kpi.conversion_rate", [
        dict(kpi="conversion_rate", period_type="quarter", period_start=d("2024-04-01"), period_end=d("2024-06-30"),
             is_partial=True, scope="rep", scope_id="U1", scope_name="Ann", numerator=1, denominator=2, value=50.0,
             unit="percent"),
        dict(kpi="conversion_rate", period_type="quarter", period_start=d("2024-04-01"), period_end=d("2024-06-30"),
             is_partial=True, scope="rep", scope_id="U2", scope_name="Bob", numerator=0, denominator=0, value=None,
             unit="percent"),
    ])
    insert(con, "marts.kpi_scorecard", [
        scorecard("annual_contract_value", "year", "2023-01-01", "2023-12-31", 3000, "currency", numerator=6000,
                  denominator=2),
        scorecard("annual_contract_value", "year", "2024-01-01", "2024-12-31", 5000, "currency", numerator=10000,
                  denominator=2, target=4000, attainment=1.25, status="on_track"),
        scorecard("new_leads", "quarter", "2023-10-01", "2023-12-31", 7, "count"),
        scorecard("new_leads", "quarter", "2024-01-01", "2024-03-31", 10, "count", target=12, attainment=10 / 12,
                  status="off_track"),
        scorecard("new_leads", "quarter", "2024-04-01", "2024-06-30", 4, "count", target=12, attainment=4 / 12,
                  status="off_track"),
        scorecard("conversion_rate", "quarter", "2024-01-01", "2024-03-31", 30.0, "percent", numerator=3,
                  denominator=10, target=25, attainment=1.2, status="on_track"),
        scorecard("conversion_rate", "quarter", "2024-04-01", "2024-06-30", 20.0, "percent", numerator=1,
                  denominator=5, target=25, attainment=0.8, status="off_track"),
        scorecard("referrals", "quarter", "2024-01-01", "2024-03-31", 0, "count"),
        scorecard("referrals", "quarter", "2024-04-01", "2024-06-30", 0, "count"),
        scorecard("lead_age", "as_of", "2024-05-15", "2024-05-15", 20.0, "days", numerator=60, denominator=3,
                  target=25, attainment=1.25, status="on_track", direction="lower_is_better"),
        scorecard("employee_retention", "year", "2023-01-01", "2023-12-31", 90.0, "percent", numerator=9,
                  denominator=10),
        scorecard("customer_retention", "year", "2024-01-01", "2024-12-31", None, "percent", numerator=0,
                  denominator=0),
    ])
    return con
