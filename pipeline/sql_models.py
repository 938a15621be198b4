"""The SQL model layer: every `sql/<schema>/<name>.sql` is one table `<schema>.<name>`.

A model file holds an optional leading `/* yaml */` block (description, columns,
materialized) and a single SELECT. Its dependencies are the schema-qualified tables
it reads, found by parsing it with sqlglot; nothing keeps a hand-written list.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import sqlglot
import yaml
from sqlglot import exp

from pipeline.settings import SQL_DIR

# Each layer reads only the layer below it (and, from core on, its own layer).
LAYERS = ("staging", "core", "kpi", "marts")
MAY_READ = {
    "staging": {"raw"},
    "core": {"staging", "core", "audit"},  # audit.quarantine: core facts leave out error rows
    "kpi": {"core"},
    "marts": {"kpi", "core", "marts"},
}

_HEADER = re.compile(r"^\s*/\*(.*?)\*/", re.S)


class ModelError(Exception):
    """A model that cannot be part of the graph; the message names its file."""


@dataclass(frozen=True)
class SqlModel:
    path: Path
    schema: str
    name: str
    select: str
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    materialized: str = "table"
    meta: dict = field(default_factory=dict)
    reads: frozenset[tuple[str, str]] = frozenset()

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    def create_statement(self) -> str:
        kind = "view" if self.materialized == "view" else "table"
        return f"create or replace {kind} {self.table} as\n{self.select}"


def tables_read(sql: str, path: Path) -> frozenset[tuple[str, str]]:
    """Schema-qualified tables a SELECT reads (CTE names excluded)."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError as e:
        raise ModelError(f"{path}: SQL does not parse: {e}") from e
    if not isinstance(tree, (exp.Select, exp.Union, exp.Query)):
        raise ModelError(f"{path}: a model holds a single SELECT")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    reads = set()
    for table in tree.find_all(exp.Table):
        if not table.name or isinstance(table.this, exp.Func):  # table functions: range(), unnest()
            continue
        if table.db:
            reads.add((table.db.lower(), table.name.lower()))
        elif table.name.lower() not in ctes:
            raise ModelError(f"{path}: table {table.name!r} is neither a CTE nor schema-qualified (write <schema>.{table.name})")
    return frozenset(reads)


def parse_model(path: Path, sql_dir: Path = SQL_DIR) -> SqlModel:
    schema = path.parent.relative_to(sql_dir).parts[0]
    if schema not in LAYERS:
        raise ModelError(f"{path}: folder {schema!r} is not a layer ({', '.join(LAYERS)})")
    text = path.read_text(encoding="utf-8")
    header = {}
    match = _HEADER.match(text)
    if match:
        try:
            header = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as e:
            raise ModelError(f"{path}: header block is not valid YAML: {e}") from e
        text = text[match.end():]
    select = text.strip().rstrip(";").strip()
    reads = tables_read(select, path)
    wrong_layer = sorted(f"{s}.{t}" for s, t in reads if s not in MAY_READ[schema])
    if wrong_layer:
        raise ModelError(f"{path}: a {schema} model may read only {sorted(MAY_READ[schema])}; it reads {wrong_layer}")
    incremental = header.get("incremental")
    if incremental is not None:
        keyed = incremental.get("keyed_inputs") if isinstance(incremental, dict) else None
        if header.get("materialized") == "view" or not isinstance(keyed, list) or "unique_key" not in incremental:
            raise ModelError(f"{path}: incremental needs unique_key and a keyed_inputs list (and a table, not a view)")
        unread = sorted(set(keyed) - {f"{s}.{t}" for s, t in reads})
        if unread:
            raise ModelError(f"{path}: keyed_inputs {unread} are not tables the model reads")
    if header.get("unique_key") is not None and (header.get("materialized") == "view" or incremental is not None):
        raise ModelError(f"{path}: unique_key (the change log of a rebuilt table) is for tables that are not incremental")
    return SqlModel(
        path=path,
        schema=schema,
        name=path.stem,
        select=select,
        description=str(header.get("description", "")).strip(),
        columns={str(k): str(v).strip() for k, v in (header.get("columns") or {}).items()},
        materialized=header.get("materialized", "table"),
        meta={k: v for k, v in header.items() if k not in {"description", "columns", "materialized"}},
        reads=reads,
    )


@cache
def load_models(sql_dir: Path = SQL_DIR, external_tables: frozenset[tuple[str, str]] = frozenset()) -> tuple[SqlModel, ...]:
    """Every model under sql_dir, checked: each table it reads is another model or an
    external table (the extract assets' raw tables)."""
    models = tuple(parse_model(p, sql_dir) for p in sorted(Path(sql_dir).rglob("*.sql")))
    known = {(m.schema, m.name) for m in models} | set(external_tables)
    for model in models:
        unknown = sorted(f"{s}.{t}" for s, t in model.reads - known)
        if unknown:
            raise ModelError(f"{model.path}: reads {', '.join(unknown)}, which no model or extract produces")
    return models


# Read by every KPI for its as-of date and scopes: every object reaches every KPI through them,
# which says nothing about which KPIs an object feeds.
HUBS = frozenset({"core.dim_run", "core.dim_kpi_scope", "core.bridge_owner_scope"})


@cache
def _reads_but_hubs(sql_dir: Path) -> dict[str, set[str]]:
    return {m.table: {f"{s}.{t}" for s, t in m.reads} - HUBS
            for m in (parse_model(p, sql_dir) for p in sorted(Path(sql_dir).rglob("*.sql")))}


def downstream_of(table: str, schema: str, sql_dir: Path = SQL_DIR) -> tuple[str, ...]:
    """The `schema` tables built from `table` ("raw.lead"), directly or through other models but the HUBS."""
    reads = _reads_but_hubs(sql_dir)
    found, frontier = set(), {table}
    while frontier:
        frontier = {t for t, inputs in reads.items() if inputs & frontier} - found
        found |= frontier
    return tuple(sorted(t.split(".", 1)[1] for t in found if t.startswith(f"{schema}.")))


def run_models(con, models, only_schemas: tuple[str, ...] | None = None, seconds: dict | None = None) -> None:
    """Build models in dependency order in one connection (tests and the benchmark's
    no-orchestrator baseline, which passes `seconds` to get each model's time)."""
    done: set[tuple[str, str]] = set()
    pending = [m for m in models if only_schemas is None or m.schema in only_schemas]
    produced = {(m.schema, m.name) for m in pending}
    while pending:
        ready = [m for m in pending if all(r in done or r not in produced for r in m.reads)]
        if not ready:
            raise ModelError(f"dependency cycle among {[m.table for m in pending]}")
        for model in ready:
            started = time.perf_counter()
            con.execute(model.create_statement())
            if seconds is not None:
                seconds[model.table] = time.perf_counter() - started
            done.add((model.schema, model.name))
        pending = [m for m in pending if m not in ready]
