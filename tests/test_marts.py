"""The dashboard marts on a tiny hand-built core (tests/marts_fixtures.py).

Every number below is worked out by hand from the story in marts_fixtures.py; the
arithmetic is in the comments. As-of date 2024-05-15, calendar fiscal years, so the
current fiscal year is FY2024 (2024-01-01..2024-12-31) and Q2 (2024-04-01..06-30) is
partial.
"""

from __future__ import annotations


import pytest
from pytest import approx

from marts_fixtures import MARTS, SQL_DIR, d, empty_warehouse, insert, rows, run_mart, run_marts, story_warehouse
from pipeline.sql_models import parse_model


@pytest.fixture(scope="module")
def con():
    con = story_warehouse()
    run_marts(con)
    yield con
    con.close()


def by(items: list[dict], *keys) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in items}


# --------------------------------------------------------------------------- shape and rules


@pytest.mark.parametrize("name", MARTS)
def test_model_is_documented_reads_allowed_layers_and_has_those_columns(con, name):
    model = parse_model(SQL_DIR / "marts" / f"{name}.sql", SQL_DIR)
    assert {schema for schema, _ in model.reads} <= {"core", "kpi", "marts"}
    assert len(model.description) > 200, f"{name}: the description should explain grain and choices"
    columns = [r[0] for r in con.execute(f"describe marts.{name}").fetchall()]
    assert list(model.columns) == columns, f"{name}: the header documents other columns than the table has"
    assert all(model.columns.values()), f"{name}: a column without a doc"
    select = model.select
    assert select == select.lower() or "'" in select, "lowercase SQL"
    assert select.rstrip().endswith("select * from final"), f"{name}: one final select"


def test_no_pii_in_any_marts_table(con):
    # dim_rep holds the reps' emails (ann@example.com, ...): no mart column may be named like
    # PII, and no mart cell may carry an email address. The one allowed name is the activity
    # count `emails` (how many email activities a rep logged: a number, not an address).
    counts_not_addresses = {("mart_activities_by_rep", "emails")}
    columns = rows(con, "select table_name, column_name, data_type from information_schema.columns "
                        "where table_schema = 'marts'")
    assert {c["table_name"] for c in columns} >= set(MARTS)
    for c in columns:
        name = c["column_name"].lower()
        if (c["table_name"], name) in counts_not_addresses:
            assert c["data_type"] == "BIGINT"
            continue
        assert "email" not in name and "phone" not in name, f"{c['table_name']}.{c['column_name']}"
    for c in columns:
        if c["data_type"] == "VARCHAR":
            leaked = con.execute(
                f'select count(*) from marts.{c["table_name"]} where "{c["column_name"]}" like \'%@%\'').fetchall()
            assert leaked[0][0] == 0, f"{c['table_name']}.{c['column_name']} holds an email"


def test_marts_build_on_an_empty_core():
    # no periods, no deals, no reps: every mart builds and is empty or all-zero; nothing divides by 0
    con = empty_warehouse()
    insert(con, "core.dim_run", [dict(as_of_date=d("2024-05-15"), fiscal_year_start_month=1,
                                      on_track_attainment=1.0, at_risk_attainment=0.9)])
    for name in MARTS:
        run_mart(con, name)
    for name in MARTS:
        if name != "mart_stage_funnel":
            assert con.execute(f"select count(*) from marts.{name}").fetchall() == [(0,)], name


# --------------------------------------------------------------------------- State of the Union


