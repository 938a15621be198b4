"""Dagster asset checks, generated from the data contracts and the KPI guard rules.

One check per rule (pipeline/quality.py), shown in the UI under the asset it judges
with the rule's description (what is wrong, what to fix in the CRM) and, per run,
metadata: failing rows, rows checked, up to 10 offending record ids, the severity,
and the SQL that lists every offending row.

Where the checks sit:
* `raw/<object>`: `parses`, `unique`, and the primary key's `not_null` (each record's
  rows as last exported: raw keeps a version once);
* `staging/stg_<object>`: the other contract rules;
* core assets: the cross-table rules (hire dates vs activities, stage dimension,
  stage history order, currency rates);
* every `kpi/<table>`: grain, bounds, every rep present (per-rep KPIs).

Cost: the rules of one table are ONE `@multi_asset_check` (one step). DuckDB runs
each rule's bad-rows query once, into `audit.rule_failures`; ONE GX validation (one
suite) then judges those rows, and the quarantine copies them instead of running the
rules again. (GX running each query itself executed it twice, a count and a fetch,
and the quarantine a third time: 2.6x the SQL's own time at 1/10 scale, measured.)
A table with no rows is not evaluated at all (none of its rows can fail), which is
most optional objects of most exports.

Severity and gating: a row rule of severity `error` quarantines the rows it fails
(`audit.quarantine`; the core facts leave them out) and the run publishes the rest: its
result is a WARN. Only when more than `block_above_percent` of the object's records
fail (default 5 %, per rule in the contract), which means a format the pipeline cannot
read rather than bad records, is the result an ERROR. So is any failure of an `error`
rule guarding core or KPI tables (a pipeline defect), and a rule that could not be
evaluated. Every spec is declared `blocking=True`; Dagster gates only on a failed
result of ERROR severity, so a WARN never stops anything, but the flag makes every
check run before the assets downstream of its asset, and so before
`publish/warehouse`, while the run's work copy is still open (a check left to run
after publish would find the work copy gone). An ERROR stops the assets downstream
of the bad input; `publish/warehouse` depends on every asset, so it does not run
either and the published warehouse stays as it was.
"""


import time

import dagster as dg

from pipeline import layout, quality
from pipeline.contracts import load_contracts
from pipeline.quality import Rule
from pipeline.sql_models import SqlModel
from pipeline.warehouse import Warehouse

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def describe(rule: Rule) -> str:
    if rule.severity == "error" and rule.row_level:
        gate = (f"Error: failing rows are quarantined and left out of the facts, and the run publishes the rest. "
                f"**Blocking** only when more than {rule.block_above_percent:g} % of the object's records fail "
                "(a whole column failing is a format the pipeline cannot read): then the assets downstream of this "
                "table do not run and the last good warehouse stays published.")
    elif rule.severity == "error":
        gate = ("**Blocking** (error): the assets downstream of this table do not run and the last good warehouse "
                "stays published.")
    else:
        gate = "Warning: reported, nothing is stopped."
    where = {"raw": "each record's rows as last exported", "staging": "the latest version of each record",
             "core": "the core table", "kpi": "the KPI table"}[rule.schema]
    quarantined = " Failing rows are written to `audit.quarantine`." if rule.row_level else ""
    return f"{rule.description}\n\nRule: {rule.summary} (checked on {where}). {gate}{quarantined}"


