"""Everything Great Expectations, in one place, imported lazily.

Why lazily: `import great_expectations` costs ~4 s warm and ~20 s cold (measured),
too much for the CLI, the code location and every test that never validates.
Nothing outside this module imports GX; `validate()` imports it on first use.
Most of a cold import is reading GX's files (and those of the libraries it needs)
from disk: `prefetch()`, called when a run opens its warehouse, asks the kernel to
read them in the background while the extract runs, so the first check imports
from the page cache (14.9 s cold against 5.8 s after such a read, measured).

How GX reaches the data: through the run's own DuckDB connection. Inside a run the
process already holds one read-write connection to the run's work copy
(`Warehouse.connect()`), and DuckDB refuses a second connection to the same file
with a different configuration (duckdb_engine sets its own `custom_user_agent`),
so GX must not open the file. The SQL data source is `duckdb://` with a SQLAlchemy
`creator` that hands out `con.cursor()` (a new connection object on the same
database instance: same file, same configuration, sees the run's tables and the
persisted sf_* macros; the run's connection autocommits, so GX sees every table the
run has written), wrapped in duckdb_engine's `ConnectionWrapper` as its dialect
expects. Every cursor
handed out is closed after the validation, so no transaction of GX outlives it.

The fix for GX issues #10738 / #11579, applied once, here
(`apply_duckdb_persisted_connection_fix`): GX 1.24 executes a metric query on a
pooled connection, returns the connection to the pool (which rolls back / resets
it) and only then reads the rows; DuckDB has dropped the result by then and every
expectation fails with "list index out of range" or an empty result. GX already
keeps one persisted connection (StaticPool + `_connection`) for the dialects listed
in `sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS` (sqlite, mssql,
...); we add duckdb to that list. If a GX upgrade renames or removes that
attribute, the fix raises `GXFixBroken` instead of silently validating nothing,
and tests/test_gx.py fails.

What GX runs: every rule is a `UnexpectedRowsExpectation`. The checks first let
DuckDB run each rule's bad-rows SELECT once into `audit.rule_failures`
(pipeline/quality.py `find_failures`); the rules of one table then form one
ExpectationSuite, validated in one call, each expectation selecting its rule's rows
there (GX runs a COUNT(*) and fetches the first rows). Native column expectations
(ExpectColumnValuesToNotBeNull, ...) are not used: on a schema-qualified DuckDB table
GX 1.24's column-type reflection fallback drops the schema ("Table with name stg_x
does not exist", measured), and a second translation of each rule could disagree
with the quarantine, which copies the same rows.

Engines: a data source is made once per connection and table and reused: adding or
deleting one rewrites the context's YAML configuration (~0.1 s, most of a small
table's check step). After each validation GX's persisted connection goes back to
its pool, which rolls its transaction back, so the next validation reads a fresh
snapshot. `release(con)`, which the Warehouse calls before closing the run's
connection, disposes both SQLAlchemy engines, removes the data source from the
(ephemeral, in-memory) context and closes every cursor handed out, so the file is
free for the next opener. Progress bars are off.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata

SAMPLE_SIZE = 10

_lock = threading.Lock()
_state: dict = {}
_prefetch_started = threading.Event()


class GXFixBroken(RuntimeError):
    """The GX internals the DuckDB fix relies on have changed: re-check GX #10738/#11579."""


@dataclass
class Outcome:
    """The result of one rule: from GX's UnexpectedRowsExpectation result."""

    success: bool
    unexpected_count: int | None
    sample: list = field(default_factory=list)  # first record_ids, at most SAMPLE_SIZE
    error: str | None = None                    # the expectation raised (bad SQL, missing table)


class _DuckDBDialectName(str):
    """'duckdb' with the `.value` GX reads off its GXSqlDialect enum members."""

    @property
    def value(self) -> str:
        return str(self)


