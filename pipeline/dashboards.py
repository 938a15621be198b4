"""The six dashboards as static HTML pages, rendered from the marts.

Each page is one self-contained HTML file with plotly charts and plain HTML tables. The
charting library is written once beside the pages (`plotly.min.js`, loaded with a
relative `<script src>`), so the pages open offline from the file system: no CDN, no
server, no network. `publish_pages` renders into a temporary folder next to the target
and swaps it into place at the end, so a reader never sees half a set of pages.

Numbers are formatted for people: money in the corporate currency with thousands
separators, percents with one decimal, days with one decimal.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import html
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline

PLOTLY_JS = "plotly.min.js"

# Tables the pages read (the asset's dependencies).
SOURCE_TABLES = (
    ("core", "dim_run"),
    ("core", "dim_period"),
    ("marts", "mart_sotu_scorecard"),
    ("marts", "mart_sotu_notable_deals"),
    ("marts", "mart_sotu_top_reps"),
    ("marts", "mart_sotu_forecast"),
    ("marts", "mart_pipeline_by_rep"),
    ("marts", "mart_activities_by_rep"),
    ("marts", "mart_business_performance"),
    ("marts", "mart_stage_funnel"),
    ("marts", "mart_leaderboard_reps"),
    ("marts", "mart_leaderboard_teams"),
)

KPI_LABELS = {
    "annual_contract_value": "Annual contract value",
    "customer_lifetime_value": "Customer lifetime value",
    "new_leads": "New leads",
    "lead_age": "Lead age",
    "conversion_rate": "Conversion rate",
    "employee_retention": "Employee retention",
    "ramp_time": "Ramp time",
    "referrals": "Referrals",
    "customer_retention": "Customer retention",
}
STATUS_LABELS = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track", "no_target": "No target"}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

# A calm palette, one colour per meaning across pages.
BLUE, TEAL, ORANGE, GREY, RED, GREEN, PURPLE = (
    "#2563eb", "#0d9488", "#f59e0b", "#94a3b8", "#dc2626", "#16a34a", "#7c3aed")


# --------------------------------------------------------------------------- formatting


@dataclass(frozen=True)
class Context:
    as_of: dt.date | None
    currency: str
    fiscal_year_label: str
    year_start: dt.date | None
    year_end: dt.date | None


def money(value, currency: str) -> str:
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency)
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):,.0f}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def percent(value) -> str:
    return "—" if value is None else f"{value:,.1f}%"


def ratio_percent(value) -> str:
    """An attainment ratio (1.0 = 100 %) as a percent."""
    return "—" if value is None else f"{value * 100:,.1f}%"


def count(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def days(value) -> str:
    return "—" if value is None else f"{value:,.1f} days"


def date(value) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d")


def by_unit(value, unit: str, currency: str) -> str:
    if unit == "currency":
        return money(value, currency)
    if unit == "percent":
        return percent(value)
    if unit == "days":
        return days(value)
    return count(value)


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


# --------------------------------------------------------------------------- data


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def read_context(con) -> Context:
    run = rows(con, "select as_of_date, corporate_currency from core.dim_run")
    as_of = run[0]["as_of_date"] if run else None
    currency = (run[0]["corporate_currency"] if run else None) or "USD"
    year = rows(con, """
        select period_start, period_end, period_label from core.dim_period
        where period_type = 'year' and ? between period_start and period_end""", [as_of]) if as_of else []
    if year:
        return Context(as_of, currency, year[0]["period_label"], year[0]["period_start"], year[0]["period_end"])
    return Context(as_of, currency, "—", None, None)


# --------------------------------------------------------------------------- building blocks


class Charts:
    """Numbers the charts of one page so their div ids are stable between runs."""

    def __init__(self, page: str):
        self.page, self.n = page, 0

    def html(self, fig: go.Figure, height: int = 360) -> str:
        self.n += 1
        fig.update_layout(
            template="plotly_white",
            height=height,
            margin=dict(l=60, r=20, t=40, b=50),
            font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13),
            legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        )
        return pio.to_html(
            fig, full_html=False, include_plotlyjs=False, div_id=f"{self.page}-chart-{self.n}",
            default_height=f"{height}px", config={"displaylogo": False, "displayModeBar": False, "responsive": True},
        )


def table(headers: list[str], body: list[list], numeric: set[int] | None = None, empty: str = "No rows.") -> str:
    if not body:
        return f'<p class="empty">{esc(empty)}</p>'
    numeric = numeric or set()
    def attr(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{attr(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    lines = []
    for row in body:
        cells = "".join(
            f"<td{attr(i)}>{c if isinstance(c, Raw) else esc(c)}</td>"
            for i, c in enumerate(row))
        lines.append(f"<tr>{cells}</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'


class Raw(str):
    """Trusted HTML for a table cell (built here from escaped parts)."""


def badge(status: str | None) -> Raw:
    status = status or "no_target"
    return Raw(f'<span class="badge {esc(status)}">{esc(STATUS_LABELS.get(status, status))}</span>')


def tiles(items: list[tuple[str, str, str]]) -> str:
    cells = "".join(
        f'<div class="tile"><div class="tile-label">{esc(label)}</div><div class="tile-value">{esc(value)}</div>'
        f'<div class="tile-note">{esc(note)}</div></div>' for label, value, note in items)
    return f'<section class="tiles">{cells}</section>'


def card(title: str, body: str, note: str = "", source: str = "") -> str:
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    source_html = f'<p class="source">Source: <code>{esc(source)}</code></p>' if source else ""
    return f'<section class="card"><h2>{esc(title)}</h2>{note_html}{body}{source_html}</section>'


def grid(*cards: str) -> str:
    return f'<div class="grid">{"".join(cards)}</div>'


def no_data(what: str) -> str:
    return f'<p class="empty">No {esc(what)} in this export.</p>'


# --------------------------------------------------------------------------- pages


def page_sotu(con, ctx: Context, charts: Charts) -> str:
    scorecard = rows(con, "select * from marts.mart_sotu_scorecard order by kpi")
    forecast = rows(con, "select * from marts.mart_sotu_forecast order by period_start")
    reps = rows(con, "select * from marts.mart_sotu_top_reps order by attainment_rank nulls last, won_amount_rank")
    deals = rows(con, "select * from marts.mart_sotu_notable_deals order by deal_category, deal_rank")
    quarters = [r for r in forecast if r["period_grain"] == "quarter"]
    months = [r for r in forecast if r["period_grain"] == "month"
              and ctx.year_start is not None and r["period_start"] >= ctx.year_start]
    fy_quarters = [q for q in quarters if ctx.year_start is not None and q["period_start"] >= ctx.year_start]
    current_q = next((q for q in quarters if ctx.as_of and q["period_start"] <= ctx.as_of <= q["period_end"]), None)
    with_target = [s for s in scorecard if s["status"] != "no_target"]
    on_track = [s for s in with_target if s["status"] == "on_track"]

    out = [tiles([
        ("Closed won, " + ctx.fiscal_year_label + " YTD",
         money(sum(q["closed_won_amount"] for q in fy_quarters), ctx.currency),
         f'{count(sum(q["closed_won_count"] for q in fy_quarters))} deals'),
        ("Weighted forecast, this quarter", money(current_q["weighted_forecast"] if current_q else None, ctx.currency),
         "pipeline at the quarter's start"),
        ("Commit forecast, this quarter", money(current_q["commit_forecast"] if current_q else None, ctx.currency),
         "Commit + Closed at the quarter's start"),
        ("KPIs on track", f"{len(on_track)} of {len(with_target)}", "KPIs with a target"),
    ])]

    body = [[
        KPI_LABELS.get(s["kpi"], s["kpi"]),
        s["period_label"],
        by_unit(s["value"], s["unit"], ctx.currency),
        by_unit(s["target_value"], s["unit"], ctx.currency),
        ratio_percent(s["attainment"]),
        badge(s["status"]),
        by_unit(s["current_quarter_value"], s["unit"], ctx.currency) if s["current_quarter_start"] else "",
    ] for s in scorecard]
    out.append(card(
        "KPI scorecard, fiscal year to date",
        table(["KPI", "Period", "Value", "Target", "Attainment", "Status", "This quarter"], body, {2, 3, 4, 6},
              "No KPI values yet."),
        "Yearly KPIs for the fiscal year so far, quarterly KPIs summed over its quarters, lead age at the as-of date. "
        "Attainment 100% = on target (lower-is-better KPIs are inverted).",
        "marts.mart_sotu_scorecard"))

    def forecast_chart(points: list[dict], title: str) -> str:
        if not points:
            return no_data("periods")
        x = [p["period_label"] for p in points]
        fig = go.Figure([
            go.Bar(name="Closed won", x=x, y=[p["closed_won_amount"] for p in points], marker_color=GREEN),
            go.Bar(name="Weighted forecast", x=x, y=[p["weighted_forecast"] for p in points], marker_color=BLUE),
            go.Bar(name="Commit forecast", x=x, y=[p["commit_forecast"] for p in points], marker_color=ORANGE),
        ])
        fig.update_layout(barmode="group", yaxis_title=ctx.currency, yaxis_tickformat=",.0f", title=title,
                          xaxis_type="category")
        return charts.html(fig)

    out.append(grid(
        card("Closed won vs forecast, per quarter", forecast_chart(quarters[-8:], ""),
             "Forecasts are the pipeline with a close date in the quarter as it stood on the quarter's first day "
             "(rebuilt from opportunity history).", "marts.mart_sotu_forecast"),
        card(f"Closed won vs forecast, per month of {ctx.fiscal_year_label}", forecast_chart(months, ""),
             "Same, per calendar month.", "marts.mart_sotu_forecast"),
    ))

    top = [r for r in reps if r["quota_attainment"] is not None][:10]
    if top:
        fig = go.Figure(go.Bar(
            x=[r["quota_attainment"] * 100 for r in top][::-1], y=[r["rep_name"] for r in top][::-1],
            orientation="h", marker_color=TEAL, text=[ratio_percent(r["quota_attainment"]) for r in top][::-1],
            textposition="auto"))
        fig.update_layout(xaxis_title="Quota attainment (%)", xaxis_ticksuffix="%")
        rep_chart = charts.html(fig, height=max(260, 40 * len(top) + 100))
    else:
        by_won = sorted(reps, key=lambda r: -(r["won_amount_ytd"] or 0))[:10]
        if by_won:
            fig = go.Figure(go.Bar(
                x=[r["won_amount_ytd"] for r in by_won][::-1], y=[r["rep_name"] for r in by_won][::-1],
                orientation="h", marker_color=TEAL))
            fig.update_layout(xaxis_title=f"Closed won ({ctx.currency}) — no quotas in the export",
                              xaxis_tickformat=",.0f")
            rep_chart = charts.html(fig, height=max(260, 40 * len(by_won) + 100))
        else:
            rep_chart = no_data("reps")
    rep_table = table(
        ["#", "Rep", "Team", "Quota YTD", "Won YTD", "Won deals", "Attainment"],
        [[r["attainment_rank"] or "—", r["rep_name"], r["team_name"] or "—", money(r["quota_ytd"], ctx.currency),
          money(r["won_amount_ytd"], ctx.currency), count(r["won_count_ytd"]), ratio_percent(r["quota_attainment"])]
         for r in reps[:10]], {0, 3, 4, 5, 6}, "No reps.")
    out.append(grid(
        card("Top reps by quota attainment", rep_chart,
             "Won amount this fiscal year ÷ quotas of the periods started so far.", "marts.mart_sotu_top_reps"),
        card("Top reps, table", rep_table, "", "marts.mart_sotu_top_reps"),
    ))

    def deal_table(category: str) -> str:
        chosen = [d for d in deals if d["deal_category"] == category]
        return table(
            ["#", "Deal", "Account", "Owner", "Stage", "Close date", "Amount", "Probability"],
            [[d["deal_rank"], d["opportunity_name"], d["account_name"], d["owner_name"], d["stage_name"],
              date(d["close_date"]) + (f' ({d["days_past_close"]} days late)' if d["days_past_close"] else ""),
              money(d["amount_corporate"], ctx.currency), percent(d["probability"])] for d in chosen],
            {0, 6, 7}, "No deals.")

    out.append(card(f"Largest open deals closing in {ctx.fiscal_year_label}", deal_table("open"),
                    "Open deals with a close date in the fiscal year, by amount.", "marts.mart_sotu_notable_deals"))
    out.append(card(f"Largest deals won in {ctx.fiscal_year_label}", deal_table("closed_won"), "",
                    "marts.mart_sotu_notable_deals"))
    return "".join(out)


def page_pipeline(con, ctx: Context, charts: Charts) -> str:
    data = rows(con, "select * from marts.mart_pipeline_by_rep order by period_start, rep_name")
    if not data:
        return card("Pipeline", no_data("pipeline"), source="marts.mart_pipeline_by_rep")
    latest_start = max(r["period_start"] for r in data)
    current = sorted([r for r in data if r["period_start"] == latest_start],
                     key=lambda r: -(r["open_pipeline_amount"] or 0))
    label = current[0]["period_label"]
    won = sum(r["won_count"] for r in current)
    lost = sum(r["lost_count"] for r in current)
    out = [tiles([
        ("Open deals", count(sum(r["open_pipeline_count"] for r in current)), f"at the end of {label} (or now)"),
        ("Open pipeline", money(sum(r["open_pipeline_amount"] for r in current), ctx.currency), label),
        ("Weighted pipeline", money(sum(r["weighted_pipeline_amount"] for r in current), ctx.currency),
         "amount × probability"),
        ("Win rate", percent(100.0 * won / (won + lost) if won + lost else None), f"{won} won, {lost} lost in {label}"),
    ])]

    names = [r["rep_name"] for r in current][::-1]
    fig = go.Figure([
        go.Bar(name="Open pipeline", y=names, x=[r["open_pipeline_amount"] for r in current][::-1],
               orientation="h", marker_color=GREY),
        go.Bar(name="Weighted pipeline", y=names, x=[r["weighted_pipeline_amount"] for r in current][::-1],
               orientation="h", marker_color=BLUE),
    ])
    fig.update_layout(barmode="group", xaxis_title=ctx.currency, xaxis_tickformat=",.0f")
    by_rep_chart = charts.html(fig, height=max(300, 48 * len(current) + 120))

    quarters = sorted({r["period_label"]: r["period_start"] for r in data}.items(), key=lambda kv: kv[1])[-8:]
    labels = [q for q, _ in quarters]
    rep_names = sorted({r["rep_name"] for r in data})
    amounts: dict[tuple, float] = {}  # one pass: a scan per rep and quarter took 41 s with 2,000 reps
    for r in data:
        key = (r["rep_name"], r["period_label"])
        amounts[key] = amounts.get(key, 0) + r["open_pipeline_amount"]
    trend = go.Figure([
        go.Bar(name=name, x=labels, y=[amounts.get((name, q), 0) for q in labels]) for name in rep_names])
    trend.update_layout(barmode="stack", yaxis_title=ctx.currency, yaxis_tickformat=",.0f")
    out.append(grid(
        card(f"Open and weighted pipeline per rep, {label}", by_rep_chart,
             "Deals open at the end of the quarter (the as-of date for the running one), as they stood then.",
             "marts.mart_pipeline_by_rep"),
        card("Open pipeline per quarter", charts.html(trend), "Stacked by rep.", "marts.mart_pipeline_by_rep"),
    ))
    out.append(card(
        f"Reps, {label}",
        table(["Rep", "Team", "Open deals", "Open pipeline", "Weighted", "Won", "Won amount", "Avg won deal",
               "Avg cycle", "Win rate", "Conversion rate"],
              [[r["rep_name"], r["team_name"] or "—", count(r["open_pipeline_count"]),
                money(r["open_pipeline_amount"], ctx.currency), money(r["weighted_pipeline_amount"], ctx.currency),
                count(r["won_count"]), money(r["won_amount"], ctx.currency),
                money(r["avg_won_deal_size"], ctx.currency), days(r["avg_sales_cycle_days"]),
                percent(r["win_rate_pct"]), percent(r["conversion_rate_pct"])] for r in current],
              set(range(2, 11))),
        "Win rate = won ÷ (won + lost) closed in the quarter; conversion rate = won deals ÷ leads in the pipeline "
        "(the conversion_rate KPI).", "marts.mart_pipeline_by_rep"))
    return "".join(out)


def page_activities(con, ctx: Context, charts: Charts) -> str:
    data = rows(con, "select * from marts.mart_activities_by_rep order by period_start, rep_name")
    if not data:
        return card("Team activities", no_data("tasks or events"), source="marts.mart_activities_by_rep")
    weeks = [r for r in data if r["period_grain"] == "week"]
    months = [r for r in data if r["period_grain"] == "month"]
    latest_month = max(r["period_start"] for r in months)
    this_month = sorted([r for r in months if r["period_start"] == latest_month], key=lambda r: -r["activities_total"])
    month_label = latest_month.strftime("%B %Y")
    out = [tiles([
        ("Activities", count(sum(r["activities_total"] for r in this_month)), month_label),
        ("Calls", count(sum(r["calls"] for r in this_month)), month_label),
        ("Emails", count(sum(r["emails"] for r in this_month)), month_label),
        ("Meetings", count(sum(r["meetings"] for r in this_month)), month_label),
        ("Overdue tasks", count(sum(r["tasks_overdue"] for r in this_month)), "open, due before the as-of date"),
    ])]

    week_starts = sorted({r["period_start"] for r in weeks})[-13:]
    x = [w.strftime("%Y-%m-%d") for w in week_starts]

    def total(field: str, start) -> int:
        return sum(r[field] for r in weeks if r["period_start"] == start)

    other = [total("activities_total", w) - total("calls", w) - total("emails", w) - total("meetings", w)
             for w in week_starts]
    fig = go.Figure([
        go.Bar(name="Calls", x=x, y=[total("calls", w) for w in week_starts], marker_color=BLUE),
        go.Bar(name="Emails", x=x, y=[total("emails", w) for w in week_starts], marker_color=TEAL),
        go.Bar(name="Meetings", x=x, y=[total("meetings", w) for w in week_starts], marker_color=ORANGE),
        go.Bar(name="Other tasks", x=x, y=other, marker_color=GREY),
    ])
    fig.update_layout(barmode="stack", xaxis_title="Week starting", yaxis_title="Activities", xaxis_type="category")

    names = [r["rep_name"] for r in this_month][::-1]
    per_rep = go.Figure([
        go.Bar(name="Calls", y=names, x=[r["calls"] for r in this_month][::-1], orientation="h", marker_color=BLUE),
        go.Bar(name="Emails", y=names, x=[r["emails"] for r in this_month][::-1], orientation="h", marker_color=TEAL),
        go.Bar(name="Meetings", y=names, x=[r["meetings"] for r in this_month][::-1], orientation="h",
               marker_color=ORANGE),
        go.Bar(name="Other tasks", y=names,
               x=[r["activities_total"] - r["calls"] - r["emails"] - r["meetings"] for r in this_month][::-1],
               orientation="h", marker_color=GREY),
    ])
    per_rep.update_layout(barmode="stack", xaxis_title="Activities")
    out.append(grid(
        card("Activities per week, whole team (last 13 weeks)", charts.html(fig),
             "Tasks by due date, events by date.", "marts.mart_activities_by_rep"),
        card(f"Activities per rep, {month_label}", charts.html(per_rep, height=max(300, 40 * len(names) + 120)),
             "", "marts.mart_activities_by_rep"),
    ))
    headers = ["Rep", "Team", "Tasks", "Completed", "Overdue", "Calls", "Emails", "Meetings"]

    def line(r):
        return [r["rep_name"], r["team_name"] or "—", count(r["tasks_total"]), count(r["tasks_completed"]),
                count(r["tasks_overdue"]), count(r["calls"]), count(r["emails"]), count(r["meetings"])]

    recent_weeks = sorted({r["period_start"] for r in weeks})[-4:]
    week_rows = [[date(r["period_start"])] + line(r)
                 for r in sorted(weeks, key=lambda r: (r["period_start"], r["rep_name"]), reverse=True)
                 if r["period_start"] in recent_weeks]
    out.append(grid(
        card(f"Per rep, {month_label}", table(headers, [line(r) for r in this_month], set(range(2, 8))),
             "", "marts.mart_activities_by_rep"),
        card("Per rep and week (last 4 weeks)", table(["Week"] + headers, week_rows, set(range(3, 9))),
             "", "marts.mart_activities_by_rep"),
    ))
    return "".join(out)


def page_business(con, ctx: Context, charts: Charts) -> str:
    # The account rows (one per account and period: 3.6M at enterprise scale, 4.9 GB as Python dicts) are
    # summed and ranked in DuckDB; only the other dimensions come to Python whole.
    data = rows(con, "select * from marts.mart_business_performance where dimension <> 'account' "
                     "order by period_start, dimension")
    this_year = "dimension = 'account' and period_type = 'year' and period_start = ?"
    top_accounts = rows(con, f"select * from marts.mart_business_performance where {this_year} "
                             "order by closed_won_amount desc, dimension_value limit 12", [ctx.year_start])
    accounts = rows(con, f"""select coalesce(sum(closed_won_amount), 0) as won, coalesce(sum(closed_won_count), 0)
        as won_n, coalesce(sum(closed_lost_count), 0) as lost_n, count(distinct dimension_id) as accounts
        from marts.mart_business_performance where {this_year}""", [ctx.year_start])[0]
    fy = [r for r in data if r["period_type"] == "year" and r["period_start"] == ctx.year_start] + top_accounts
    out = []
    won, won_n, lost_n = accounts["won"], accounts["won_n"], accounts["lost_n"]
    out.append(tiles([
        (f"Closed won, {ctx.fiscal_year_label}", money(won, ctx.currency), f"{count(won_n)} deals"),
        ("Win rate", percent(100.0 * won_n / (won_n + lost_n) if won_n + lost_n else None),
         f"{count(won_n)} won, {count(lost_n)} lost"),
        ("Regions", count(len({r["dimension_value"] for r in fy if r["dimension"] == "region"})), "with closed deals"),
        ("Accounts", count(accounts["accounts"]), "with closed deals"),
    ]))

    def dim_chart(dimension: str, title: str, color: str) -> str:
        chosen = sorted([r for r in fy if r["dimension"] == dimension], key=lambda r: -r["closed_won_amount"])[:12]
        if not chosen:
            return card(title, no_data(f"closed deals in {ctx.fiscal_year_label}"),
                        source="marts.mart_business_performance")
        fig = go.Figure(go.Bar(
            x=[r["closed_won_amount"] for r in chosen][::-1], y=[r["dimension_value"] for r in chosen][::-1],
            orientation="h", marker_color=color,
            customdata=[[percent(r["win_rate_pct"]), r["closed_won_count"], days(r["avg_cycle_days"])]
                        for r in chosen][::-1],
            hovertemplate="%{y}<br>Won: %{x:,.0f}<br>Deals: %{customdata[1]}<br>Win rate: %{customdata[0]}"
                          "<br>Avg cycle: %{customdata[2]}<extra></extra>"))
        fig.update_layout(xaxis_title=f"Closed won ({ctx.currency})", xaxis_tickformat=",.0f")
        return card(title, charts.html(fig, height=max(260, 34 * len(chosen) + 110)),
                    f"{ctx.fiscal_year_label}, by closed-won amount.", "marts.mart_business_performance")

    out.append(grid(dim_chart("region", "By region (deal owner's division)", BLUE),
                    dim_chart("industry", "By industry", TEAL)))
    out.append(grid(dim_chart("billing_country", "By billing country", PURPLE),
                    dim_chart("account", "Top accounts", ORANGE)))

    out.append(grid(dim_chart("product_family", "By product family (line items)", BLUE), ""))

    quarters = [r for r in data if r["period_type"] == "quarter" and r["dimension"] == "region"]
    if quarters:
        labels = sorted({r["period_label"]: r["period_start"] for r in quarters}.items(), key=lambda kv: kv[1])[-8:]
        x = [q for q, _ in labels]
        regions = sorted({r["dimension_value"] for r in quarters})
        fig = go.Figure([go.Bar(name=reg, x=x, y=[sum(r["closed_won_amount"] for r in quarters
                                                      if r["dimension_value"] == reg and r["period_label"] == q)
                                                  for q in x]) for reg in regions])
        fig.update_layout(barmode="stack", yaxis_title=ctx.currency, yaxis_tickformat=",.0f")
        trend = charts.html(fig)
    else:
        trend = no_data("closed deals")
    body = [[r["dimension"].replace("_", " "), r["dimension_value"], count(r["closed_won_count"]),
             money(r["closed_won_amount"], ctx.currency), count(r["closed_lost_count"]), percent(r["win_rate_pct"]),
             days(r["avg_cycle_days"]), money(r["avg_won_deal_size"], ctx.currency)]
            for r in sorted(fy, key=lambda r: (r["dimension"], -r["closed_won_amount"]))
            if r["dimension"] != "account"]
    out.append(card("Closed won per quarter, by region", trend, "", "marts.mart_business_performance"))
    out.append(card(
        f"All dimensions, {ctx.fiscal_year_label}",
        table(["Dimension", "Value", "Won", "Won amount", "Lost", "Win rate", "Avg cycle", "Avg deal"], body,
              set(range(2, 8)), f"No closed deals in {ctx.fiscal_year_label}."),
        "Product family amounts are the deals' line items in that family.",
        "marts.mart_business_performance"))
    return "".join(out)


def page_stages(con, ctx: Context, charts: Charts) -> str:
    stages = rows(con, "select * from marts.mart_stage_funnel order by stage_order")
    entered = [s for s in stages if s["deals_entered"] > 0]
    if not entered:
        return card("Stage analysis", no_data("stage history"), source="marts.mart_stage_funnel")
    bottleneck = next((s for s in stages if s["is_bottleneck"]), None)
    busiest = max(entered, key=lambda s: (s["deals_entered"], -s["stage_order"]))
    funnel_stages = [s for s in stages if not s["is_closed"] or s["is_won"]]
    out = [tiles([
        ("Bottleneck", bottleneck["stage_name"] if bottleneck else "—",
         f'avg {days(bottleneck["avg_days_in_stage"])} in stage' if bottleneck else "no open stage entered"),
        ("Busiest stage", busiest["stage_name"], f'{count(busiest["deals_entered"])} deals entered it'),
        ("Still open", count(sum(s["deals_still_in_stage"] for s in stages if not s["is_closed"])),
         "deals in an open stage"),
        ("Won", count(sum(s["deals_still_in_stage"] for s in stages if s["is_won"])), "deals in a won stage"),
    ])]
    funnel = go.Figure(go.Funnel(
        y=[s["stage_name"] for s in funnel_stages], x=[s["deals_entered"] for s in funnel_stages],
        textinfo="value", marker_color=[GREEN if s["is_won"] else BLUE for s in funnel_stages]))
    funnel.update_layout(margin=dict(l=160))
    open_stages = [s for s in stages if not s["is_closed"]]
    colors = [RED if s["is_bottleneck"] else BLUE for s in open_stages]
    times = go.Figure([
        go.Bar(name="Average days", x=[s["stage_name"] for s in open_stages],
               y=[s["avg_days_in_stage"] for s in open_stages], marker_color=colors),
        go.Bar(name="Median days", x=[s["stage_name"] for s in open_stages],
               y=[s["median_days_in_stage"] for s in open_stages], marker_color=GREY),
    ])
    times.update_layout(barmode="group", yaxis_title="Days in stage")
    out.append(grid(
        card("Funnel: deals that entered each stage",
             charts.html(funnel, height=max(320, 44 * len(funnel_stages) + 80)),
             "Each deal counts once per stage it reached; deals may skip stages.", "marts.mart_stage_funnel"),
        card("Time in stage", charts.html(times, height=max(320, 44 * len(funnel_stages) + 80)),
             "Days per deal, running visits counted to the as-of date; the bottleneck (slowest open stage) in red.",
             "marts.mart_stage_funnel"),
    ))
    body = [[s["stage_order"], Raw(esc(s["stage_name"]) + (' <span class="badge off_track">bottleneck</span>'
                                                            if s["is_bottleneck"] else "")),
             count(s["deals_entered"]), count(s["deals_moved_forward"]), count(s["deals_moved_back"]),
             count(s["deals_lost"]), count(s["deals_still_in_stage"]), days(s["avg_days_in_stage"]),
             days(s["median_days_in_stage"]), percent(s["stage_to_won_pct"]), percent(s["drop_off_pct"])]
            for s in stages]
    out.append(card("Stages in order", table(
        ["#", "Stage", "Entered", "Moved forward", "Moved back", "Lost", "Still in", "Avg days", "Median days",
         "Stage → won", "Drop-off"], body, {0} | set(range(2, 11))),
        "Stage → won: share of the deals that entered the stage that are won now. Drop-off: share lost from it.",
        "marts.mart_stage_funnel"))
    return "".join(out)


def page_leaderboard(con, ctx: Context, charts: Charts) -> str:
    reps = rows(con, "select * from marts.mart_leaderboard_reps order by overall_rank, rep_name")
    teams = rows(con, "select * from marts.mart_leaderboard_teams order by overall_rank, team_name")
    if not reps:
        return card("Leaderboard", no_data("reps"), source="marts.mart_leaderboard_reps")
    leader = reps[0]
    out = [tiles([
        ("Leader", leader["rep_name"], f'attainment {ratio_percent(leader["quota_attainment"])}'
         if leader["quota_attainment"] is not None else f'{money(leader["won_amount"], ctx.currency)} won'),
        ("Reps", count(len(reps)), ctx.fiscal_year_label),
        ("Teams", count(len(teams)), ctx.fiscal_year_label),
        ("Won deals", count(sum(r["won_deals"] for r in reps)), f"{ctx.fiscal_year_label} YTD"),
    ])]

    def rank_cell(value: str, rank) -> Raw:
        return Raw(esc(value) + (f' <span class="rank">#{esc(rank)}</span>' if rank is not None else ""))

    def board(items: list[dict], name_key: str, extra: list[str]) -> str:
        body = []
        for r in items:
            row = [r["overall_rank"], r[name_key]]
            row += [r.get(k) or "—" for k in extra]
            row += [rank_cell(ratio_percent(r["quota_attainment"]), r["attainment_rank"]),
                    rank_cell(money(r["won_amount"], ctx.currency), r["won_amount_rank"]),
                    rank_cell(count(r["won_deals"]), r["won_deals_rank"]),
                    rank_cell(count(r["leads_in_pipeline"]), r["leads_in_pipeline_rank"]),
                    rank_cell(count(r["leads_generated"]), r["leads_generated_rank"]),
                    rank_cell(days(r["avg_sales_cycle_days"]), r["sales_cycle_rank"]),
                    rank_cell(count(r["activities"]), r["activities_rank"])]
            body.append(row)
        headers = ["Rank", "Name"] + [e.replace("_", " ").capitalize() for e in extra] + [
            "Quota attainment", "Won amount", "Won deals", "Leads in pipeline", "Leads generated", "Avg sales cycle",
            "Activities"]
        first_num = 2 + len(extra)
        return table(headers, body, {0} | set(range(first_num, first_num + 7)))

    top = sorted(reps, key=lambda r: -(r["won_amount"] or 0))[:15]
    fig = go.Figure(go.Bar(x=[r["won_amount"] for r in top][::-1], y=[r["rep_name"] for r in top][::-1],
                           orientation="h", marker_color=TEAL))
    fig.update_layout(xaxis_title=f"Won amount ({ctx.currency})", xaxis_tickformat=",.0f")
    tfig = go.Figure(go.Bar(x=[t["team_name"] for t in teams], y=[t["won_amount"] for t in teams],
                            marker_color=PURPLE))
    tfig.update_layout(yaxis_title=f"Won amount ({ctx.currency})", yaxis_tickformat=",.0f")
    out.append(grid(
        card(f"Won amount per rep, {ctx.fiscal_year_label} YTD", charts.html(fig, height=max(300, 34 * len(top) + 110)),
             "", "marts.mart_leaderboard_reps"),
        card(f"Won amount per team, {ctx.fiscal_year_label} YTD", charts.html(tfig), "",
             "marts.mart_leaderboard_teams"),
    ))
    out.append(card("Reps", board(reps, "rep_name", ["team_name"]),
                    "Ranked by quota attainment, then won amount; #n is the rep's rank on each measure (ties share "
                    "a rank; shortest sales cycle ranks first).", "marts.mart_leaderboard_reps"))
    out.append(card("Teams", board(teams, "team_name", ["rep_count"]),
                    "Team attainment = won amount ÷ quota of the reps with a quota.", "marts.mart_leaderboard_teams"))
    return "".join(out)


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    audience: str
    summary: str
    render: Callable[[duckdb.DuckDBPyConnection, Context, Charts], str]

    @property
    def filename(self) -> str:
        return f"{self.slug}.html"


PAGES = (
    Page("state_of_the_union", "State of the Union", "CRO",
         "KPI scorecard vs target, closed won vs forecast, top reps, notable deals.", page_sotu),
    Page("pipeline", "Pipeline", "Sales managers",
         "Open and weighted pipeline per rep, won deals, cycle, win and conversion rates.", page_pipeline),
    Page("team_activities", "Team activities", "Sales managers",
         "Tasks, calls, emails and meetings per rep per week and month; overdue tasks.", page_activities),
    Page("business_performance", "Business performance", "Leadership",
         "Closed business and win rate by region, industry, account and country.", page_business),
    Page("stage_analysis", "Stage analysis", "Sales operations",
         "Funnel, time in stage, drop-off and the bottleneck stage.", page_stages),
    Page("leaderboard", "Leaderboard", "Everyone",
         "Reps and teams ranked on attainment, wins, leads, cycle and activities.", page_leaderboard),
)


# --------------------------------------------------------------------------- page shell

CSS = """
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink);
       background:var(--bg); font-size:14px; line-height:1.45; }
