"""Asset keys, groups and kinds, derived from where a table lives: in one place."""

from __future__ import annotations

import dagster as dg

OWNER = "team:sales-ops"
KINDS = {
    "raw": {"duckdb", "csv"},
    "staging": {"duckdb", "sql"},
    "core": {"duckdb", "sql"},
    "kpi": {"duckdb", "sql"},
    "marts": {"duckdb", "sql"},
    "dashboards": {"html", "plotly"},
    "publish": {"duckdb"},
    "audit": {"duckdb", "great_expectations"},
}


def asset_key(schema: str, table: str) -> dg.AssetKey:
    """Table `<schema>.<table>` is asset `<schema>/<table>`, in group `<schema>`."""
    return dg.AssetKey([schema, table])


def group(schema: str) -> str:
    return schema


def kinds(schema: str) -> set[str]:
    return KINDS[schema]
