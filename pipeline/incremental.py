"""Build only what changed since the last published run.

Every table the pipeline writes has a version in `audit.build_state`: an extract
gets a new one when it appends rows, the run settings and the quarantine when their
content changes, a model when it is rebuilt. A model records the versions of the
tables it read and the hash of its SQL; the next run then

* skips it when its SQL and every input's version are as they were (the table in
  the run's work copy, a copy of the published warehouse, is already right);
* merges it, for a staging model of a Salesforce object whose only change is new
  raw rows: the records with new versions since the last build (`_loaded_at` above
  its watermark) are deleted from the staging table and re-derived by the model's
  own SQL, run over every raw version of those records only. The model's SQL is the
  one source of truth; only its `raw.<object>` is swapped for those records' rows;
* merges it, for a model whose header declares `incremental: {unique_key,
  keyed_inputs}` (each of its rows derives only from the rows with the same key in
  those inputs, the rest of what it reads being unchanged): the keys those inputs
  changed since its last build (their entries in `audit.changed_keys`) are deleted
  from the table and re-derived by its SQL, with each keyed staging input swapped for
  its rows of those keys;
* rebuilds it otherwise (new SQL, a changed input, no state, a missing table).

Every merge, and the quarantine, log the keys they changed in `audit.changed_keys`,
from the table's previous version to its new one; a merge above uses a log only when
it starts at the version the model last read, so a missed run means a rebuild.

A full rebuild and a merge give the same table (tests/test_incremental.py builds
both and compares them), so the nightly run pays for one day of change, not for the
whole history, while reading exactly the same SQL files.
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import sqlglot
from sqlglot import exp

from pipeline.contracts import load_contracts
from pipeline.quality import raw_key, staging_key, table_exists
from pipeline.sql_models import SqlModel

STATE = "audit.build_state"
CHANGES = "audit.changed_keys"


def _ensure_state(con) -> None:
    con.execute("create schema if not exists audit")
    con.execute(f"""create table if not exists {STATE} (
        table_name varchar, version varchar, sql_hash varchar, inputs varchar, watermark timestamp,
        built_at timestamp)""")
    con.execute(f"""create table if not exists {CHANGES} (
        table_name varchar, from_version varchar, to_version varchar, key varchar, key_column varchar)""")
    con.execute(f"alter table {CHANGES} add column if not exists key_column varchar")  # warehouses from before it


def log_changes(con, table: str, from_version: str | None, to_version: str, keys_sql: str | None,
                key_column: str | None = None) -> None:
    """Replace `table`'s change log: the keys (first column of `keys_sql`) whose rows
    differ between its versions `from_version` and `to_version`, each the value of the
    table's `key_column` in those rows. No query (a rebuild) leaves no log, so nothing
    above can merge from it; an unchanged version keeps the last one."""
    if from_version == to_version:
        return
    _ensure_state(con)
    con.execute(f"delete from {CHANGES} where table_name = ?", [table])
    if keys_sql is not None and from_version is not None:
        con.execute(f"insert into {CHANGES} select distinct ?, ?, ?, cast(k.key as varchar), ? from ({keys_sql}) as k(key)",
                    [table, from_version, to_version, key_column])


def _state_row(con, table: str, columns: str) -> tuple | None:
    try:
        return con.execute(f"select {columns} from {STATE} where table_name = ?", [table]).fetchone()
    except duckdb.CatalogException:  # no state table yet
        return None


def state_of(con, table: str) -> tuple | None:
    """(version, watermark) of a table, None when it has no state yet."""
    return _state_row(con, table, "version, watermark")


def built_from(con, table: str) -> tuple[str, dict] | None:
    """(SQL hash, {input table: version}) of a model's last build, None when unknown."""
    row = _state_row(con, table, "sql_hash, inputs")
    return (row[0], json.loads(row[1])) if row and None not in row else None


def version_of(con, table: str) -> str | None:
    state = state_of(con, table)
    return state[0] if state else None


def set_version(con, table: str, version: str, *, sql_hash: str | None = None, inputs: str | None = None,
                watermark=None) -> None:
    _ensure_state(con)
    con.execute(f"delete from {STATE} where table_name = ?", [table])
    con.execute(f"insert into {STATE} values (?, ?, ?, ?, ?, current_timestamp::timestamp)",
                [table, version, sql_hash, inputs, watermark])


def touch(con, table: str, run_id: str, changed: bool) -> str:
    """A producer's new version: the run's id when it changed the table (or the table
    has none yet), else the version it had."""
    current = version_of(con, table)
    if changed or current is None:
        set_version(con, table, run_id)
        return run_id
    return current


def _sql_hash(model: SqlModel) -> str:
    return hashlib.sha1(model.select.encode()).hexdigest()


def _contract_of(table: str):
    return next((c for c in load_contracts().values() if c.table == table), None)