def evaluate(con, rules: list[Rule], run_id: str = "adhoc") -> dict[str, dict]:
    """Evaluate the rules of ONE table: DuckDB finds each rule's failing rows once
    (quality.find_failures, into audit.rule_failures), then ONE GX validation of the
    table's suite over those rows decides pass/fail, counts and samples.
    name -> {passed, failing, total, sample, note, error, seconds}."""
    from pipeline import gx

    table = rules[0].batch
    schema, name = table.split(".")
    if not quality.table_exists(con, schema, name):
        return {r.name: dict(passed=False, failing=None, total=0, sample=[], note=None,
                             error=f"table {table} does not exist", seconds=0.0) for r in rules}
    notes = quality.skip_notes(con, rules)
    total = con.execute(f"select count(*) from {table}").fetchone()[0]
    queries = {r.name: r.bound_sql() for r in rules if r.name not in notes and (total > 0 or not r.needs_batch_rows)}
    queries = quality.resolve_as_of(con, queries)
    started = time.perf_counter()
    found = quality.find_failures(con, run_id, rules, queries)
    errors = {n: f["error"] for n, f in found.items()}
    suite = {n: f"select record_id from {{batch}} where checked_table = '{table}' and rule = '{n}' order by record_id"
             for n in queries if not errors.get(n)}
    outcomes = gx.validate(con, quality.FAILURES, suite) if suite else {}
    seconds = time.perf_counter() - started
    failing = [n for n, o in outcomes.items() if not o.success and not o.error]
    samples = {}
    for rule_name, record_id, detail in con.execute(
            f"select rule, record_id, detail from {quality.FAILURES} where checked_table = ? and rule in "
            f"(select unnest(?)) qualify row_number() over (partition by rule order by record_id) <= 5",
            [table, failing]).fetchall() if failing else []:
        samples.setdefault(rule_name, []).append(f"{record_id}: {detail}")
    records = total
    if failing and schema == "raw":  # raw keeps every version: the share is of the object's records
        contract = load_contracts()[rules[0].object]
        records = con.execute(f"select count(distinct {quality.raw_key(contract)}) from {table}").fetchone()[0]
    results = {}
    for rule in rules:
        outcome = outcomes.get(rule.name)
        if errors.get(rule.name):
            results[rule.name] = dict(passed=False, failing=None, total=total, sample=[], note=None,
                                      error=errors[rule.name], seconds=seconds)
        elif outcome is None:
            note = notes.get(rule.name) or f"{table} has no rows: nothing to check"
            results[rule.name] = dict(passed=True, failing=0, total=total, sample=[], note=note, error=None,
                                      seconds=0.0)
        else:
            reused = found[rule.name]["reused"]
            results[rule.name] = dict(passed=outcome.success, failing=outcome.unexpected_count, total=total,
                                      records=records, sample_values=samples.get(rule.name, []),
                                      sample=outcome.sample, error=outcome.error, seconds=seconds,
                                      note="not re-run: its SQL and the tables it reads are unchanged since it last "
                                           "ran, so its failing rows still hold" if reused else None)
    return results


def blocking(rule: Rule, r: dict) -> bool:
    """Whether this result stops the run: an error rule that could not be evaluated, or whose failing
    records pass its share (row rules; any failure of a rule guarding core or KPI tables)."""
    if r["passed"] or rule.severity != "error":
        return False
    if r["error"] or not rule.row_level:
        return True
    return 100.0 * r["failing"] / max(r.get("records") or r["total"], 1) > rule.block_above_percent


