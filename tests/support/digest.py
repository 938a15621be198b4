"""A content digest of warehouse tables, to show a refactoring leaves every number as it was."""

from __future__ import annotations

import duckdb

# Floating sums may differ in the last bits with the order DuckDB's threads add them in.
FLOAT_DIGITS = 9


def _column_text(name: str, data_type: str) -> str:
    column = f'"{name}"'
    if data_type in ("DOUBLE", "FLOAT", "REAL") or data_type.startswith("DECIMAL"):
        column = f"round({column}::double, {FLOAT_DIGITS})"
    return f"coalesce({column}::varchar, '<null>')"


def table_digests(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("kpi", "marts")) -> dict[str, dict]:
    """{schema.table: {"rows": n, "columns": [...], "md5": digest of the sorted rows}} for every table."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' order by all",
        [list(schemas)]).fetchall()
    digests = {}
    for schema, table in tables:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()
        row_text = " || '|' || ".join(_column_text(name, data_type) for name, data_type in columns)
        rows, md5 = con.execute(
            f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
            f"from (select {row_text} as r from {schema}.{table})").fetchone()
        digests[f"{schema}.{table}"] = {"rows": rows, "columns": [name for name, _ in columns], "md5": md5}
    return digests