def test_sotu_scorecard_fiscal_ytd_per_kpi(con):
    card = by(rows(con, "select * from marts.mart_sotu_scorecard"), "kpi")
    # every KPI of the scorecard is listed once
    assert set(card) == {"annual_contract_value", "new_leads", "conversion_rate", "referrals", "lead_age",
                         "employee_retention", "customer_retention"}

    # yearly KPI: the FY2024 row as is (the FY2023 row is ignored), reported up to the as-of date
    acv = card["annual_contract_value"]
    assert (acv["basis"], acv["period_label"], acv["period_start"], acv["period_end"], acv["is_partial"]) == (
        "fiscal_year", "FY2024", d("2024-01-01"), d("2024-05-15"), True)
    assert (acv["value"], acv["target_value"], acv["attainment"], acv["status"]) == (5000, 4000, 1.25, "on_track")

    # quarterly count: Q1 10 + Q2 4 = 14 (FY2023-Q4's 7 is last year); the fiscal-year target 40
    # from the targets file beats the sum of the quarter targets (12 + 12); 14 / 40 = 0.35 < 0.9
    leads = card["new_leads"]
    assert (leads["basis"], leads["period_label"], leads["quarters_included"]) == ("fiscal_ytd", "FY2024 YTD", 2)
    assert (leads["value"], leads["denominator"], leads["target_value"]) == (14, 1, 40)
    assert leads["attainment"] == approx(0.35)
    assert leads["status"] == "off_track"
    assert (leads["current_quarter_start"], leads["current_quarter_value"], leads["current_quarter_target"],
            leads["current_quarter_status"]) == (d("2024-04-01"), 4, 12, "off_track")

    # quarterly percent: 100 * (3 + 1) / (10 + 5) = 26.67; no year target -> average of the quarter
    # targets (25 + 25) / 2 = 25; 26.67 / 25 = 1.0667 >= 1.0 -> on_track
    conv = card["conversion_rate"]
    assert (conv["numerator"], conv["denominator"]) == (4, 15)
    assert conv["value"] == approx(400 / 15)
    assert conv["target_value"] == 25
    assert conv["attainment"] == approx(400 / 15 / 25)
    assert conv["status"] == "on_track"

    # no targets at all: value 0, target NULL, no_target
    ref = card["referrals"]
    assert (ref["value"], ref["target_value"], ref["attainment"], ref["status"]) == (0, None, None, "no_target")

    # snapshot KPI: the as_of row as is (lower is better: attainment 25 / 20)
    age = card["lead_age"]
    assert (age["basis"], age["period_label"], age["value"], age["attainment"], age["status"]) == (
        "as_of", "as of 2024-05-15", 20, 1.25, "on_track")

    # a KPI with no row this fiscal year is listed with a NULL value; a zero denominator stays NULL
    assert (card["employee_retention"]["value"], card["employee_retention"]["status"]) == (None, "no_target")
    ret = card["customer_retention"]
    assert (ret["numerator"], ret["denominator"], ret["value"]) == (0, 0, None)


def test_sotu_notable_deals_top_open_and_won_of_the_fiscal_year(con):
    deals = rows(con, "select * from marts.mart_sotu_notable_deals order by deal_category desc, deal_rank")
    # open with a close date in FY2024, by amount: O5 4000, O4 2000, O8 700 (its close date
    # 2024-03-31 has passed: 30 days of April + 15 of May = 45 days late), O9 100; O7 (9000)
    # closes in 2025: not this fiscal year
    opened = [(r["opportunity_id"], r["deal_rank"], r["days_past_close"]) for r in deals
              if r["deal_category"] == "open"]
    assert opened == [("O5", 1, None), ("O4", 2, None), ("O8", 3, 45), ("O9", 4, None)]
    # won in FY2024 up to the as-of date: O2 3000 (2024-04-10) and O6 3000 (2024-05-02) tie on
    # amount, the earlier close date first; then O1 1000
    won = [(r["opportunity_id"], r["deal_rank"]) for r in deals if r["deal_category"] == "closed_won"]
    assert won == [("O2", 1), ("O6", 2), ("O1", 3)]
    o5 = deals[0]
    assert (o5["account_name"], o5["owner_name"], o5["weighted_amount_corporate"]) == ("Cobalt", "Cid", 2000)