def apply_duckdb_persisted_connection_fix() -> None:
    """Make GX keep one persisted connection for the duckdb dialect, as for sqlite."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    dialects = getattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS", None)
    if dialects is None or not callable(getattr(engine_module.SqlAlchemyExecutionEngine, "get_connection", None)):
        raise GXFixBroken(
            "great_expectations.execution_engine.sqlalchemy_execution_engine no longer has "
            "_PERSISTED_CONNECTION_DIALECTS / SqlAlchemyExecutionEngine.get_connection; the DuckDB "
            "persisted-connection fix (GX #10738, #11579) must be redone for this GX version")
    if "duckdb" not in [str(getattr(d, "value", d)).lower() for d in dialects]:
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName("duckdb"))


def _files_to_import(loaded) -> list[str]:
    """The compiled modules of GX, duckdb_engine and every distribution they require
    (extras left out), except those whose top-level module is in `loaded`."""
    from packaging.requirements import Requirement

    seen, todo, files = set(), ["great_expectations", "duckdb_engine"], []
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        files += [str(dist.locate_file(f)) for f in dist.files or []
                  if f.suffix in (".pyc", ".so") and f.parts[0].split(".")[0] not in loaded]
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return files


def _read_ahead(paths: list[str]) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)  # the kernel reads it; no copy through Python
        finally:
            os.close(fd)


def prefetch() -> None:
    """Start reading GX's files into the page cache on a background thread, once per
    process, unless GX is imported already. Costs no CPU to speak of: the kernel reads."""
    with _lock:
        if _state or _prefetch_started.is_set() or not hasattr(os, "posix_fadvise"):
            return
        _prefetch_started.set()
    loaded = set(sys.modules)
    threading.Thread(target=lambda: _read_ahead(_files_to_import(loaded)), name="gx-prefetch", daemon=True).start()


def _gx():
    """(gx module, expectations module, ephemeral context), created once per process."""
    with _lock:
        if not _state:
            started = time.perf_counter()
            import great_expectations as gx
            import great_expectations.expectations as gxe
            from great_expectations.data_context.types.base import ProgressBarsConfig

            apply_duckdb_persisted_connection_fix()
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            _state.update(gx=gx, gxe=gxe, context=context, import_seconds=time.perf_counter() - started)
        return _state["gx"], _state["gxe"], _state["context"]


def import_seconds() -> float | None:
    return _state.get("import_seconds")


def _end_transaction(datasource) -> None:
    """Return GX's persisted connection to its pool, which rolls back its transaction,
    so the next validation reads a fresh snapshot with every row written since."""
    engine = getattr(datasource, "_execution_engine", None)
    connection = getattr(engine, "_connection", None) if engine is not None else None
    if connection is not None:
        try:
            connection.close()
        finally:
            engine._connection = None


def _dispose(datasource, context, cursors) -> None:
    _end_transaction(datasource)
    engine = getattr(datasource, "_execution_engine", None)
    if engine is not None:
        engine.engine.dispose()
    own_engine = getattr(datasource, "_engine", None)
    if own_engine is not None:
        own_engine.dispose()
    try:
        context.data_sources.delete(datasource.name)
    except Exception:  # an ephemeral context; the source only lives in memory
        pass
    for cursor in cursors:
        try:
            cursor.close()
        except Exception:
            pass


# (id(con), table) -> (datasource, batch, cursors). A data source is made once per
# connection and table: adding and deleting one rewrites the context's YAML config,
# ~0.1 s each time, which made up most of a small table's check step (measured).
_batches: dict[tuple[int, str], tuple] = {}


def _batch(con, table: str):
    key = (id(con), table)
    if key not in _batches:
        _, _, context = _gx()
        from duckdb_engine import ConnectionWrapper

        cursors: list = []

        def creator():
            cursor = con.cursor()
            cursors.append(cursor)
            return ConnectionWrapper(cursor)

        schema, _, name = table.rpartition(".")
        datasource = context.data_sources.add_sql(
            name=f"warehouse_{uuid.uuid4().hex[:12]}", connection_string="duckdb://", kwargs={"creator": creator})
        try:
            with warnings.catch_warnings():  # schema_name "deprecated": the alternative, a schema in the URL, is
                warnings.simplefilter("ignore", DeprecationWarning)  # not available for duckdb:// with a creator
                asset = datasource.add_table_asset(name=name, table_name=name, schema_name=schema or None)
            batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
        except Exception:
            _dispose(datasource, context, cursors)
            raise
        finally:
            _end_transaction(datasource)
        _batches[key] = (datasource, batch, cursors)
    return _batches[key]


def release(con) -> None:
    """Drop every GX data source on `con`: call before closing the connection."""
    for key in [k for k in _batches if k[0] == id(con)]:
        datasource, _, cursors = _batches.pop(key)
        _dispose(datasource, _state["context"], cursors)


def validate(con, table: str, queries: dict[str, str], *, sample_column: str = "record_id") -> dict[str, Outcome]:
    """Run each query of `queries` (name -> bad-rows SELECT using `{batch}`) as a GX
    UnexpectedRowsExpectation against `schema.table`, in ONE validation of one suite,
    through `con` (the run's DuckDB connection). Returns name -> Outcome."""
    if not queries:
        return {}
    gx, gxe, _ = _gx()
    datasource, batch, _ = _batch(con, table)
    try:
        suite = gx.ExpectationSuite(name=f"{table}_rules")
        for rule_name, query in queries.items():
            suite.add_expectation(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query, description=rule_name, meta={"rule": rule_name}))
        result = batch.validate(suite, result_format="COMPLETE")
    finally:
        _end_transaction(datasource)

    outcomes = {}
    for r in result.results:
        rule_name = r.expectation_config.meta["rule"]
        info = r.exception_info or {}
        raised = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
        if info.get("raised_exception"):
            raised.append(info)
        if raised:
            message = raised[0].get("exception_message") or "the expectation raised"
            outcomes[rule_name] = Outcome(False, None, [], message.split("\n[SQL:")[0].strip())
            continue
        payload = r.result or {}
        rows = (payload.get("details") or {}).get("unexpected_rows") or []
        sample = []
        for row in rows:
            value = row.get(sample_column) if isinstance(row, dict) else row[0]
            if value not in sample:
                sample.append(value)
            if len(sample) == SAMPLE_SIZE:
                break
        outcomes[rule_name] = Outcome(bool(r.success), payload.get("observed_value"), sample)
    return outcomes