def _merge_key(model: SqlModel) -> tuple[str, str, str] | None:
    """(raw table, raw key expression, staging key column) for a staging model of a
    Salesforce object (one raw input, an Id), else None."""
    if model.schema != "staging" or model.materialized == "view" or len(model.reads) != 1:
        return None
    (schema, table), = model.reads
    contract = _contract_of(table)
    if schema != "raw" or contract is None or not contract.primary_key or model.name != f"stg_{table}":
        return None
    return f"raw.{table}", raw_key(contract), staging_key(contract)


def _staging_key_column(table: str) -> str | None:
    """The record key of staging.stg_<object> for an object with an Id, else None."""
    schema, name = table.split(".")
    contract = _contract_of(name.removeprefix("stg_")) if schema == "staging" else None
    return staging_key(contract) if contract is not None and contract.primary_key else None


def _keyed_change_logs(con, model: SqlModel, last_inputs: dict, inputs: dict) -> list[tuple] | None:
    """The change logs a keyed merge of `model` would apply, or None when it must be
    rebuilt: an input outside its keyed inputs changed, or a keyed input changed with
    no log from the version the model last read to the current one."""
    keyed = set(model.meta["incremental"]["keyed_inputs"])
    logs = []
    for table, version in inputs.items():
        before = last_inputs.get(table)
        if before == version:
            continue
        if table not in keyed or not con.execute(
                f"select exists (select 1 from {CHANGES} where table_name = ? and from_version = ? and to_version = ?)",
                [table, before, version]).fetchone()[0]:
            return None
        logs.append((table, before, version))
    return logs


def _columns(con, table: str) -> set[str]:
    return {d[0].lower() for d in con.execute(f"select * from {table} limit 0").description}


def _merge_keyed(con, model: SqlModel, logs: list[tuple]) -> tuple[int, int]:
    """Re-derive the rows of the keys the logs name; returns (keys, rows deleted or inserted).

    With a `record_key` (the model has a row per record, derived together with the other
    records of its unique key: a window over an opportunity's history rows), a log that
    names records (their own ids) stands for the keys those records belong to: in the
    table as built, and in the keyed inputs as they are now (a record may have moved)."""
    incremental = model.meta["incremental"]
    key, record_key = incremental["unique_key"], incremental.get("record_key")
    con.execute("create or replace temp table _logged_keys (key varchar, names_records boolean)")
    for table, before, version in logs:
        con.execute(f"insert into _logged_keys select key, ? and key_column is distinct from ? from {CHANGES} "
                    "where table_name = ? and from_version = ? and to_version = ?",
                    [record_key is not None, key, table, before, version])
    groups = ["select key from _logged_keys where not names_records"]
    if record_key is not None:
        groups += [f"select cast({key} as varchar) from {table} "
                   f"where cast({record_key} as varchar) in (select key from _logged_keys where names_records)"
                   for table in [model.table, *incremental["keyed_inputs"]]
                   if {key, record_key} <= _columns(con, table)]
    con.execute("create or replace temp table _changed_keys as " + " union ".join(groups))
    replaced = {}
    for table in incremental["keyed_inputs"]:  # parse_model checked that the model reads each
        # an input holding the key is cut to its rows; a staging input whose own Id is the key, likewise
        column = key if key in _columns(con, table) else _staging_key_column(table)
        if column is not None:
            temp = f"_keyed_{table.replace('.', '_')}"
            con.execute(f"create or replace temp table {temp} as select * from {table} "
                        f"where cast({column} as varchar) in (select key from _changed_keys)")
            replaced[table] = temp
    select = exp.replace_tables(sqlglot.parse_one(model.select, dialect="duckdb"), replaced).sql(dialect="duckdb")
    deleted = con.execute(f"delete from {model.table} where cast({key} as varchar) in (select key from _changed_keys)"
                          ).fetchone()[0]
    inserted = con.execute(f"insert into {model.table} by name {select}").fetchone()[0]
    keys = con.execute("select count(distinct key) from _changed_keys").fetchone()[0]
    for temp in [*replaced.values(), "_logged_keys"]:
        con.execute(f"drop table {temp}")
    return keys, deleted + inserted


# A rebuilt table this small is compared with the one it replaces (a hash of every row: a
# fraction of a second); the same rows keep its version, so what reads it is not rebuilt for
# nothing (a dimension that reads the as-of date only for its corporate currency, say).
FINGERPRINT_MAX_ROWS = 1_000_000


def _fingerprint(con, table: str) -> tuple | None:
    if con.execute(f"select count(*) from {table}").fetchone()[0] > FINGERPRINT_MAX_ROWS:
        return None
    return con.execute(f"select count(*), sum(hash(_whole_row)::hugeint) from {table} as _whole_row").fetchone()


def _rows_by_key(table: str, key: str) -> str:
    return (f"select cast({key} as varchar) as key, count(*) as n, sum(hash(_whole_row)::hugeint) as h "
            f"from {table} as _whole_row group by all")


