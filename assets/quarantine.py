"""`audit/quarantine`: every row that fails a row-level contract rule, with why.

The table `audit.quarantine` is rebuilt on every run from the same bad-rows SELECTs
the asset checks run through GX (pipeline/quality.py), so a check's failing count
equals its quarantine rows. One row per (record, rule):

    object        contract object (Opportunity, User, HrEmployee, ...)
    record_id     the record's id: the Salesforce Id; for plain files the staging key
                  (HrEmployee: user_id, else lower(email), else employee_id, else name;
                  KpiTarget: kpi|period|scope|scope_id); "<file> row N" for a raw row
                  without an Id
    rule          the check name (as in the Dagster UI: amount_between, won_implies_closed)
    severity      error | warn
    reason        what is wrong with this row, with the offending value
    raw_values    JSON text of the raw row as exported (all columns verbatim, plus load
                  metadata); for staging rules the raw row of the version staging kept
    export_id     the export the row came from
    detected_at   when this run found it
    checked_table the table the rule ran on (raw.<object> or staging.stg_<object>)

Rows of `error` rules are left out of the core facts: every core fact built from an
object anti-joins `audit.quarantine` on (object, record_id, severity = 'error').
Rows of `warn` rules are only reported. Nothing is silently dropped: a bad row is in
its fact table, or here with its reason, or (unparseable CSV lines) in
`audit.rejected_lines`.

Note on blocking: `error` rules are also blocking asset checks on the raw/staging
tables, and this asset is downstream of those tables, so in a run where an error
rule fails this asset does not run (nor does anything after the bad input); the
check's metadata then carries the count, a sample of ids and the SQL listing every
offending row. The quarantine's anti-joins are what keeps error rows out of the
facts when a run is made without the checks (a selection that leaves them out, a
rule downgraded and upgraded again).
"""


import dagster as dg

from pipeline import layout, quality
from pipeline.contracts import load_contracts
from pipeline.quality import Rule
from pipeline.sql_models import SqlModel
from pipeline.warehouse import Warehouse

KEY = layout.asset_key("audit", "quarantine")

COLUMNS = {
    "object": "varchar", "record_id": "varchar", "rule": "varchar", "severity": "varchar", "reason": "varchar",
    "raw_values": "varchar", "export_id": "varchar", "detected_at": "timestamp", "checked_table": "varchar",
}


RESULTS_TABLE = "audit.rule_results"


def record_results(con, run_id: str, failing: dict[str, int | None]) -> None:
    """What this run's checks found, per rule, so the quarantine re-runs only failing rules."""
    con.execute(f"create table if not exists {RESULTS_TABLE} (run_id varchar, rule varchar, failing bigint)")
    con.execute(f"delete from {RESULTS_TABLE} where run_id <> ?", [run_id])  # earlier runs' results are stale
    con.executemany(f"insert into {RESULTS_TABLE} values (?, ?, ?)", [[run_id, r, n] for r, n in failing.items()])


def clean_rules(con, run_id: str) -> set[str]:
    """Rules this run's checks evaluated and found no failing row for."""
    if not quality.table_exists(con, *RESULTS_TABLE.split(".")):
        return set()
    return {r for (r,) in con.execute(
        f"select rule from {RESULTS_TABLE} where run_id = ? group by rule having max(failing) = 0", [run_id]).fetchall()}


def _insert_with_raw_values(con, contract) -> None:
    """Quarantine this object's bad rows with their raw row as JSON. Equality joins only
    (raw rules match the file row, staging rules the record's id in the same load), so
    DuckDB hash-joins instead of looping over raw."""
    raw = f"raw.{contract.table}"
    select = ("select b.object, b.record_id, b.rule, b.severity, b.detail, cast(to_json(r) as varchar), "
              "b._export_id, current_timestamp::timestamp, b.checked_table")
    con.execute(f"""
        insert into audit.quarantine
        {select}
        from _bad as b
        left join {raw} as r on r._loaded_at = b._loaded_at and r._row_number = b._row_number
        where b.object = ? and b._row_number is not null""", [contract.object])
    con.execute(f"""
        insert into audit.quarantine
        {select}
        from _bad as b
        left join (
            select {quality.raw_key(contract)} as _key, *
            from {raw}
            where _loaded_at in (select _loaded_at from _bad where object = ?)
        ) as r on r._key = b.record_id and r._loaded_at = b._loaded_at
        where b.object = ? and b._row_number is null
        qualify row_number() over (partition by b.rule, b.record_id order by r._row_number desc nulls last) = 1""",
                [contract.object, contract.object])


