"""What an asset shows in the Dagster UI about the table it wrote."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipeline.contracts import load_contracts

PREVIEW_ROWS = 5
MAX_CELL = 40


def pii_columns() -> set[str]:
    """Columns (API and snake_case names) flagged PII in any contract: never previewed."""
    names = set()
    for contract in load_contracts().values():
        for f in contract.fields:
            if f.pii:
                names |= {f.name.lower(), f.column}
    return names


def column_schema(con: duckdb.DuckDBPyConnection, table: str, docs: dict[str, str] | None = None) -> dg.TableSchema:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position", [schema, name]).fetchall()
    docs = docs or {}
    return dg.TableSchema(columns=[dg.TableColumn(c, t.lower(), description=docs.get(c)) for c, t in rows])


def markdown_preview(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> str:
    hidden = pii_columns()
    schema, name = table.split(".")
    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall() if c.lower() not in hidden][:12]
    if not columns:
        return "_no columns_"
    select = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    rows = con.execute(f"select {select} from {table} {where} limit {PREVIEW_ROWS}").fetchall()

    def cell(v) -> str:
        text = "" if v is None else str(v).replace("|", "\\|").replace("\n", " ").replace("\r", " ")
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if rows else "\n".join(lines) + "\n\n_no rows_"


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, docs: dict[str, str] | None = None) -> dict:
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": column_schema(con, table, docs),
        "dagster/table_name": dg.MetadataValue.text(table),
        "preview": dg.MetadataValue.md(markdown_preview(con, table)),
    }
