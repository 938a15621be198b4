"""The nine KPI models and the KPI scorecard, each on a tiny hand-built core.

Every test creates an in-memory DuckDB, builds the core tables of the interface
by hand (tests/kpi_fixtures.py), inserts a handful of rows, runs one model file
and checks numbers worked out by hand (the arithmetic is in the comments).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pytest import approx

from kpi_fixtures import (
    KPI_NAMES, SQL_DIR, core_db, d, insert, one, parse_model, rep, rows, run_kpi,
)

COMMON_COLUMNS = [
    "kpi", "period_type", "period_start", "period_end", "is_partial", "scope", "scope_id",
    "scope_name", "numerator", "denominator", "value", "unit",
]

# period types, scopes and unit of each KPI, as the spec lists them
SHAPE = {
    "annual_contract_value": ({"year"}, {"company", "team", "rep"}, "currency"),
    "customer_lifetime_value": ({"year"}, {"company"}, "currency"),
    "new_leads": ({"quarter"}, {"company", "team", "rep"}, "count"),
    "lead_age": ({"as_of"}, {"company", "team", "rep"}, "days"),
    "conversion_rate": ({"quarter"}, {"company", "team", "rep"}, "percent"),
    "employee_retention": ({"year"}, {"company", "team"}, "percent"),
    "ramp_time": ({"year", "quarter"}, {"company", "team"}, "days"),
    "referrals": ({"quarter"}, {"company", "team", "rep"}, "count"),
    "customer_retention": ({"year"}, {"company", "team", "rep"}, "percent"),
}


def table_columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe {table}").fetchall()]


# --------------------------------------------------------------------------- shape


@pytest.mark.parametrize("name", KPI_NAMES)
def test_model_shape_and_documentation(name):
    model = parse_model(SQL_DIR / "kpi" / f"{name}.sql", SQL_DIR)
    assert {schema for schema, _ in model.reads} == {"core"}
    for word in ("Formula", "silent"):
        assert word in model.description, f"{name}: description lacks {word!r}"

    # a core with two reps in one team, one rep with no team, and nothing else
    con = core_db(as_of="2024-05-15", first="2023-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U9", "Solo", team_id=None, team_name=None),
                            rep("API", "Integration", is_rep=False, hire_date="2020-01-01")])
    run_kpi(con, name)
    columns = table_columns(con, f"kpi.{name}")
    assert columns[:12] == COMMON_COLUMNS
    assert list(model.columns) == columns, f"{name}: the header documents other columns than the table has"
    assert all(model.columns.values())

    period_types, scopes, unit = SHAPE[name]
    found = rows(con, f"select * from kpi.{name}")
    assert {r["kpi"] for r in found} == {name}
    assert {r["unit"] for r in found} == {unit}
    assert {r["period_type"] for r in found} == period_types
    assert {r["scope"] for r in found} == scopes
    # the integration user is never a rep; the rep without team is in no team row
    assert "API" not in {r["scope_id"] for r in found}
    assert {r["scope_id"] for r in found if r["scope"] == "team"} <= {"M1"}
    if "rep" in scopes:
        assert {r["scope_id"] for r in found if r["scope"] == "rep"} == {"U1", "U2", "U9"}
    # company rows have no scope id and every period has one (even with no data)
    assert all(r["scope_id"] is None and r["scope_name"] == "Company" for r in found if r["scope"] == "company")
    expected_periods = {"year": 2, "quarter": 6, "as_of": 1}  # 2023, 2024; 2023-Q1 .. 2024-Q2
    company = [r for r in found if r["scope"] == "company"]
    assert len(company) == sum(expected_periods[t] for t in period_types)
    # nothing happened: plain counts are 0, ratios and averages are NULL (never 0)
    for r in found:
        if unit == "count":
            assert (r["numerator"], r["denominator"], r["value"]) == (0, 1, 0)
        else:
            assert r["denominator"] == 0 and r["value"] is None
    # periods: real period end, partial flag from dim_period
    if "year" in period_types:
        y = one(con, f"kpi.{name}", "2024-01-01", period_type="year")
        assert (y["period_end"], y["is_partial"]) == (d("2024-12-31"), True)
        y = one(con, f"kpi.{name}", "2023-01-01", period_type="year")
        assert (y["period_end"], y["is_partial"]) == (d("2023-12-31"), False)
    if "quarter" in period_types:
        q = one(con, f"kpi.{name}", "2024-04-01", period_type="quarter")
        assert (q["period_end"], q["is_partial"]) == (d("2024-06-30"), True)


@pytest.mark.parametrize("name", ["employee_retention", "ramp_time"])
def test_no_hire_dates_no_rows(name):
    con = core_db(as_of="2024-05-15", first="2023-01-01", has_hire_dates=False)
    insert(con, "dim_rep", [rep("U1", "Ann")])
    run_kpi(con, name)
    assert con.execute(f"select count(*) from kpi.{name}").fetchone()[0] == 0
    assert "no rows" in parse_model(SQL_DIR / "kpi" / f"{name}.sql", SQL_DIR).description


# --------------------------------------------------------------------------- 1. ACV


def _acv_db():
    con = core_db(as_of="2025-06-30", first="2023-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2"),
                            rep("INT", "Integration", is_rep=False)])
    c = lambda cid, owner, start, term=None, end=None, activated=True: dict(  # noqa: E731
        contract_id=cid, owner_id=owner, is_activated=activated, status_code="Activated" if activated else "Draft",
        start_date=d(start), end_date=d(end) if end else None, term_months=term, source="contract")
    insert(con, "fct_contract", [
        c("C1", "U1", "2024-02-29", term=6, end="2024-08-28"),   # leap day start, half a year
        c("C2", "U1", "2024-07-01", term=36),                    # three years
        c("C3", "U2", "2024-12-31", end="2028-12-31"),           # no term: 1461 days = 4.0 years
        c("C4", "U2", "2024-05-01", term=12, activated=False),   # draft: not counted
        c("C5", "U1", "2025-03-01", term=12),                    # no won opportunity: ACV 0
        c("C6", "INT", "2024-03-01", term=12),                   # owner is no rep: company only
        c("C7", "U1", "2025-08-01", term=12),                    # starts after the as-of date
    ])
    o = lambda oid, contract, amount, won=True, cur="USD", native=None: dict(  # noqa: E731
        opportunity_id=oid, contract_id=contract, owner_id="U1", is_closed=True, is_won=won, is_lost=not won,
        close_date=d("2024-02-01"), currency_iso_code=cur, amount=native or amount, amount_corporate=amount,
        has_currency_rate=True)
    insert(con, "fct_opportunity", [
        o("O1", "C1", 1000.0),
        o("O2", "C1", 1000.0, cur="EUR", native=900.0),  # 900 EUR at 0.9 EUR per USD = 1000 USD
        o("O3", "C2", 9000.0),
        o("O4", "C2", 5000.0, won=False),                 # lost: not part of TCV
        o("O5", "C3", 8000.0),
        o("O6", "C4", 5000.0),
        o("O7", "C6", 1200.0),
        o("O8", "C7", 1000.0),
    ])
    run_kpi(con, "annual_contract_value")
    return con


def test_acv_contract_terms_currencies_and_scopes():
    con = _acv_db()
    t = "kpi.annual_contract_value"
    # C1: TCV 1000 + 1000 (EUR already converted) = 2000, term 6/12 = 0.5 < 1 -> ACV = TCV = 2000
    # C2: TCV 9000 (lost O4 left out), term 36/12 = 3 -> ACV 3000
    # C3: TCV 8000, (2028-12-31 - 2024-12-31) = 1461 days / 365.25 = 4 years -> ACV 2000
    # C6: TCV 1200, 1 year -> 1200.  C4 is a draft.  Company 2024: (2000+3000+2000+1200)/4 = 2050
    company = one(con, t, "2024-01-01")
    assert (company["numerator"], company["denominator"]) == (approx(8200.0), 4)
    assert company["value"] == approx(2050.0)
    assert company["total_tcv"] == approx(2000 + 9000 + 8000 + 1200)
    assert company["contract_source"] == "contract"
    u1 = one(con, t, "2024-01-01", "rep", "U1")   # C1, C2: (2000 + 3000) / 2
    assert (u1["denominator"], u1["value"], u1["total_tcv"]) == (2, approx(2500.0), approx(11000.0))
    assert one(con, t, "2024-01-01", "rep", "U2")["value"] == approx(2000.0)      # C3 only
    assert one(con, t, "2024-01-01", "team", "M1")["value"] == approx(7000 / 3)   # C1, C2, C3
    # a team and a rep with no contract, and a year with nothing: 0 / 0 -> NULL
    for row in (one(con, t, "2024-01-01", "team", "M2"), one(con, t, "2024-01-01", "rep", "U3"),
                one(con, t, "2023-01-01")):
        assert (row["numerator"], row["denominator"], row["value"]) == (0, 0, None)
    # 2025 is partial: C5 (ACV 0) counts, C7 starting after the as-of date does not
    y2025 = one(con, t, "2025-01-01")
    assert (y2025["denominator"], y2025["value"], y2025["is_partial"]) == (1, 0.0, True)
    assert y2025["period_end"] == d("2025-12-31")
    # the integration user is no rep
    assert not rows(con, f"select * from {t} where scope_id = 'INT'")


def test_acv_falls_back_to_won_opportunities():
    con = core_db(as_of="2024-12-31", first="2024-01-01", has_contracts=False)
    insert(con, "dim_rep", [rep("U1", "Ann")])
    # no Contract rows: core builds one one-year contract per Closed Won opportunity
    insert(con, "fct_contract", [
        dict(contract_id="O1", owner_id="U1", is_activated=True, start_date=d("2024-04-01"),
             end_date=d("2025-03-31"), term_months=12, source="won_opportunity"),
        dict(contract_id="O2", owner_id="U1", is_activated=True, start_date=d("2024-05-01"),
             end_date=d("2025-04-30"), term_months=12, source="won_opportunity"),
    ])
    insert(con, "fct_opportunity", [
        dict(opportunity_id="O1", owner_id="U1", is_closed=True, is_won=True, close_date=d("2024-04-01"),
             amount_corporate=1500.0),
        dict(opportunity_id="O2", owner_id="U1", is_closed=True, is_won=True, close_date=d("2024-05-01"),
             amount_corporate=2500.0),
    ])
    run_kpi(con, "annual_contract_value")
    row = one(con, "kpi.annual_contract_value", "2024-01-01", "rep", "U1")
    # (1500 + 2500) / 2 one-year contracts = 2000
    assert (row["denominator"], row["value"], row["contract_source"]) == (2, approx(2000.0), "won_opportunity")


# --------------------------------------------------------------------------- 2. CLV


def test_customer_lifetime_value():
    con = core_db(as_of="2025-03-31", first="2023-01-01")
    insert(con, "fct_customer_span", [
        dict(account_id="A1", active_from=d("2021-01-01"), active_to=d("2024-12-31")),
        dict(account_id="A2", active_from=d("2024-06-01"), active_to=d("2026-05-31")),
        dict(account_id="A3", active_from=d("2020-01-01"), active_to=d("2020-12-31")),
        dict(account_id="A3", active_from=d("2023-01-01"), active_to=d("2023-06-30")),
    ])
    won = lambda oid, acc, close, amount, w=True: dict(  # noqa: E731
        opportunity_id=oid, account_id=acc, owner_id="U1", is_closed=True, is_won=w, is_lost=not w,
        close_date=d(close), amount_corporate=amount)
    insert(con, "fct_opportunity", [
        won("O1", "A1", "2024-03-01", 1000.0),
        won("O2", "A1", "2024-09-01", 3000.0),
        won("O3", "A2", "2024-06-01", 2000.0),
        won("O4", "A3", "2024-05-01", 9999.0, w=False),  # lost: not a purchase
        won("O5", "A1", "2023-05-05", 500.0),
    ])
    run_kpi(con, "customer_lifetime_value")
    t = "kpi.customer_lifetime_value"
    # lifespans (first..last active day, last capped at the as-of date, both days counted, >= 1 year):
    l1 = 1461 / 365.25                                                 # 2021-01-01..2024-12-31 = 4.0
    assert l1 == 4.0
    l2 = 1.0                 # 2024-06-01..2025-03-31 (capped) = 304 days < 1 year -> 1
    l3 = ((dt.date(2023, 6, 30) - dt.date(2020, 1, 1)).days + 1) / 365.25   # first 2020, last 2023-06-30
    # 2024: won 1000 + 3000 + 2000 = 6000 over 3 deals and 2 accounts; customers by 2024-12-31: A1, A2, A3
    y = one(con, t, "2024-01-01")
    assert (y["won_amount"], y["won_deals"], y["denominator"]) == (approx(6000.0), 3, 2)
    assert y["avg_purchase_value"] == approx(2000.0)
    assert y["avg_purchases_per_customer"] == approx(1.5)
    assert y["avg_lifespan_years"] == approx((l1 + l2 + l3) / 3)
    assert y["customers_by_period_end"] == 3
    assert y["value"] == approx(2000.0 * 1.5 * (l1 + l2 + l3) / 3)
    assert y["numerator"] / y["denominator"] == approx(y["value"])
    # 2023: 500 over 1 deal, 1 account; customers by 2023-12-31: A1, A3 (A2 starts 2024)
    y = one(con, t, "2023-01-01")
    assert y["value"] == approx(500.0 * 1 * (l1 + l3) / 2)
    # 2025 (partial): no won deal -> 0 customers -> NULL, lifespan still known
    y = one(con, t, "2025-01-01")
    assert (y["denominator"], y["value"], y["is_partial"]) == (0, None, True)
    assert y["avg_lifespan_years"] == approx((l1 + l2 + l3) / 3)
    assert {r["scope"] for r in rows(con, f"select scope from {t}")} == {"company"}


# --------------------------------------------------------------------------- 3. new leads


def _lead(lid, owner, created, **kw):
    row = dict(lead_id=lid, owner_id=owner, created_date=d(created), pipeline_start=d(created),
               is_converted=False, is_closed_status=False, is_active=True, is_referral=False)
    row.update(kw)
    return row


def test_new_leads():
    con = core_db(as_of="2024-05-15", first="2023-07-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2")])
    insert(con, "fct_lead", [
        _lead("L1", "U1", "2023-10-01"),                                   # first day of Q4
        _lead("L2", "U1", "2023-12-31"),                                   # last day of Q4 (inclusive)
        _lead("L3", "U3", "2024-02-29"),                                   # leap day
        _lead("L4", "00G-QUEUE", "2024-01-15"),                            # queue: company only
        _lead("L5", "U1", "2024-04-01", is_converted=True, is_active=False),  # converted still counts
        _lead("L6", "U1", "2024-05-20"),                                   # after the as-of date
    ])
    run_kpi(con, "new_leads")
    t = "kpi.new_leads"
    value = lambda start, scope="company", sid=None: one(con, t, start, scope, sid)["value"]  # noqa: E731
    assert value("2023-07-01") == 0                                         # quarter with nothing
    assert (value("2023-10-01"), value("2023-10-01", "rep", "U1"), value("2023-10-01", "team", "M1")) == (2, 2, 2)
    assert (value("2024-01-01"), value("2024-01-01", "rep", "U3"), value("2024-01-01", "team", "M1")) == (2, 1, 0)
    assert value("2024-04-01") == 1                                        # L5; L6 is after the as-of date
    row = one(con, t, "2024-01-01", "rep", "U2")                           # a rep with no lead at all
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 1, 0)


def test_fiscal_periods_with_inclusive_end():
    # fiscal year starting in February: FY2024-Q4 = 2023-11-01..2024-01-31, FY2025-Q1 = 2024-02-01..2024-04-30
    con = core_db(as_of="2025-03-15", first="2024-01-31", fiscal_start_month=2, insert_periods=False)
    insert(con, "dim_period", [
        dict(period_type="quarter", period_start=d("2023-11-01"), period_end=d("2024-01-31"),
             period_label="FY2024-Q4", is_partial=False, effective_end=d("2024-01-31")),
        dict(period_type="quarter", period_start=d("2024-02-01"), period_end=d("2024-04-30"),
             period_label="FY2025-Q1", is_partial=False, effective_end=d("2024-04-30")),
        dict(period_type="quarter", period_start=d("2024-05-01"), period_end=d("2024-07-31"),
             period_label="FY2025-Q2", is_partial=False, effective_end=d("2024-07-31")),
        dict(period_type="year", period_start=d("2024-02-01"), period_end=d("2025-01-31"),
             period_label="FY2025", is_partial=False, effective_end=d("2025-01-31")),
        dict(period_type="year", period_start=d("2025-02-01"), period_end=d("2026-01-31"),
             period_label="FY2026", is_partial=True, effective_end=d("2025-03-15")),
    ])
    insert(con, "dim_rep", [rep("U1", "Ann")])
    insert(con, "fct_lead", [_lead("L1", "U1", "2024-01-31"), _lead("L2", "U1", "2024-04-30"),
                             _lead("L3", "U1", "2024-05-01"), _lead("L4", "U1", "2024-02-01")])
    insert(con, "fct_contract", [
        dict(contract_id="C1", owner_id="U1", is_activated=True, start_date=d("2025-01-31"), term_months=12),
        dict(contract_id="C2", owner_id="U1", is_activated=True, start_date=d("2025-02-01"), term_months=24),
    ])
    insert(con, "fct_opportunity", [
        dict(opportunity_id="O1", contract_id="C1", owner_id="U1", is_won=True, is_closed=True, amount_corporate=100.0),
        dict(opportunity_id="O2", contract_id="C2", owner_id="U1", is_won=True, is_closed=True, amount_corporate=600.0),
    ])
    run_kpi(con, "new_leads")
    run_kpi(con, "annual_contract_value")
    # the last day of a fiscal quarter belongs to it; the next day to the next quarter
    assert one(con, "kpi.new_leads", "2023-11-01")["value"] == 1           # L1 (2024-01-31)
    assert one(con, "kpi.new_leads", "2024-02-01")["value"] == 2           # L4, L2 (2024-04-30)
    assert one(con, "kpi.new_leads", "2024-05-01")["value"] == 1           # L3
    # C1 starts on the last day of FY2025 -> FY2025; C2 on the first day of FY2026: 600 / 2 years = 300
    fy25 = one(con, "kpi.annual_contract_value", "2024-02-01")
    assert (fy25["period_end"], fy25["denominator"], fy25["value"]) == (d("2025-01-31"), 1, approx(100.0))
    fy26 = one(con, "kpi.annual_contract_value", "2025-02-01")
    assert (fy26["is_partial"], fy26["value"]) == (True, approx(300.0))


# --------------------------------------------------------------------------- 4. lead age


def test_lead_age():
    con = core_db(as_of="2024-03-01", first="2023-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2")])
    insert(con, "fct_lead", [
        _lead("L1", "U1", "2024-02-01"),   # 29 days (February 2024 has 29 days)
        _lead("L2", "U1", "2023-12-01"),   # 31 + 31 + 29 = 91 days
        _lead("L3", "U1", "2023-01-01", is_converted=True, is_active=False),          # converted
        _lead("L4", "U3", "2024-03-01"),   # created on the as-of date: 0 days
        _lead("L5", "U3", "2023-06-01", status="Closed - Not Converted", is_closed_status=True, is_active=False),
    ])
    run_kpi(con, "lead_age")
    t = "kpi.lead_age"
    company = one(con, t, "2024-03-01")
    assert (company["period_type"], company["period_end"], company["is_partial"]) == ("as_of", d("2024-03-01"), False)
    assert (company["numerator"], company["denominator"]) == (29 + 91 + 0, 3)
    assert company["value"] == approx(40.0)                    # 120 / 3
    u1 = one(con, t, "2024-03-01", "rep", "U1")
    assert (u1["value"], u1["max_age_days"]) == (approx(60.0), 91)   # (29 + 91) / 2
    assert one(con, t, "2024-03-01", "team", "M1")["value"] == approx(60.0)   # U1 + U2 (none)
    assert one(con, t, "2024-03-01", "team", "M2")["value"] == 0.0            # one lead, 0 days: 0, not NULL
    u2 = one(con, t, "2024-03-01", "rep", "U2")                               # a rep with no lead
    assert (u2["numerator"], u2["denominator"], u2["value"]) == (0, 0, None)


# --------------------------------------------------------------------------- 5. conversion rate


def test_conversion_rate():
    con = core_db(as_of="2024-08-15", first="2024-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2")])
    insert(con, "fct_lead", [
        # open since Feb: in the pipeline until the as-of date -> Q1, Q2 and Q3
        _lead("L1", "U1", "2024-02-10", pipeline_end=d("2024-08-15")),
        _lead("L2", "U1", "2024-03-05", is_converted=True, converted_date=d("2024-04-10"),
              pipeline_end=d("2024-04-10"), is_active=False),                           # Q1, Q2
        _lead("L3", "U1", "2024-05-01", status="Closed", is_closed_status=True,
              last_modified_date=d("2024-05-20"), pipeline_end=d("2024-05-20"), is_active=False),  # Q2
        _lead("L4", "U3", "2024-01-15", is_converted=True, converted_date=d("2024-01-20"),
              pipeline_end=d("2024-01-20"), is_active=False),                           # Q1
    ])
    opp = lambda oid, owner, close, won, closed=True: dict(  # noqa: E731
        opportunity_id=oid, owner_id=owner, close_date=d(close), is_closed=closed, is_won=won,
        is_lost=closed and not won)
    insert(con, "fct_opportunity", [
        opp("O1", "U1", "2024-02-01", True),
        opp("O2", "U1", "2024-03-31", True),     # last day of Q1
        opp("O3", "U1", "2024-03-15", False),    # lost
        opp("O4", "U2", "2024-02-20", True),     # U2 has no lead at all
        opp("O5", "U3", "2024-05-05", True),
        opp("O6", "U1", "2024-03-01", False, closed=False),   # open: neither won nor lost
        opp("O7", "U3", "2024-01-31", True),
    ])
    run_kpi(con, "conversion_rate")
    t = "kpi.conversion_rate"
    # Q1: won O1, O2, O4, O7 = 4; leads in pipeline L1, L2, L4 = 3 -> 133.3 % (> 100 %, reported as is)
    q1 = one(con, t, "2024-01-01")
    assert (q1["numerator"], q1["denominator"]) == (4, 3)
    assert q1["value"] == approx(400 / 3)
    assert q1["lead_conversion_pct"] == approx(100 / 3)        # L4 converted in Q1: 1 / 3
    assert q1["win_rate_pct"] == approx(80.0)                  # 4 / (4 + 1 lost)
    u1 = one(con, t, "2024-01-01", "rep", "U1")                # L1, L2; O1, O2 won, O3 lost
    assert (u1["value"], u1["lead_conversion_pct"], u1["win_rate_pct"]) == (approx(100.0), 0.0, approx(200 / 3))
    u2 = one(con, t, "2024-01-01", "rep", "U2")                # won a deal, no lead: 1 / 0 -> NULL
    assert (u2["numerator"], u2["denominator"], u2["value"], u2["win_rate_pct"]) == (1, 0, None, approx(100.0))
    assert one(con, t, "2024-01-01", "team", "M1")["value"] == approx(150.0)   # (2 + 1) won / 2 leads
    # L1 spans three quarters and counts in each
    assert [one(con, t, q, "rep", "U1")["denominator"] for q in ("2024-01-01", "2024-04-01", "2024-07-01")] == [2, 3, 1]
    # Q2: leads L1, L2, L3; won O5; converted L2
    q2 = one(con, t, "2024-04-01")
    assert (q2["denominator"], q2["value"], q2["lead_conversion_pct"], q2["win_rate_pct"]) == (
        3, approx(100 / 3), approx(100 / 3), approx(100.0))
    # Q3 (partial): L1 only, nothing closed -> 0 %, win rate NULL
    q3 = one(con, t, "2024-07-01")
    assert (q3["is_partial"], q3["value"], q3["win_rate_pct"], q3["lost_deals"]) == (True, 0.0, None, 0)


# --------------------------------------------------------------------------- 6. employee retention


def test_employee_retention():
    con = core_db(as_of="2024-06-30", first="2023-01-01")
    m2 = dict(team_id="M2", team_name="Team M2")
    insert(con, "dim_rep", [
        rep("E1", "E1", hire_date="2020-01-01"),
        rep("E2", "E2", hire_date="2022-05-01", termination_date="2023-06-30"),   # leaves in 2023
        rep("E3", "E3", hire_date="2023-03-01", termination_date="2023-11-30"),   # hired and gone in 2023
        rep("E4", "E4", hire_date="2023-07-01", **m2),                            # hired during 2023
        rep("E5", "E5", hire_date="2023-01-01", **m2),                            # hired on the first day
        rep("E6", "E6", hire_date="2024-01-01", termination_date="2024-06-30", **m2),  # gone on the as-of date
        rep("E7", "E7"),                                                          # no hire date: left out
        rep("X1", "Not a rep", hire_date="2020-01-01", is_rep=False),
    ])
    run_kpi(con, "employee_retention")
    t = "kpi.employee_retention"
    # 2023: start (Jan 1) E1, E2, E5 = 3; end (Dec 31) E1, E4, E5 = 3; hired in year and there at end E4
    #       -> (3 - 1) / 3 = 66.7 %; E3 changes nothing
    y = one(con, t, "2023-01-01")
    assert (y["reps_at_start"], y["reps_at_end"], y["reps_hired"], y["reps_left"]) == (3, 3, 1, 1)
    assert (y["numerator"], y["denominator"], y["value"]) == (2, 3, approx(200 / 3))
    assert one(con, t, "2023-01-01", "team", "M1")["value"] == approx(50.0)   # E1, E2 -> E1: 1 / 2
    assert one(con, t, "2023-01-01", "team", "M2")["value"] == approx(100.0)  # E5 -> E5 (+E4 new): 1 / 1
    # 2024 (partial, end = 2024-06-30): start E1, E4, E5, E6 = 4; end E1, E4, E5 (E6's termination
    # date is not > the as-of date) -> 3 / 4 = 75 %
    y = one(con, t, "2024-01-01")
    assert (y["is_partial"], y["numerator"], y["denominator"], y["value"]) == (True, 3, 4, approx(75.0))
    assert one(con, t, "2024-01-01", "team", "M2")["value"] == approx(200 / 3)  # E4, E5, E6 -> E4, E5
    assert not rows(con, f"select * from {t} where scope = 'rep'")


# --------------------------------------------------------------------------- 7. ramp time


def test_ramp_time():
    con = core_db(as_of="2024-12-31", first="2024-01-01")
    m2 = dict(team_id="M2", team_name="Team M2")
    insert(con, "dim_rep", [
        rep("R1", "R1", hire_date="2024-01-15"),
        rep("R2", "R2", hire_date="2024-02-29"),
        rep("R3", "R3", hire_date="2024-04-01", **m2),
        rep("R4", "R4", hire_date="2024-05-01", **m2),
        rep("R5", "R5", hire_date="2024-06-01", termination_date="2024-07-31", **m2),
        rep("R6", "R6", hire_date="2023-06-01"),     # hired before the first period in the data
    ])
    act = lambda aid, owner, at, typ="call", who="lead", done=True: dict(  # noqa: E731
        activity_id=aid, owner_id=owner, activity_type=typ, who_type=who, is_completed=done,
        contact_at=dt.datetime.fromisoformat(at), source="event" if typ == "meeting" else "task")
    insert(con, "fct_activity", [
        act("A1", "R1", "2024-02-14 09:00:00"),                  # R1: Jan 15 -> Feb 14 = 30 days
        act("A2", "R1", "2024-01-16 10:00:00", done=False),      # not completed: ignored
        act("A3", "R1", "2024-01-17 10:00:00", typ="task"),      # plain task: not a contact
        act("A4", "R1", "2024-01-20 10:00:00", who=None),        # not a lead or contact: ignored
        act("A5", "R2", "2024-03-10 15:00:00", typ="meeting", who="contact"),   # Feb 29 -> Mar 10 = 10 days
        act("A6", "R3", "2024-03-20 08:00:00", typ="email", who="contact"),     # before hire: data-quality failure
        act("A7", "R3", "2024-04-05 08:00:00", typ="email", who="contact"),
        act("A8", "R6", "2024-06-01 08:00:00"),
        act("A9", "R4", "2025-01-05 08:00:00"),                  # after the as-of date: R4 is still ramping
    ])
    run_kpi(con, "ramp_time")
    t = "kpi.ramp_time"
    y = one(con, t, "2024-01-01", period_type="year")
    # ramped R1 (30) and R2 (10) -> 40 / 2 = 20; R3 left out; R4 still ramping; R5 left without contact
    assert (y["numerator"], y["denominator"], y["value"]) == (40, 2, approx(20.0))
    assert (y["still_ramping"], y["contact_before_hire"], y["left_without_contact"], y["reps_hired"]) == (1, 1, 1, 5)
    assert one(con, t, "2024-01-01", "team", "M1", period_type="year")["value"] == approx(20.0)
    m2y = one(con, t, "2024-01-01", "team", "M2", period_type="year")
    assert (m2y["denominator"], m2y["value"], m2y["still_ramping"]) == (0, None, 1)
    assert one(con, t, "2024-01-01", period_type="quarter")["value"] == approx(20.0)   # R1, R2 hired in Q1
    q2 = one(con, t, "2024-04-01", period_type="quarter")
    assert (q2["value"], q2["still_ramping"], q2["contact_before_hire"], q2["reps_hired"]) == (None, 1, 1, 3)
    q4 = one(con, t, "2024-10-01", period_type="quarter")
    assert (q4["reps_hired"], q4["value"]) == (0, None)


# --------------------------------------------------------------------------- 8. referrals


def _referrals_db(credit="referring_account"):
    con = core_db(as_of="2024-06-30", first="2024-01-01", referral_credit=credit)
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2")])
    insert(con, "dim_account", [dict(account_id="ACC1", owner_id="U3"), dict(account_id="ACC2", owner_id="NONREP")])
    insert(con, "fct_lead", [
        _lead("L1", "U1", "2024-02-01", lead_source="Customer Referral", is_referral=True, referring_account_id="ACC1",
              is_converted=True, converted_opportunity_id="O10", is_active=False),
        _lead("L2", "U1", "2024-03-31", lead_source="Word of mouth", is_referral=True),
        _lead("L3", "U1", "2024-02-02", lead_source="Web"),
        _lead("L4", "U2", "2024-04-02", lead_source="Partner referral", is_referral=True, referring_account_id="ACC2"),
    ])
    opp = lambda oid, owner, created, source, won=False, from_lead=False, ref=None: dict(  # noqa: E731
        opportunity_id=oid, owner_id=owner, created_date=d(created), lead_source=source, is_won=won,
        is_closed=won, from_converted_lead=from_lead, referring_account_id=ref)
    insert(con, "fct_opportunity", [
        opp("O10", "U1", "2024-02-15", "Customer Referral", won=True, from_lead=True),  # counted as lead L1
        opp("O11", "U2", "2024-05-10", "EMPLOYEE REFERRAL", won=True),                 # case-insensitive
        opp("O12", "U2", "2024-01-05", "Referral", ref="ACC1"),
        opp("O13", "U1", "2024-01-10", "Advertisement", won=True),
    ])
    run_kpi(con, "referrals")
    return con


def test_referrals_credited_to_referring_account_owner():
    con = _referrals_db()
    t = "kpi.referrals"
    # Q1: L1 (-> ACC1's owner U3, won through O10), L2 (-> U1), O12 (-> ACC1's owner U3)
    q1 = one(con, t, "2024-01-01")
    assert (q1["value"], q1["converted"], q1["referral_leads"], q1["referral_opportunities"]) == (3, 1, 2, 1)
    u3 = one(con, t, "2024-01-01", "rep", "U3")
    assert (u3["value"], u3["converted"]) == (2, 1)
    assert one(con, t, "2024-01-01", "rep", "U1")["value"] == 1
    assert one(con, t, "2024-01-01", "rep", "U2")["value"] == 0
    assert (one(con, t, "2024-01-01", "team", "M1")["value"], one(con, t, "2024-01-01", "team", "M2")["value"]) == (1, 2)
    # Q2: L4 (-> ACC2's owner, no rep: company only), O11 (won, -> U2)
    q2 = one(con, t, "2024-04-01")
    assert (q2["value"], q2["converted"]) == (2, 1)
    assert (one(con, t, "2024-04-01", "rep", "U2")["value"], one(con, t, "2024-04-01", "team", "M1")["value"]) == (1, 1)


def test_referrals_credited_to_record_owner_when_configured():
    con = _referrals_db(credit="owner")
    t = "kpi.referrals"
    # Q1: L1 and L2 -> U1, O12 -> U2; nothing for U3
    assert [one(con, t, "2024-01-01", "rep", u)["value"] for u in ("U1", "U2", "U3")] == [2, 1, 0]
    assert one(con, t, "2024-04-01", "rep", "U2")["value"] == 2   # L4 and O11


# --------------------------------------------------------------------------- 9. customer retention


def test_customer_retention():
    con = core_db(as_of="2024-06-30", first="2022-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann"), rep("U2", "Bob"), rep("U3", "Cid", team_id="M2", team_name="Team M2")])
    insert(con, "dim_account", [dict(account_id=a, owner_id=o) for a, o in
                                (("A1", "U1"), ("A2", "U1"), ("A3", "U2"), ("A4", "U3"), ("A5", "NONREP"),
                                 ("A6", "U3"))])
    span = lambda a, f, t: dict(account_id=a, active_from=d(f), active_to=d(t))  # noqa: E731
    insert(con, "fct_customer_span", [
        span("A1", "2021-01-01", "2025-12-31"),
        span("A2", "2021-06-01", "2023-03-31"), span("A2", "2023-09-01", "2026-01-01"),  # lapses in 2023, returns
        span("A3", "2021-01-01", "2022-12-30"), span("A3", "2023-02-01", "2024-12-31"),  # lapses over New Year
        span("A4", "2024-02-29", "2025-02-28"),
        span("A5", "2021-01-01", "2022-12-31"),                                          # active on Dec 31 (inclusive)
        span("A6", "2024-03-01", "2024-09-30"),                # active at the as-of date, gone by year end
    ])
    run_kpi(con, "customer_retention")
    t = "kpi.customer_retention"
    # 2022: start A1 A2 A3 A5 = 4; end (Dec 31) A1 A2 A5 = 3; new 0 -> 3 / 4 = 75 %
    y = one(con, t, "2022-01-01")
    assert (y["customers_at_start"], y["customers_at_end"], y["new_customers"], y["lost_customers"]) == (4, 3, 0, 1)
    assert (y["numerator"], y["denominator"], y["value"]) == (3, 4, approx(75.0))
    # 2023: start A1 A2 = 2; end A1 A2 (back since Sep) A3 (back since Feb) = 3; new A3 -> (3 - 1) / 2 = 100 %
    y = one(con, t, "2023-01-01")
    assert (y["numerator"], y["denominator"], y["value"], y["new_customers"]) == (2, 2, approx(100.0), 1)
    # 2024 (partial, end = as-of 2024-06-30): start A1 A2 A3; end A1 A2 A3 A4 A6; new A4 A6 -> (5 - 2) / 3
    y = one(con, t, "2024-01-01")
    assert (y["is_partial"], y["customers_at_end"], y["new_customers"], y["value"]) == (True, 5, 2, approx(100.0))
    assert one(con, t, "2023-01-01", "rep", "U1")["value"] == approx(100.0)     # A2 lapsed and returned: retained
    assert one(con, t, "2022-01-01", "rep", "U2")["value"] == 0.0               # A3 lost: 0 / 1 = 0, not NULL
    u2 = one(con, t, "2023-01-01", "rep", "U2")                                 # no customer at start
    assert (u2["numerator"], u2["denominator"], u2["value"], u2["new_customers"]) == (0, 0, None, 1)
    assert one(con, t, "2022-01-01", "team", "M1")["value"] == approx(200 / 3)  # A1 A2 A3 -> A1 A2
    u3 = one(con, t, "2022-01-01", "rep", "U3")                                 # nothing at all
    assert (u3["denominator"], u3["value"]) == (0, None)


# --------------------------------------------------------------------------- scorecard


def _scorecard_db(on_track=1.0, at_risk=0.9):
    con = core_db(as_of="2024-05-15", first="2024-01-01", on_track_attainment=on_track, at_risk_attainment=at_risk)
    for name in KPI_NAMES:   # the KPI tables by hand (common columns), so the test isolates the scorecard
        con.execute(f"""create table kpi.{name} (kpi varchar, period_type varchar, period_start date,
            period_end date, is_partial boolean, scope varchar, scope_id varchar, scope_name varchar,
            numerator double, denominator double, value double, unit varchar)""")

    def kpi_row(name, ptype, start, end, scope, sid, value):
        con.execute(f"insert into kpi.{name} values (?, ?, ?, ?, false, ?, ?, ?, ?, 1, ?, 'x')",
                    [name, ptype, d(start), d(end), scope, sid, sid or "Company", value, value])

    def target(name, ptype, start, end, scope, sid, value):
        insert(con, "fct_kpi_target", [dict(kpi=name, period_type=ptype, period_start=d(start), period_end=d(end),
                                             scope=scope, scope_id=sid, target_value=value)])

    q1 = ("quarter", "2024-01-01", "2024-03-31")
    kpi_row("new_leads", *q1, "company", None, 95)
    kpi_row("new_leads", *q1, "team", "M1", 80)
    kpi_row("new_leads", *q1, "rep", "U1", 120)
    kpi_row("new_leads", *q1, "rep", "U2", 50)
    kpi_row("new_leads", "quarter", "2024-04-01", "2024-06-30", "company", None, 10)   # no target
    target("new_leads", *q1, "company", None, 100)
    target("new_leads", *q1, "team", "M1", 80)
    target("new_leads", *q1, "rep", "U1", 100)
    target("new_leads", *q1, "rep", "U2", 100)
    y = ("year", "2024-01-01", "2024-12-31")
    kpi_row("ramp_time", *y, "company", None, 50)
    kpi_row("ramp_time", *y, "team", "M1", 36)
    kpi_row("ramp_time", *y, "team", "M2", 44)
    kpi_row("ramp_time", *y, "team", "M3", 0)
    for team in (None, "M1", "M2", "M3"):
        target("ramp_time", *y, "team" if team else "company", team, 40)
    kpi_row("conversion_rate", *q1, "company", None, None)                           # NULL value
    target("conversion_rate", *q1, "company", None, 50)
    kpi_row("lead_age", "as_of", "2024-05-15", "2024-05-15", "company", None, 20)
    target("lead_age", *y, "company", None, 30)
    target("lead_age", "quarter", "2024-04-01", "2024-06-30", "company", None, 25)
    target("lead_age", "quarter", "2024-01-01", "2024-03-31", "company", None, 5)    # other quarter
    run_kpi(con, "kpi_scorecard", "marts")
    return con


def _card(con, kpi, scope="company", sid=None, start="2024-01-01"):
    found = rows(con, "select * from marts.kpi_scorecard where kpi = ? and scope = ? and scope_id is not distinct "
                      "from ? and period_start = ?", [kpi, scope, sid, d(start)])
    assert len(found) == 1
    return found[0]


def test_scorecard_attainment_and_status():
    con = _scorecard_db()
    model = parse_model(SQL_DIR / "marts" / "kpi_scorecard.sql", SQL_DIR)
    assert list(model.columns) == table_columns(con, "marts.kpi_scorecard")
    assert table_columns(con, "marts.kpi_scorecard")[:12] == COMMON_COLUMNS
    assert con.execute("select count(*) from marts.kpi_scorecard").fetchone()[0] == 11   # every KPI row, once
    # higher is better: value / target
    c = _card(con, "new_leads")
    assert (c["target_value"], c["attainment"], c["direction"], c["status"]) == (
        100, approx(0.95), "higher_is_better", "at_risk")                 # 95 / 100 in [0.9, 1.0)
    assert _card(con, "new_leads", "rep", "U1")["status"] == "on_track"    # 120 / 100 = 1.2
    assert _card(con, "new_leads", "rep", "U2")["attainment"] == approx(0.5)
    assert _card(con, "new_leads", "rep", "U2")["status"] == "off_track"
    t = _card(con, "new_leads", "team", "M1")                               # 80 / 80 = 1.0 is on track
    assert (t["target_value"], t["attainment"], t["status"]) == (80, approx(1.0), "on_track")
    n = _card(con, "new_leads", start="2024-04-01")                         # no target
    assert (n["target_value"], n["attainment"], n["status"]) == (None, None, "no_target")
    # lower is better: target / value
    r = _card(con, "ramp_time")
    assert (r["attainment"], r["direction"], r["status"]) == (approx(0.8), "lower_is_better", "off_track")   # 40/50
    assert _card(con, "ramp_time", "team", "M1")["attainment"] == approx(40 / 36)
    assert _card(con, "ramp_time", "team", "M1")["status"] == "on_track"
    assert _card(con, "ramp_time", "team", "M2")["status"] == "at_risk"    # 40 / 44 = 0.909
    z = _card(con, "ramp_time", "team", "M3")                              # value 0: no division, beats target
    assert (z["attainment"], z["status"]) == (None, "on_track")
    assert _card(con, "conversion_rate")["status"] == "no_target"          # value NULL
    # lead_age is a snapshot: the target of the quarter holding the as-of date wins over the year's
    a = _card(con, "lead_age", start="2024-05-15")
    assert (a["target_value"], a["target_period_type"], a["attainment"], a["status"]) == (
        25, "quarter", approx(1.25), "on_track")


def test_scorecard_thresholds_are_configurable():
    con = _scorecard_db(on_track=1.1, at_risk=0.5)
    assert _card(con, "new_leads")["status"] == "at_risk"                  # 0.95 in [0.5, 1.1)
    assert _card(con, "new_leads", "team", "M1")["status"] == "at_risk"    # 1.0 < 1.1
    assert _card(con, "new_leads", "rep", "U1")["status"] == "on_track"    # 1.2
    assert _card(con, "new_leads", "rep", "U2")["status"] == "at_risk"     # 0.5 >= 0.5
    assert _card(con, "ramp_time")["status"] == "at_risk"                  # 0.8


def test_scorecard_runs_on_the_real_kpi_models():
    con = core_db(as_of="2024-05-15", first="2024-01-01")
    insert(con, "dim_rep", [rep("U1", "Ann")])
    insert(con, "fct_lead", [_lead("L1", "U1", "2024-02-01")])
    insert(con, "fct_kpi_target", [dict(kpi="new_leads", period_type="quarter", period_start=d("2024-01-01"),
                                        period_end=d("2024-03-31"), scope="rep", scope_id="U1", target_value=2)])
    for name in KPI_NAMES:
        run_kpi(con, name)
    run_kpi(con, "kpi_scorecard", "marts")
    total = sum(con.execute(f"select count(*) from kpi.{n}").fetchone()[0] for n in KPI_NAMES)
    assert con.execute("select count(*) from marts.kpi_scorecard").fetchone()[0] == total
    c = _card(con, "new_leads", "rep", "U1")
    assert (c["value"], c["attainment"], c["status"]) == (1, approx(0.5), "off_track")   # 1 lead / target 2
