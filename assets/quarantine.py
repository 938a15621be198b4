"""`audit/quarantine`: every row that fails a row-level contract rule, with why.

The table `audit.quarantine` is rebuilt on every run from the failing rows the asset
checks found (`audit.rule_failures`, pipeline/quality.py), so a check's failing count
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
from pipeline.incremental import log_changes, set_version, version_of
from pipeline.quality import Rule
from pipeline.sql_models import SqlModel
from pipeline.warehouse import Warehouse

KEY = layout.asset_key("audit", "quarantine")
# What a row says about a record: what the facts leave out, and what the quarantine's version hashes.
JUDGED = "object, record_id, rule, severity"

COLUMNS = {
    "object": "varchar", "record_id": "varchar", "rule": "varchar", "severity": "varchar", "reason": "varchar",
    "raw_values": "varchar", "export_id": "varchar", "detected_at": "timestamp", "checked_table": "varchar",
}


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


def write_quarantine(con, rules: list[Rule], run_id: str = "adhoc") -> dict:
    """Rebuild audit.quarantine from the row-level rules' failing rows; returns counts
    for metadata. The failing rows come from audit.rule_failures, where this run's
    checks put them; a rule the checks did not evaluate this run (a run without them)
    is evaluated here, the same way."""
    con.execute("create schema if not exists audit")
    previous = version_of(con, "audit.quarantine") if quality.table_exists(con, "audit", "quarantine") else None
    if previous is not None:
        con.execute(f"create or replace temp table _previous_quarantine as select {JUDGED} from audit.quarantine")
    con.execute("create or replace table audit.quarantine ("
                + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
    notes = quality.skip_notes(con, rules)
    done = quality.evaluated_rules(con, run_id)
    pending: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.name not in notes and (rule.batch, rule.name) not in done:
            pending.setdefault(rule.batch, []).append(rule)
    rows_of = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in pending}
    for table, table_rules in pending.items():
        queries = {r.name: r.bound_sql() for r in table_rules if rows_of[table] > 0 or not r.needs_batch_rows}
        quality.find_failures(con, run_id, table_rules, quality.resolve_as_of(con, queries))
    wanted = sorted({(r.batch, r.name) for r in rules if r.name not in notes})
    con.execute("create or replace temp table _bad as select f.* from " + quality.FAILURES + " as f "
                "semi join (select unnest(?) as t, unnest(?) as r) as w on f.checked_table = w.t and f.rule = w.r",
                [[t for t, _ in wanted], [r for _, r in wanted]])
    for (obj,) in con.execute("select distinct object from _bad").fetchall():
        _insert_with_raw_values(con, load_contracts()[obj])
    con.execute("drop table _bad")
    counts = con.execute("""
        select object, rule, severity, count(*) as rows, count(distinct record_id) as records
        from audit.quarantine group by all order by severity, object, rule""").fetchall()
    # Its version is its content (what the core facts leave out), so an unchanged
    # quarantine does not make them rebuild.
    content = con.execute(f"select count(*), bit_xor(hash({JUDGED})) from audit.quarantine").fetchone()
    version = f"content:{content[0]}:{content[1]}"
    set_version(con, "audit.quarantine", version)
    # The records whose verdict changed, so the facts that leave error rows out merge just those.
    if previous is not None:
        log_changes(con, "audit.quarantine", previous, version, f"""select record_id from (
            (select {JUDGED} from _previous_quarantine except select {JUDGED} from audit.quarantine)
            union all
            (select {JUDGED} from audit.quarantine except select {JUDGED} from _previous_quarantine))""")
        con.execute("drop table _previous_quarantine")
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
        # The blocking checks on these tables ran before this step and stored their failing rows.
        outcome = write_quarantine(con, rules, warehouse.run_id)
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