def test_sotu_top_reps_quota_attainment_with_tied_ranks(con):
    reps = by(rows(con, "select * from marts.mart_sotu_top_reps"), "rep_id")
    assert set(reps) == {"U1", "U2", "U3", "U4"}  # the integration user is not a rep
    # Ann: quotas started in FY2024 by 2024-05-15: 2000 (Jan) + 2000 (Apr) = 4000 (the July one is
    # in the full year only: 6000; the 2023-10 one is last year); won O1 1000 + O2 3000 = 4000 -> 1.0
    ann = reps["U1"]
    assert (ann["quota_ytd"], ann["quota_full_year"], ann["won_count_ytd"], ann["won_amount_ytd"]) == (
        4000, 6000, 2, 4000)
    assert ann["quota_attainment"] == 1.0
    # Cid: 3000 won / 3000 quota = 1.0 -> ties with Ann at rank 1; Bob 0 / 1000 = 0.0 -> rank 3
    # (rank() skips 2); Dee has no quota -> NULL attainment (never 0) and no attainment rank
    assert [reps[u]["attainment_rank"] for u in ("U1", "U3", "U2", "U4")] == [1, 1, 3, None]
    assert reps["U2"]["quota_attainment"] == 0.0
    assert reps["U4"]["quota_attainment"] is None
    # won amount 4000, 3000, then Bob and Dee tie at 0
    assert [reps[u]["won_amount_rank"] for u in ("U1", "U3", "U2", "U4")] == [1, 2, 3, 3]


def test_sotu_forecast_is_the_pipeline_as_it_stood_at_the_period_start(con):
    f = by(rows(con, "select * from marts.mart_sotu_forecast"), "period_grain", "period_label")
    # quarters FY2023-Q4 .. FY2024-Q2 and months 2023-10 .. 2024-05 (June starts after the as-of date)
    assert sorted(k for k in f if k[0] == "quarter") == [
        ("quarter", "FY2023-Q4"), ("quarter", "FY2024-Q1"), ("quarter", "FY2024-Q2")]
    assert len([k for k in f if k[0] == "month"]) == 8

    # Q2 starts 2024-04-01 00:00. Versions in force then with a close date in Q2:
    #   O4 version 2 (starts exactly at 00:00; version 1 ends then): Negotiation 2000 x 80% = 1600, Commit
    #   O2 version 1: Proposal 3000 x 60% = 1800, Best Case (not commit)
    #   O6 version 1 expected to close 2024-03-31 (Q1): out; O5 did not exist yet.
    # Closed won in Q2: O2 3000 + O6 3000 = 6000.
    q2 = f[("quarter", "FY2024-Q2")]
    assert (q2["closed_won_count"], q2["closed_won_amount"]) == (2, 6000)
    assert (q2["pipeline_count_at_start"], q2["pipeline_amount_at_start"]) == (2, 5000)
    assert q2["weighted_forecast"] == approx(3400)
    assert (q2["commit_count_at_start"], q2["commit_forecast"]) == (1, 2000)
    assert q2["won_vs_weighted_pct"] == approx(100 * 6000 / 3400)
    assert q2["won_vs_commit_pct"] == approx(300)
    assert q2["is_partial"] is True

    # Q1 starts 2024-01-01: only O6 version 1 existed (2500 x 80% = 2000, Commit, close 03-31);
    # won in Q1: O1 1000 -> 50 % of weighted, 40 % of commit
    q1 = f[("quarter", "FY2024-Q1")]
    assert (q1["weighted_forecast"], q1["commit_forecast"], q1["closed_won_amount"]) == (2000, 2500, 1000)
    assert (q1["won_vs_weighted_pct"], q1["won_vs_commit_pct"]) == (approx(50), approx(40))

    # May starts 2024-05-01 00:00: O6 version 2 (3000 x 90% = 2700, Commit, close 05-02) and O5
    # (4000 x 50% = 2000, close 05-30); O7 was created at 10:00 that day: not in the forecast
    may = f[("month", "2024-05")]
    assert may["weighted_forecast"] == approx(4700)
    assert (may["commit_forecast"], may["closed_won_amount"]) == (3000, 3000)

    # February: O1 version 1 (1000 x 50%) + O3 version 1 (500 x 10%) = 550; no commit -> ratio NULL
    feb = f[("month", "2024-02")]
    assert feb["weighted_forecast"] == approx(550)
    assert feb["commit_forecast"] == 0 and feb["won_vs_commit_pct"] is None

    # nothing at all in FY2023-Q4: zeros and NULL ratios, never an error
    q4 = f[("quarter", "FY2023-Q4")]
    assert (q4["weighted_forecast"], q4["won_vs_weighted_pct"], q4["won_vs_commit_pct"]) == (0, None, None)