def _rebuild(con, model: SqlModel, run_id: str, kept: str | None) -> tuple[str, str]:
    """Run the model's SQL whole; returns (its version, a note). `kept`, the version of
    the table it replaces, is kept when the rows are the same. A table with a
    `unique_key` logs the keys whose rows changed, so what merges by that key can."""
    unique_key = model.meta.get("unique_key") if model.materialized != "view" else None
    before = None
    if kept is not None and model.materialized != "view":
        if unique_key:
            con.execute(f"create or replace temp table _before as {_rows_by_key(model.table, unique_key)}")
        else:
            before = _fingerprint(con, model.table)
    con.execute(model.create_statement())
    if kept is not None and unique_key:
        changed = f"""select coalesce(b.key, a.key) from _before as b
            full join ({_rows_by_key(model.table, unique_key)}) as a on a.key is not distinct from b.key
            where a.n is distinct from b.n or a.h is distinct from b.h"""
        con.execute(f"create or replace temp table _rebuilt_keys as {changed}")
        keys = con.execute("select count(*) from _rebuilt_keys").fetchone()[0]
        version = run_id if keys else kept
        log_changes(con, model.table, kept, version, "select * from _rebuilt_keys", unique_key)
        con.execute("drop table _before; drop table _rebuilt_keys")
        return version, f"; {keys} keys' rows changed"
    if before is not None and before == _fingerprint(con, model.table):
        return kept, "; the same rows as before, so what reads it is left alone"
    log_changes(con, model.table, None, run_id, None)
    return run_id, ""


def build_model(con, model: SqlModel, run_id: str) -> dict:
    """Bring `model.table` up to date in the run's work copy: unchanged, merged or
    rebuilt. Returns {"build": ..., "reason": ...} for the asset's metadata."""
    _ensure_state(con)
    versions = {f"{s}.{t}": version_of(con, f"{s}.{t}") or f"unknown@{run_id}" for s, t in sorted(model.reads)}
    inputs = json.dumps(versions, sort_keys=True)
    sql_hash = _sql_hash(model)
    state = con.execute(f"select version, sql_hash, inputs, watermark from {STATE} where table_name = ?",
                        [model.table]).fetchone()
    exists = table_exists(con, *model.table.split("."))
    if state and exists and state[1] == sql_hash and state[2] == inputs:
        return {"build": "unchanged", "reason": "its SQL and every table it reads are as in the last build"}

    if model.meta.get("incremental") and state and exists and state[1] == sql_hash and state[2]:
        logs = _keyed_change_logs(con, model, json.loads(state[2]), versions)
        if logs is not None:
            keys, rows = _merge_keyed(con, model, logs)
            version = run_id if rows else state[0]  # no row touched: the tables above need not change
            log_changes(con, model.table, state[0], version, "select key from _changed_keys",
                        model.meta["incremental"]["unique_key"])
            con.execute("drop table _changed_keys")
            set_version(con, model.table, version, sql_hash=sql_hash, inputs=inputs)
            return {"build": "merged", "reason": f"{keys} keys changed in {', '.join(t for t, _, _ in logs)}: "
                                                 f"{rows} rows deleted or re-derived"}

    merge = _merge_key(model)
    if merge and state and exists and state[1] == sql_hash and state[3] is not None:
        raw, raw_key, key = merge
        watermark = con.execute(f"select max(_loaded_at) from {raw}").fetchone()[0]
        # The new rows are in the newest row groups (found by _loaded_at's zone maps). Earlier versions
        # of their records are looked for in the key column alone, and whole rows read only if there are
        # some: new records (most of a day's tasks) cost a scan of raw's ids, not of all its columns.
        con.execute(f"create or replace temp table _changed_versions as select * from {raw} "
                    f"where _loaded_at > ? and {raw_key} is not null", [state[3]])
        earlier = (f"from {raw} where (_loaded_at <= ? or _loaded_at is null) "
                   f"and {raw_key} in (select {raw_key} from _changed_versions)")
        if con.execute(f"select exists (select 1 {earlier})", [state[3]]).fetchone()[0]:
            con.execute(f"insert into _changed_versions select * {earlier}", [state[3]])
        records = con.execute(f"select count(distinct {raw_key}) from _changed_versions").fetchone()[0]
        select = exp.replace_tables(sqlglot.parse_one(model.select, dialect="duckdb"),
                                    {raw: "_changed_versions"}).sql(dialect="duckdb")
        con.execute(f"delete from {model.table} where {key} in (select {raw_key} from _changed_versions)")
        con.execute(f"insert into {model.table} by name {select}")
        version = run_id if records else state[0]
        log_changes(con, model.table, state[0], version, f"select {raw_key} from _changed_versions", key)
        con.execute("drop table _changed_versions")
        set_version(con, model.table, version, sql_hash=sql_hash, inputs=inputs, watermark=watermark)
        return {"build": "merged", "reason": f"{records} records with new versions since {state[3]}"}

    version, note = _rebuild(con, model, run_id, state[0] if state and exists else None)
    watermark = con.execute(f"select max(_loaded_at) from {merge[0]}").fetchone()[0] if merge else None
    set_version(con, model.table, version, sql_hash=sql_hash, inputs=inputs, watermark=watermark)
    reason = ("first build" if not state else "its SQL changed" if state[1] != sql_hash
              else "the table was missing" if not exists else "a table it reads changed")
    return {"build": "rebuilt", "reason": reason + note}
