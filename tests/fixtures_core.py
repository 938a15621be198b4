"""Helpers for the staging/core model tests: an in-memory warehouse with empty raw
tables for every contract, rows inserted verbatim (as Salesforce writes them), and
the staging + core models built with the project's own model runner."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb

from assets.quarantine import COLUMNS as QUARANTINE_COLUMNS
from assets.run_settings import COLUMNS as RUN_SETTINGS_COLUMNS
from pipeline.contracts import load_contracts
from pipeline.extract import ensure_raw_table, quote
from pipeline.settings import SQL_DIR
from pipeline.sql_models import load_models, run_models
from pipeline.warehouse import MACROS

RUN_SETTINGS_DDL = "create table raw.run_settings (" + ", ".join(f"{c} {t}" for c, t in RUN_SETTINGS_COLUMNS.items()) + ")"

DEFAULT_LOADED_AT = dt.datetime(2024, 7, 1, 6, 0, 0)


def external_tables() -> frozenset[tuple[str, str]]:
    from pipeline.definitions import RAW_TABLES

    return RAW_TABLES


def new_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(MACROS)
    for schema in ("raw", "staging", "core", "audit"):
        con.execute(f"create schema {schema}")
    for contract in load_contracts().values():
        ensure_raw_table(con, contract)
    con.execute("create table audit.quarantine (" + ", ".join(f"{c} {t}" for c, t in QUARANTINE_COLUMNS.items()) + ")")
    con.execute(RUN_SETTINGS_DDL)
    return con


def insert_raw(con, table: str, rows: list[dict], *, export_id: str = "export-1",
               loaded_at: dt.datetime = DEFAULT_LOADED_AT) -> None:
    """Append rows to raw.<table> as one loaded file: values are strings exactly as in the
    CSV ('' for empty), fields not given are '' (a column present in the file but empty)."""
    contract = next(c for c in load_contracts().values() if c.table == table)
    names = [f.name for f in contract.fields]
    for i, row in enumerate(rows, start=1):
        unknown = set(row) - set(names)
        assert not unknown, f"{table}: not contract fields: {unknown}"
        values = [row.get(n, "") for n in names] + [export_id, f"{contract.files[0]}", i, loaded_at]
        cols = ", ".join([quote(n) for n in names] + ["_export_id", "_source_file", "_row_number", "_loaded_at"])
        con.execute(f"insert into raw.{table} ({cols}) values ({', '.join('?' * len(values))})", values)


def set_run_settings(con, **settings) -> None:
    con.execute("delete from raw.run_settings")
    if settings is None:
        return
    cols = list(settings)
    con.execute(f"insert into raw.run_settings ({', '.join(cols) or 'as_of_date'}) values "
                f"({', '.join('?' * len(cols)) or 'null'})", [settings[c] for c in cols])


def layer_dir(layers: tuple[str, ...] = ("staging", "core")) -> Path:
    """A sql dir holding a copy of only the given layers, so these tests do not depend on
    the kpi/marts models being written in parallel."""
    root = Path(tempfile.mkdtemp(prefix="core_models_"))
    for layer in layers:
        shutil.copytree(SQL_DIR / layer, root / layer)
    return root


_SQL_DIR = None


def core_models():
    global _SQL_DIR
    if _SQL_DIR is None:
        _SQL_DIR = layer_dir()
    return load_models(_SQL_DIR, external_tables())


def build(con) -> None:
    run_models(con, core_models())


def rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def one(con, sql: str, params=None) -> dict:
    result = rows(con, sql, params)
    assert len(result) == 1, f"expected one row, got {len(result)}: {result}"
    return result[0]