# --------------------------------------------------------------------------- Pipeline


def test_pipeline_by_rep_per_quarter(con):
    p = by(rows(con, "select * from marts.mart_pipeline_by_rep"), "rep_id", "period_label")
    # Q2 (snapshot at the end of the as-of day): Bob holds O4 (version 2: 2000 x 80% = 1600) and O8
    # (700 x 50% = 350, open although its close date passed) -> 2 deals, 2700, weighted 1950
    bob = p[("U2", "FY2024-Q2")]
    assert (bob["open_pipeline_count"], bob["open_pipeline_amount"], bob["weighted_pipeline_amount"]) == (
        2, 2700, 1950)
    # nothing closed for Bob in Q2: win rate 0 / 0 -> NULL; his conversion KPI has 0 leads -> NULL
    assert (bob["won_count"], bob["lost_count"], bob["win_rate_pct"]) == (0, 0, None)
    assert (bob["leads_in_pipeline"], bob["conversion_rate_pct"], bob["avg_won_deal_size"]) == (0, None, None)
    # Q1 (snapshot 2024-04-01 00:00 = the end of 03-31): O4 still in version 1 (2000 x 50% = 1000)
    # + O8 350 = 1350; O3 lost in Q1 -> win rate 0 / (0 + 1) = 0 (not NULL)
    bob_q1 = p[("U2", "FY2024-Q1")]
    assert (bob_q1["weighted_pipeline_amount"], bob_q1["lost_count"], bob_q1["win_rate_pct"]) == (1350, 1, 0.0)

    # Ann Q2: O7 open (9000 x 10% = 900); O2 won 3000 after 40 days; conversion KPI 1 / 2 leads = 50 %
    ann = p[("U1", "FY2024-Q2")]
    assert (ann["open_pipeline_count"], ann["open_pipeline_amount"], ann["weighted_pipeline_amount"]) == (
        1, 9000, 900)
    assert (ann["won_count"], ann["won_amount"], ann["avg_won_deal_size"], ann["avg_sales_cycle_days"]) == (
        1, 3000, 3000, 40)
    assert (ann["win_rate_pct"], ann["leads_in_pipeline"], ann["conversion_rate_pct"]) == (100, 2, 50)

    # Dee's O9 has no history rows: open in Q1 and Q2 by its dates (created 03-10, still open)
    assert p[("U4", "FY2024-Q1")]["open_pipeline_amount"] == 100
    assert p[("U4", "FY2024-Q2")]["weighted_pipeline_amount"] == 20
    # FY2023-Q4: only Cid's O6 (version 1) was open; reps with nothing to show have no row
    assert [k for k in p if k[1] == "FY2023-Q4"] == [("U3", "FY2023-Q4")]


# --------------------------------------------------------------------------- Team activities