def write_quarantine(con, rules: list[Rule], skip: set[str] = frozenset()) -> dict:
    """Rebuild audit.quarantine from the row-level rules (except `skip`: rules this run's
    checks found clean); returns counts for metadata."""
    con.execute("create schema if not exists audit")
    con.execute("create or replace table audit.quarantine ("
                + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
    con.execute("create or replace temp table _bad (object varchar, rule varchar, severity varchar, "
                "record_id varchar, detail varchar, _export_id varchar, _loaded_at timestamp, "
                "_row_number bigint, checked_table varchar)")
    notes = quality.skip_notes(con, rules)
    rows_of: dict[str, int] = {}
    queries = quality.resolve_as_of(con, {str(i): r.bound_sql() for i, r in enumerate(rules)
                                          if r.name not in notes and r.name not in skip})
    for i, rule in enumerate(rules):
        if str(i) not in queries:
            continue
        if rule.batch not in rows_of:
            rows_of[rule.batch] = con.execute(f"select count(*) from {rule.batch}").fetchone()[0]
        if rows_of[rule.batch] == 0 and rule.needs_batch_rows:
            continue
        con.execute(f"""
            insert into _bad
            select ?, ?, ?, record_id, detail, _export_id, _loaded_at, _row_number, ?
            from ({queries[str(i)]}) as b""", [rule.object, rule.name, rule.severity, rule.batch])
    for (obj,) in con.execute("select distinct object from _bad").fetchall():
        _insert_with_raw_values(con, next(c for c in load_contracts().values() if c.object == obj))
    con.execute("drop table _bad")
    counts = con.execute("""
        select object, rule, severity, count(*) as rows, count(distinct record_id) as records
        from audit.quarantine group by all order by severity, object, rule""").fetchall()
    return {"counts": counts, "skipped": notes}


def quarantine_asset(models: tuple[SqlModel, ...]) -> dg.AssetsDefinition | None:
    staging = {m.name for m in models if m.schema == "staging"}
    rules = [r for r in quality.all_contract_rules()
             if r.row_level and (r.schema == "raw" or r.table in staging)]
    if not staging:
        return None
    deps = sorted({layout.asset_key(s, t) for r in rules for s, t in {r.asset, *r.reads}
                   if s == "raw" or t in staging} | {layout.asset_key("raw", "run_settings")},
                  key=lambda k: k.to_user_string())

    @dg.asset(
        key=KEY,
        deps=deps,
        group_name=layout.group("audit"),
        kinds=layout.kinds("audit"),
        owners=[layout.OWNER],
        description=(__doc__ or "").split("\n\n", 1)[1].strip(),
        metadata={"dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c, t) for c, t in COLUMNS.items()])},
    )
    def _quarantine(warehouse: Warehouse) -> dg.MaterializeResult:
        con = warehouse.connect()
        # The blocking checks on these tables ran before this step; rules they found clean need no second look.
        outcome = write_quarantine(con, rules, skip=clean_rules(con, warehouse.run_id))
        counts = outcome["counts"]
        lines = ["| object | rule | severity | rows | records |", "|---|---|---|---|---|"]
        lines += [f"| {o} | {r} | {s} | {n} | {d} |" for o, r, s, n, d in counts]
        total = sum(c[3] for c in counts)
        errors = sum(c[3] for c in counts if c[2] == "error")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(total),
            "error_rows": dg.MetadataValue.int(errors),
            "warn_rows": dg.MetadataValue.int(total - errors),
            "by_rule": dg.MetadataValue.md("\n".join(lines) if counts else "_nothing quarantined_"),
            "skipped_rules": dg.MetadataValue.md(
                "\n".join(f"- `{name}`: {note}" for name, note in sorted(outcome["skipped"].items())) or "_none_"),
        })

    return _quarantine
