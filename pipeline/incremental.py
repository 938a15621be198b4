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
* rebuilds it otherwise (new SQL, a changed input, no state, a missing table).

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


def _ensure_state(con) -> None:
    con.execute("create schema if not exists audit")
    con.execute(f"""create table if not exists {STATE} (
        table_name varchar, version varchar, sql_hash varchar, inputs varchar, watermark timestamp,
        built_at timestamp)""")


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


def _merge_key(model: SqlModel) -> tuple[str, str, str] | None:
    """(raw table, raw key expression, staging key column) for a staging model of a
    Salesforce object (one raw input, an Id), else None."""
    if model.schema != "staging" or model.materialized == "view" or len(model.reads) != 1:
        return None
    (schema, table), = model.reads
    contract = next((c for c in load_contracts().values() if c.table == table), None)
    if schema != "raw" or contract is None or not contract.primary_key or model.name != f"stg_{table}":
        return None
    return f"raw.{table}", raw_key(contract), staging_key(contract)


def build_model(con, model: SqlModel, run_id: str) -> dict:
    """Bring `model.table` up to date in the run's work copy: unchanged, merged or
    rebuilt. Returns {"build": ..., "reason": ...} for the asset's metadata."""
    _ensure_state(con)
    inputs = json.dumps({f"{s}.{t}": version_of(con, f"{s}.{t}") or f"unknown@{run_id}"
                         for s, t in sorted(model.reads)}, sort_keys=True)
    sql_hash = _sql_hash(model)
    state = con.execute(f"select version, sql_hash, inputs, watermark from {STATE} where table_name = ?",
                        [model.table]).fetchone()
    exists = table_exists(con, *model.table.split("."))
    if state and exists and state[1] == sql_hash and state[2] == inputs:
        return {"build": "unchanged", "reason": "its SQL and every table it reads are as in the last build"}

    merge = _merge_key(model)
    if merge and state and exists and state[1] == sql_hash and state[3] is not None:
        raw, raw_key, key = merge
        watermark = con.execute(f"select max(_loaded_at) from {raw}").fetchone()[0]
        con.execute(f"""create or replace temp table _changed_versions as
            select * from {raw}
            where {raw_key} in (select {raw_key} from {raw} where _loaded_at > ?)""", [state[3]])
        records = con.execute(f"select count(distinct {raw_key}) from _changed_versions").fetchone()[0]
        select = exp.replace_tables(sqlglot.parse_one(model.select, dialect="duckdb"),
                                    {raw: "_changed_versions"}).sql(dialect="duckdb")
        con.execute(f"delete from {model.table} where {key} in (select {raw_key} from _changed_versions)")
        con.execute(f"insert into {model.table} by name {select}")
        con.execute("drop table _changed_versions")
        set_version(con, model.table, run_id if records else state[0], sql_hash=sql_hash, inputs=inputs,
                    watermark=watermark)
        return {"build": "merged", "reason": f"{records} records with new versions since {state[3]}"}

    con.execute(model.create_statement())
    watermark = con.execute(f"select max(_loaded_at) from {merge[0]}").fetchone()[0] if merge else None
    set_version(con, model.table, run_id, sql_hash=sql_hash, inputs=inputs, watermark=watermark)
    reason = ("first build" if not state else "its SQL changed" if state[1] != sql_hash
              else "the table was missing" if not exists else "a table it reads changed")
    return {"build": "rebuilt", "reason": reason}