def test_activities_by_rep_per_week_and_month(con):
    a = by(rows(con, "select * from marts.mart_activities_by_rep"), "rep_id", "period_grain", "period_start")
    # Ann, week of Monday 2024-05-06: T1 call (done), T2 email (done), T3 task (open, due 05-10 <
    # as-of -> overdue) -> 3 tasks, 2 completed, 1 overdue, 1 call, 1 email, 0 meetings
    w = a[("U1", "week", d("2024-05-06"))]
    assert (w["activities_total"], w["tasks_total"], w["tasks_completed"], w["tasks_overdue"]) == (3, 3, 2, 1)
    assert (w["calls"], w["emails"], w["meetings"], w["period_end"]) == (1, 1, 0, d("2024-05-12"))
    # week of 2024-05-13: the meeting E1 (an event, not a task)
    w2 = a[("U1", "week", d("2024-05-13"))]
    assert (w2["activities_total"], w2["tasks_total"], w2["meetings"], w2["events_completed"]) == (1, 0, 1, 1)
    # T4 is due in the week of 2024-05-20, after the as-of date: no such week row ...
    assert ("U1", "week", d("2024-05-20")) not in a
    # ... but May started before the as-of date: T1, T2, T3, E1, T4 -> 5 activities, 4 tasks,
    # 2 calls (T1, T4), 1 email, 1 meeting
    m = a[("U1", "month", d("2024-05-01"))]
    assert (m["activities_total"], m["tasks_total"], m["tasks_completed"], m["tasks_overdue"]) == (5, 4, 2, 1)
    assert (m["calls"], m["emails"], m["meetings"], m["period_end"]) == (2, 1, 1, d("2024-05-31"))
    # T5 has no activity date: dated by its creation (2024-04-30, week of 04-29, April)
    assert a[("U1", "week", d("2024-04-29"))]["calls"] == 1
    assert a[("U1", "month", d("2024-04-01"))]["activities_total"] == 1
    # Bob's email; the integration user's activity is not a rep's
    assert a[("U2", "week", d("2024-05-13"))]["emails"] == 1
    assert not [k for k in a if k[0] == "API"]
    assert len(a) == 7


# --------------------------------------------------------------------------- Business performance


def test_business_performance_by_dimension_and_period(con):
    b = by(rows(con, "select * from marts.mart_business_performance"),
           "period_label", "dimension", "dimension_value")
    # FY2024 closed deals: O1 won 1000 (Ann, EMEA, Acme Oil/Energy/US, 30 days), O2 won 3000 (Ann,
    # EMEA, Bolt Retail/Retail/DE, 40 days), O3 lost (Bob, NA, Acme Oil), O6 won 3000 (Cid, NA,
    # Bolt Retail, 183 days)
    emea = b[("FY2024", "region", "EMEA")]
    assert (emea["closed_won_count"], emea["closed_won_amount"], emea["closed_lost_count"]) == (2, 4000, 0)
    assert (emea["win_rate_pct"], emea["avg_cycle_days"], emea["avg_won_deal_size"]) == (100, 35, 2000)
    na = b[("FY2024", "region", "NA")]
    assert (na["closed_won_count"], na["closed_lost_count"], na["win_rate_pct"], na["avg_cycle_days"]) == (
        1, 1, 50, 183)
    retail = b[("FY2024", "industry", "Retail")]
    assert (retail["closed_won_amount"], retail["avg_cycle_days"]) == (6000, approx((40 + 183) / 2))
    assert b[("FY2024", "billing_country", "US")]["win_rate_pct"] == 50
    acme = b[("FY2024", "account", "Acme Oil")]
    assert (acme["dimension_id"], acme["closed_won_amount"]) == ("A1", 1000)
    # per quarter: Q1 NA only lost O3 -> 0 won, win rate 0, no cycle
    na_q1 = b[("FY2024-Q1", "region", "NA")]
    assert (na_q1["closed_won_count"], na_q1["win_rate_pct"], na_q1["avg_cycle_days"]) == (0, 0, None)
    assert {k[1] for k in b} == {"region", "industry", "billing_country", "account", "product_family"}
    # FY2024 Software: O1 (600 of its lines) and O2 (1000 + 2000) won, O3 lost -> 2 won, 3600, 2/3 win rate;
    # Services: O1's 400 only. O6 has no line items, so it is in no family.
    software = b[("FY2024", "product_family", "Software")]
    assert (software["closed_won_count"], software["closed_won_amount"], software["closed_lost_count"]) == (2, 3600, 1)
    assert software["win_rate_pct"] == approx(200 / 3)
    services = b[("FY2024", "product_family", "Services")]
    assert (services["closed_won_count"], services["closed_won_amount"], services["avg_won_deal_size"]) == (1, 400, 400)


# --------------------------------------------------------------------------- Stage analysis