def _result(asset_key: dg.AssetKey, rule: Rule, r: dict) -> dg.AssetCheckResult:
    stops = blocking(rule, r)
    metadata = {
        "failing_rows": dg.MetadataValue.int(r["failing"] if r["failing"] is not None else -1),
        # raw keeps every version: its rules judge each record's current rows, a subset
        ("rows_in_table" if rule.schema == "raw" else "rows_checked"): dg.MetadataValue.int(r["total"]),
        "sample_ids": dg.MetadataValue.text(", ".join(map(str, r["sample"])) or "-"),
        "severity": dg.MetadataValue.text(rule.severity),
        "rule": dg.MetadataValue.text(rule.summary),
        "validation_seconds": dg.MetadataValue.float(round(r["seconds"], 3)),
        "blocking": dg.MetadataValue.bool(stops),
        "list_all_failing_rows": dg.MetadataValue.md(f"```sql\n{rule.bound_sql()}\n```"),
    }
    if r.get("sample_values"):
        metadata["sample_values"] = dg.MetadataValue.text("\n".join(r["sample_values"]))
    if not r["passed"] and r["failing"] is not None and rule.row_level:
        metadata["failing_percent"] = dg.MetadataValue.float(
            round(100.0 * r["failing"] / max(r.get("records") or r["total"], 1), 3))
        metadata["block_above_percent"] = dg.MetadataValue.float(rule.block_above_percent)
    if r["note"]:
        metadata["note"] = dg.MetadataValue.text(r["note"])
    if r["error"]:
        metadata["error"] = dg.MetadataValue.text(r["error"])
    if r["passed"]:
        description = r["note"] or (f"passed ({r['total']} rows in the table, every version)" if rule.schema == "raw"
                                    else f"passed: {r['total']} rows checked")
    elif r["error"]:
        description = f"could not be evaluated: {r['error']}"
    else:
        of = r.get("records") or r["total"]
        share = 100.0 * r["failing"] / max(of, 1)
        sample = f"{', '.join(map(str, r['sample'][:3]))}{', ...' if r['failing'] > 3 else ''}"
        if rule.severity == "error" and rule.row_level and stops:
            gate = (f" More than the {rule.block_above_percent:g} % this rule allows: a format the pipeline cannot "
                    "read rather than bad records, so the run stops and the last good warehouse stays published.")
        elif rule.severity == "error" and rule.row_level:
            gate = " Quarantined and left out of the facts; the rest is published."
        else:
            gate = ""
        description = f"{r['failing']} of {of} rows fail ({share:.3g} %: {sample}).{gate} {rule.description}"
    severity = SEVERITY["error"] if stops else SEVERITY["warn"]
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=rule.name, passed=bool(r["passed"]), severity=severity,
        metadata=metadata, description=description,
    )


def table_checks(rules: list[Rule], known_assets: set[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """One multi-asset check (one step, one GX validation) for the rules of one table."""
    schema, table = rules[0].asset
    asset_key = layout.asset_key(schema, table)
    specs = []
    for rule in rules:
        deps = sorted({layout.asset_key(s, t) for s, t in rule.reads} & known_assets - {asset_key},
                      key=lambda k: k.to_user_string())
        specs.append(dg.AssetCheckSpec(
            name=rule.name, asset=asset_key, description=describe(rule), blocking=True,
            additional_deps=deps, metadata={"severity": rule.severity, "rule": rule.summary},
        ))

    @dg.multi_asset_check(
        specs=specs, name=f"check_{schema}_{table}",
        description=f"Data-quality rules of {schema}.{table}, validated with Great Expectations in one pass.",
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        con = warehouse.connect()
        results = evaluate(con, rules, warehouse.run_id)
        seconds = max((r["seconds"] for r in results.values()), default=0.0)
        context.log.info(f"{schema}.{table}: {len(rules)} rules, GX validation {seconds:.2f} s")
        for rule in rules:
            yield _result(asset_key, rule, results[rule.name])

    return _checks


def rules_by_table(rules) -> dict[tuple[str, str], list[Rule]]:
    grouped: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        grouped.setdefault(rule.asset, []).append(rule)
    return grouped


def graph_rules(models: tuple[SqlModel, ...]) -> list[Rule]:
    """Every rule whose table is an asset of this code location."""
    present = {("raw", t) for t in (r.table for r in quality.all_contract_rules() if r.schema == "raw")}
    present |= {(m.schema, m.name) for m in models}
    rules = [r for r in quality.all_contract_rules() if r.asset in present]
    rules += [r for r in quality.CROSS_TABLE_RULES if r.asset in present]
    for model in models:
        if model.schema == "kpi":
            rules += quality.kpi_output_rules(model.name, set(model.columns) or None)
    return rules


def build_checks(models: tuple[SqlModel, ...], known_assets: set[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    return [table_checks(rules, known_assets) for rules in rules_by_table(graph_rules(models)).values()]