header { background:#0f172a; color:#fff; padding:0 24px; }
header nav { display:flex; flex-wrap:wrap; gap:4px; align-items:center; min-height:48px; }
header a { color:#cbd5e1; text-decoration:none; padding:6px 10px; border-radius:6px; }
header a:hover { background:#1e293b; color:#fff; }
header a.current { background:var(--accent); color:#fff; }
header .brand { font-weight:600; color:#fff; margin-right:12px; }
main { padding:20px 24px 40px; max-width:1500px; margin:0 auto; }
h1 { margin:8px 0 2px; font-size:26px; }
.sub { color:var(--muted); margin:0 0 16px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:12px; margin-bottom:16px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
.tile-label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile-value { font-size:24px; font-weight:650; margin:2px 0; font-variant-numeric: tabular-nums; }
.tile-note { color:var(--muted); font-size:12px; }
.grid { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:16px; }
@media (max-width: 1100px) { .grid { grid-template-columns:minmax(0, 1fr); } }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px;
        margin-bottom:16px; min-width:0; }
.card h2 { font-size:16px; margin:0 0 4px; }
.note { color:var(--muted); margin:0 0 8px; font-size:13px; }
.source { color:var(--muted); margin:8px 0 0; font-size:11px; }
.empty { color:var(--muted); font-style:italic; padding:16px 0; }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { padding:6px 8px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
th { background:#f1f5f9; font-weight:600; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background:#f8fafc; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
.badge.on_track { background:#dcfce7; color:#166534; }
.badge.at_risk { background:#fef3c7; color:#92400e; }
.badge.off_track { background:#fee2e2; color:#991b1b; }
.badge.no_target { background:#f1f5f9; color:#475569; }
.rank { color:var(--muted); font-size:11px; margin-left:4px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:16px; }
.cards a { display:block; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px;
           color:var(--ink); text-decoration:none; }
.cards a:hover { border-color:var(--accent); }
.cards h2 { margin:0 0 4px; font-size:18px; color:var(--accent); }
.cards .aud { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
footer { color:var(--muted); font-size:12px; padding:0 24px 24px; max-width:1500px; margin:0 auto; }
"""


def shell(title: str, current: str, ctx: Context, body: str, rendered_at: str) -> str:
    links = ['<a class="brand" href="index.html">Sales KPI warehouse</a>']
    for page in PAGES:
        cls = ' class="current"' if page.slug == current else ""
        links.append(f'<a{cls} href="{page.filename}">{esc(page.title)}</a>')
    sub = (f"As of {date(ctx.as_of)} · fiscal year {esc(ctx.fiscal_year_label)} "
           f"({date(ctx.year_start)} – {date(ctx.year_end)}) · amounts in {esc(ctx.currency)}")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · Sales KPI warehouse</title>
<style>{CSS}</style>
<script src="{PLOTLY_JS}"></script>
</head>
<body>
<header><nav>{"".join(links)}</nav></header>
<main>
<h1>{esc(title)}</h1>
<p class="sub">{sub}</p>
{body}
</main>
<script>
// charts are drawn while the page is parsed; fit them to their final boxes once it is laid out
window.addEventListener("load", function () {{
  if (window.Plotly) document.querySelectorAll(".plotly-graph-div").forEach(function (d) {{ Plotly.Plots.resize(d); }});
}});
</script>
<footer>Rendered {esc(rendered_at)} from the warehouse's marts; works offline (charts by plotly.js, bundled beside
this page). Every number is in a table of schema <code>marts</code>, named under each chart.</footer>
</body>
</html>
"""


def index_body(ctx: Context) -> str:
    cards = "".join(
        f'<a href="{p.filename}"><div class="aud">{esc(p.audience)}</div><h2>{esc(p.title)}</h2>'
        f'<p>{esc(p.summary)}</p></a>' for p in PAGES)
    return f'<section class="cards">{cards}</section>'


# --------------------------------------------------------------------------- writing


def render_pages(con: duckdb.DuckDBPyConnection, folder: Path, rendered_at: str | None = None) -> list[Path]:
    """Write index.html, one page per dashboard and plotly.min.js into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rendered_at = rendered_at or dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    ctx = read_context(con)
    written = []
    (folder / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    index = folder / "index.html"
    index.write_text(shell("Dashboards", "index", ctx, index_body(ctx), rendered_at), encoding="utf-8")
    written.append(index)
    for page in PAGES:
        body = page.render(con, ctx, Charts(page.slug))
        path = folder / page.filename
        path.write_text(shell(page.title, page.slug, ctx, body, rendered_at), encoding="utf-8")
        written.append(path)
    return written


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0


def swap_into(staging: Path, target: Path) -> list[Path]:
    """Move a rendered folder into `target` in one step.

    With an existing `target` the two folders are exchanged atomically (renameat2), so
    readers see the old set or the new one; where that is unsupported the old folder is
    renamed away first (a gap of microseconds). `staging` must be on the same file system.
    """
    target, staging = Path(target), Path(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.chmod(0o755)
    if target.exists() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous pages
    elif target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
    return [target / "index.html"] + [target / p.filename for p in PAGES]


def publish_pages(con: duckdb.DuckDBPyConnection, target: Path) -> list[Path]:
    """Render into a temporary sibling folder, then swap it into `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        render_pages(con, staging)
        return swap_into(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