def test_stage_funnel_counts_times_and_bottleneck(con):
    s = by(rows(con, "select * from marts.mart_stage_funnel order by stage_order"), "stage_name")
    assert [r["stage_name"] for r in s.values()] == [
        "Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]

    # Proposal: entered by O1 O2 O3 O4 O5 O6 (6); moved forward: O1, O2 (to won), O4, O6 (to
    # Negotiation) = 4; lost: O3 = 1; still in: O5 = 1. Days per deal 30, 40, 36, 60, 25, 12 ->
    # average 203 / 6 = 33.83, median (30 + 36) / 2 = 33. Won now: O1 O2 O6 -> 3 / 6 = 50 %.
    p = s["Proposal"]
    assert (p["deals_entered"], p["deals_moved_forward"], p["deals_moved_back"], p["deals_lost"],
            p["deals_still_in_stage"]) == (6, 4, 0, 1, 1)
    assert p["avg_days_in_stage"] == approx(203 / 6)
    assert p["median_days_in_stage"] == approx(33)
    assert (p["stage_to_won_pct"], p["drop_off_pct"]) == (approx(50), approx(100 / 6))

    # Negotiation: O4 (current, 45 days) and O6 (two visits 100 + 10 = 110 days; once moved back,
    # once to won) -> entered 2 (a deal counts once), forward 1, back 1, still 1, avg = median 77.5
    n = s["Negotiation"]
    assert (n["deals_entered"], n["deals_moved_forward"], n["deals_moved_back"], n["deals_still_in_stage"]) == (
        2, 1, 1, 1)
    assert (n["avg_days_in_stage"], n["median_days_in_stage"]) == (approx(77.5), approx(77.5))

    # Prospecting: O3 (10 days, advanced) and O8 (116 days, still there) -> avg 63
    assert (s["Prospecting"]["deals_entered"], s["Prospecting"]["avg_days_in_stage"]) == (2, approx(63))

    # the slowest open stage is Negotiation (77.5 > 63 > 33.8): the only bottleneck
    assert [name for name, r in s.items() if r["is_bottleneck"]] == ["Negotiation"]

    # a stage nobody entered: zeros, and NULL ratios (0 / 0)
    q = s["Qualification"]
    assert (q["deals_entered"], q["avg_days_in_stage"], q["stage_to_won_pct"], q["drop_off_pct"]) == (
        0, None, None, None)
    # closed stages: no time in stage; all won deals sit in Closed Won
    won = s["Closed Won"]
    assert (won["deals_entered"], won["deals_still_in_stage"], won["avg_days_in_stage"], won["stage_to_won_pct"]) == (
        3, 3, None, 100)
    assert s["Closed Lost"]["deals_lost"] == 0  # sitting in the lost stage is not "lost from" it


# --------------------------------------------------------------------------- Leaderboard


def test_leaderboard_reps_measures_and_ranks_with_ties(con):
    r = by(rows(con, "select * from marts.mart_leaderboard_reps"), "rep_id")
    # Ann: leads in pipeline during FY2024 to date: L1 (until 2024-01-15) and L2 -> 2; generated in
    # it: L2 -> 1; won 2 deals, cycles 30 and 40 -> 35; completed activities in FY2024: T1, T2, E1, T5
    # (T3 open, T4 open and in the future) -> 4
    ann = r["U1"]
    assert (ann["leads_in_pipeline"], ann["leads_generated"], ann["won_deals"], ann["won_amount"]) == (2, 1, 2, 4000)
    assert (ann["avg_sales_cycle_days"], ann["activities"], ann["quota_attainment"]) == (35, 4, 1.0)
    # Bob: L3 left the pipeline on 2023-12-31 (not this year), L4 created 2024-05-10 -> 1 and 1
    assert (r["U2"]["leads_in_pipeline"], r["U2"]["leads_generated"], r["U2"]["activities"]) == (1, 1, 1)

    # overall: attainment (Ann 1.0 = Cid 1.0 > Bob 0.0 > Dee NULL), then won amount (4000 > 3000)
    assert [r[u]["overall_rank"] for u in ("U1", "U3", "U2", "U4")] == [1, 2, 3, 4]
    # tied attainment shares rank 1 and the next rank is 3
    assert [r[u]["attainment_rank"] for u in ("U1", "U3", "U2", "U4")] == [1, 1, 3, None]
    # leads generated: Ann 1, Bob 1 (tie, rank 1), Cid 0, Dee 0 (tie, rank 3)
    assert [r[u]["leads_generated_rank"] for u in ("U1", "U2", "U3", "U4")] == [1, 1, 3, 3]
    # shortest cycle first: Ann 35, Cid 183; no won deal -> NULL rank
    assert [r[u]["sales_cycle_rank"] for u in ("U1", "U3", "U2", "U4")] == [1, 2, None, None]


def test_leaderboard_teams(con):
    t = by(rows(con, "select * from marts.mart_leaderboard_teams"), "team_id")
    # Team Mia (Ann + Bob): quota 4000 + 1000 = 5000, won 4000 -> 0.8; Team Max (Cid + Dee): only
    # Cid has a quota: 3000 / 3000 = 1.0 (Dee neither adds won amount nor quota)
    mia, mx = t["M1"], t["M2"]
    assert (mia["team_name"], mia["rep_count"], mia["quota_ytd"], mia["quota_attainment"]) == (
        "Team Mia", 2, 5000, approx(0.8))
    assert (mx["quota_ytd"], mx["won_amount_with_quota"], mx["quota_attainment"]) == (3000, 3000, 1.0)
    # won-deal-weighted cycle: Mia = Ann's 2 deals at 35 -> 35; Max = Cid's 1 deal at 183
    assert (mia["avg_sales_cycle_days"], mx["avg_sales_cycle_days"]) == (35, 183)
    assert (mia["leads_in_pipeline"], mia["activities"], mia["won_deals"]) == (3, 5, 2)
    # Max leads on attainment, Mia on everything else
    assert (mx["overall_rank"], mia["overall_rank"]) == (1, 2)
    assert (mia["won_amount_rank"], mia["sales_cycle_rank"], mx["sales_cycle_rank"]) == (1, 1, 2)


def test_win_rate_with_zero_denominator_is_null_not_zero():
    # one rep, one quarter, one open deal and nothing closed: 0 won / (0 + 0) -> NULL
    con = story_warehouse()
    con.execute("delete from core.fct_opportunity where opportunity_id <> 'O9'")
    con.execute("delete from core.fct_opportunity_history")
    run_mart(con, "mart_pipeline_by_rep")
    run_mart(con, "mart_business_performance")
    found = rows(con, "select win_rate_pct, avg_won_deal_size, avg_sales_cycle_days from marts.mart_pipeline_by_rep")
    assert found and all(r == dict(win_rate_pct=None, avg_won_deal_size=None, avg_sales_cycle_days=None)
                         for r in found)
    assert con.execute("select count(*) from marts.mart_business_performance").fetchall() == [(0,)]


def test_fiscal_year_start_month_moves_the_current_year():
    # with a fiscal year starting in April, 2024-05-15 lies in FY2025 (2024-04-01..2025-03-31):
    # of Ann's won deals only O2 (closed 2024-04-10, 3000) is in it; O1 (2024-02-09) is not
    con = story_warehouse()
    con.execute("update core.dim_run set fiscal_year_start_month = 4")
    con.execute("delete from core.dim_period")
    insert(con, "core.dim_period", [dict(period_type="year", period_start=d("2024-04-01"),
                                         period_end=d("2025-03-31"), period_label="FY2025", is_partial=True,
                                         effective_end=d("2024-05-15"))])
    run_mart(con, "mart_sotu_top_reps")
    ann = rows(con, "select * from marts.mart_sotu_top_reps where rep_id = 'U1'")[0]
    # quotas from 2024-04-01: April 2000 (started) and July 2000 (not yet): ytd 2000, full year 4000
    assert (ann["fiscal_year_label"], ann["won_amount_ytd"], ann["quota_ytd"], ann["quota_full_year"]) == (
        "FY2025", 3000, 2000, 4000)
    assert ann["quota_attainment"] == 1.5
