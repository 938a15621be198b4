"""The DuckDB warehouse: one work copy per run, published atomically at the end.

A run never writes the published file. Its first connection makes the run's work
copy, `<dir>/.work/<run_id>.duckdb`; every asset of the run writes there; the
`publish` asset renames the work copy over the published file (an atomic `rename(2)`),
so readers see the old warehouse or the new one, never half a build, and a failed run
leaves the last good warehouse in place. Renaming also works while a reader holds the
published file open read-only (it keeps the old inode), which a writer opening the
file could not.

The work copy is not a copy of the whole file when it can be helped: copying the
enterprise warehouse (8.6 GB) read and wrote 17 GB, which also pushed the export out
of the page cache (measured: 49 s for the copy, then the unchanged files hashed at
about 40 MB/s, from a disk that reads 93 MB/s). So the file a publish replaces is kept as
`.work/standby.duckdb` (a hard link to the old inode), and the next run takes it as
its work copy and catches it up with the published file table by table: a table
whose version (audit.build_state) is the same is left alone, a merged one replays its
change log by key, raw tables append their new loads, other tables are copied (see
`catch_up`). A first build leaves a copy of itself as the standby. A standby that a
reader still holds open (DuckDB locks it), or that does not catch up, is dropped and
the run copies the published file as before.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from pipeline import settings
from pipeline.extract import quote
from pipeline.gx import prefetch as prefetch_gx
from pipeline.gx import release as release_gx

# Files are written in the v1.1+ storage format so DuckDB 1.1 and later (CLI, Python,
# ODBC/JDBC drivers of BI tools) can read them; DuckDB 2.0's own format cannot be read
# by any 1.x client.
STORAGE_VERSION = "v1.1.0"
SCHEMAS = ("raw", "staging", "core", "kpi", "marts", "audit")

# Salesforce value parsing shared by every staging model and check. sf_id gives every id
# in its 18-character form: reports, URLs and hand-kept files (HR, targets) often carry
# the case-sensitive 15-character one, which must still join. Its first branch is the
# common case, an id already in its 18-character form: 18 bytes, printable ASCII at both
# ends (so trim, which strips Unicode blanks, would leave it as it is); trimming every
# value instead took 2.5x (select) to 4x (filter) as long on the enterprise Task Ids.
# Stored in the warehouse (not temp) so other connections (checks, readers) can use them.
MACROS = r"""
create or replace macro sf_text(v) as nullif(v, '');
create or replace macro sf_id_checksum(v, chunk) as substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 1
    + cast(substr(v, chunk * 5 + 1, 1) between 'A' and 'Z' as integer)
    + 2 * cast(substr(v, chunk * 5 + 2, 1) between 'A' and 'Z' as integer)
    + 4 * cast(substr(v, chunk * 5 + 3, 1) between 'A' and 'Z' as integer)
    + 8 * cast(substr(v, chunk * 5 + 4, 1) between 'A' and 'Z' as integer)
    + 16 * cast(substr(v, chunk * 5 + 5, 1) between 'A' and 'Z' as integer), 1);
create or replace macro sf_id18(v) as
    case when length(v) = 15 and regexp_full_match(v, '[0-9A-Za-z]{15}')
         then v || sf_id_checksum(v, 0) || sf_id_checksum(v, 1) || sf_id_checksum(v, 2) else v end;
create or replace macro sf_id(v) as
    case when strlen(v) = 18 and ascii(v) between 33 and 126 and ascii(right(v, 1)) between 33 and 126
              and v <> '000000000000000AAA' then v
         when trim(v) in ('', '000000000000000AAA', '000000000000000') then null else sf_id18(trim(v)) end;
create or replace macro sf_bool(v) as
    case lower(trim(v)) when '1' then true when 'true' then true
                        when '0' then false when 'false' then false end;
create or replace macro sf_timestamp(v) as
    coalesce(try_strptime(trim(v), '%Y-%m-%d %H:%M:%S'),
             try_strptime(trim(v), '%Y-%m-%dT%H:%M:%S.%gZ'),
             try_strptime(trim(v), '%Y-%m-%dT%H:%M:%SZ'),
             try_strptime(trim(v), '%Y-%m-%d'));
create or replace macro sf_date(v) as cast(sf_timestamp(v) as date);
create or replace macro sf_number(v) as try_cast(nullif(trim(v), '') as double);
create or replace macro sf_integer(v) as try_cast(try_cast(nullif(trim(v), '') as double) as bigint);
-- configured LIKE patterns: lowercased, de-duplicated, sorted; the fallback when there are none
create or replace macro like_patterns(v, fallback) as cast(case when len(v) > 0
    then list_sort(list_distinct(string_split(lower(array_to_string(v, chr(31))), chr(31)))) else fallback end as varchar[]);
"""

# One connection per run and process: DuckDB allows one read-write opener of a file.
_OPEN: dict[str, "_RunWarehouse"] = {}
STANDBY = "standby.duckdb"


class StandbyMismatch(Exception):
    """The standby did not catch up with the published warehouse."""


def _quoted(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _tables(con, database: str) -> dict[tuple[str, str], tuple]:
    """(schema, table) -> ((column, type), ...) of a database's tables."""
    rows = con.execute("""
        select c.schema_name, c.table_name, list((c.column_name, c.data_type) order by c.column_index)
        from duckdb_columns() as c
        inner join duckdb_tables() as t
            on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
        where c.database_name = ? group by all""", [database]).fetchall()
    return {(schema, table): tuple(map(tuple, columns)) for schema, table, columns in rows}


def _versions(con, database: str, tables) -> dict[str, str]:
    if ("audit", "build_state") not in tables:
        return {}
    return dict(con.execute(f"select table_name, version from {quote(database)}.audit.build_state").fetchall())


def catch_up(con, published: Path) -> dict:
    """Make the database `con` holds, the warehouse as published before the last run,
    equal to the published file, writing only what the last run changed. Raises
    StandbyMismatch when a table's row count differs afterwards."""
    con.execute(f"attach '{str(published).replace(chr(39), chr(39) * 2)}' as published (read_only)")
    try:
        mine_db = con.execute("select current_database()").fetchone()[0]
        mine, theirs = _tables(con, mine_db), _tables(con, "published")
        my_versions, their_versions = _versions(con, mine_db, mine), _versions(con, "published", theirs)
        logs = {}
        if ("audit", "changed_keys") in theirs and any(c == "key_column" for c, _ in theirs["audit", "changed_keys"]):
            logs = {(t, f, v): k for t, f, v, k in con.execute(
                "select distinct table_name, from_version, to_version, key_column from published.audit.changed_keys "
                "where key_column is not null").fetchall()}
        for schema, view in con.execute("select schema_name, view_name from duckdb_views() "
                                        "where database_name = ? and not internal", [mine_db]).fetchall():
            con.execute(f"drop view {_quoted(schema, view)}")
        for schema, table in mine.keys() - theirs.keys():
            con.execute(f"drop table {_quoted(schema, table)}")
        done = {"unchanged": 0, "merged": 0, "appended": 0, "copied": 0}
        for (schema, table), columns in theirs.items():
            name, key = _quoted(schema, table), f"{schema}.{table}"
            mine_v, theirs_v = my_versions.get(key), their_versions.get(key)
            same = mine.get((schema, table)) == columns and schema != "audit" and mine_v is not None
            if same and mine_v == theirs_v:
                done["unchanged"] += 1
            elif same and (key_column := logs.get((key, mine_v, theirs_v))):
                keys = ("select key from published.audit.changed_keys "
                        "where table_name = ? and from_version = ? and to_version = ?")
                changed = f'cast("{key_column}" as varchar) in ({keys})'
                con.execute(f"delete from {name} where {changed}", [key, mine_v, theirs_v])
                con.execute(f"insert into {name} select * from published.{name} where {changed}", [key, mine_v, theirs_v])
                done["merged"] += 1
            elif same and schema == "raw" and ("_loaded_at", "TIMESTAMP") in columns and _append_only(con, name):
                con.execute(f"insert into {name} select * from published.{name} "
                            f"where _loaded_at > (select max(_loaded_at) from {name})")
                done["appended"] += 1
            else:
                con.execute(f"create schema if not exists {quote(schema)}")
                con.execute(f"create or replace table {name} as select * from published.{name}")
                done["copied"] += 1
        for (sql,) in con.execute("select sql from duckdb_views() where database_name = 'published' "
                                  "and not internal").fetchall():
            con.execute(sql)
        for schema, table in theirs:
            name = _quoted(schema, table)
            mine_rows, their_rows = con.execute(
                f"select (select count(*) from {name}), (select count(*) from published.{name})").fetchone()
            if mine_rows != their_rows:
                raise StandbyMismatch(f"{schema}.{table}: {mine_rows} rows after catching up, {their_rows} published")
        return done
    finally:
        con.execute("detach published")


def _append_only(con, name: str) -> bool:
    """The published raw table is this one plus rows loaded after its newest load."""
    newest, rows = con.execute(f"select max(_loaded_at), count(*) from {name}").fetchone()
    if newest is None:
        return False
    older = con.execute(f"select count(*) from published.{name} where _loaded_at <= ?", [newest]).fetchone()[0]
    return older == rows


class _RunWarehouse:
    def __init__(self, published: Path, work: Path, config: dict):
        self.published, self.work = published, work
        self.lock_file = open(published.parent / ".build.lock", "a+")
        try:
            fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock_file.close()
            raise RuntimeError(
                f"another run is building {published} right now; runs of this pipeline "
                "are serialized (the warehouse has a single writer)"
            ) from None
        prefetch_gx()  # the run's checks will import GX: its files are read while the extract runs
        standby = work.parent / STANDBY
        for stale in work.parent.glob("*"):  # left by runs that crashed
            if stale.name not in ("spill", STANDBY) and not stale.name.startswith(work.stem):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        self.con = None
        self.prepared = "copied: no standby" if published.exists() else "new warehouse"
        if published.exists() and standby.exists():
            # Claimed by renaming: a crash from here on leaves a stale work copy, never a half-caught-up standby.
            os.replace(standby, work)
            try:
                self.con = duckdb.connect(str(work), config=config)
                done = catch_up(self.con, published)
                self.prepared = "standby caught up (tables: " + ", ".join(f"{n} {k}" for k, n in done.items()) + ")"
            except (duckdb.Error, StandbyMismatch) as e:  # a reader still holds it (locked), or it diverged
                if self.con is not None:
                    self.con.close()
                    self.con = None
                work.unlink(missing_ok=True)
                Path(f"{work}.wal").unlink(missing_ok=True)
                self.prepared = f"copied: the standby could not be used ({str(e).splitlines()[0]})"
        if self.con is None:
            if published.exists():
                shutil.copyfile(published, work)
            self.con = duckdb.connect(str(work), config=config)
        for schema in SCHEMAS:
            self.con.execute(f"create schema if not exists {schema}")
        self.con.execute(MACROS)

    def close(self):
        release_gx(self.con)
        self.con.close()
        self.lock_file.close()


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file (WAREHOUSE_PATH), its memory limit and threads."""

    path: str | None = Field(default=None, description="default: $WAREHOUSE_PATH, else warehouse/warehouse.duckdb")
    memory_limit: str = Field(default_factory=lambda: os.environ.get("WAREHOUSE_MEMORY_LIMIT", "1500MB"))
    threads: int = Field(
        default_factory=lambda: int(os.environ.get("WAREHOUSE_THREADS") or os.cpu_count() or 2)
    )

    _run_id: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else uuid.uuid4().hex

    @property
    def run_id(self) -> str:
        return self._run_id or "adhoc"

    @property
    def published_path(self) -> Path:
        return Path(self.path or settings.warehouse_path()).resolve()

    @property
    def work_path(self) -> Path:
        return self.published_path.parent / ".work" / f"{self._run_id or 'adhoc'}.duckdb"

    @property
    def scratch_path(self) -> Path:
        """Run-scoped room for extracted zips and transcoded files; removed with the run."""
        return self.published_path.parent / ".work" / f"{self._run_id or 'adhoc'}-scratch"

    @property
    def dashboards_path(self) -> Path:
        """The published dashboard pages, next to the warehouse."""
        return self.published_path.parent / "dashboards"

    @property
    def staged_dashboards_path(self) -> Path:
        """This run's rendered pages, swapped in by `publish` with the warehouse."""
        return self.published_path.parent / ".work" / f"{self._run_id or 'adhoc'}-dashboards"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """The run's connection to its work copy (made on first use)."""
        key = str(self.work_path)
        if key not in _OPEN:
            self.work_path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.published_path.parent / ".work" / "spill"
            _OPEN[key] = _RunWarehouse(self.published_path, self.work_path, self.duckdb_config(temp))
        return _OPEN[key].con

    def duckdb_config(self, temp_directory: Path) -> dict:
        return {
            "memory_limit": self.memory_limit,
            "threads": self.threads,
            "temp_directory": str(temp_directory),
            "storage_compatibility_version": STORAGE_VERSION,
            "preserve_insertion_order": True,
            # A run checkpoints once, when it publishes. At DuckDB's default (a 16 MiB write-ahead
            # log) the build state and check results written between models set off a mid-run
            # checkpoint that took 27 s at enterprise scale; without it the publish's checkpoint
            # took 6 s longer, 21 s saved. A failed run's work copy is discarded, log and all.
            "checkpoint_threshold": "1GB",
        }

    def publish(self) -> dict:
        """Atomically replace the published warehouse with this run's work copy."""
        key = str(self.work_path)
        if key not in _OPEN:
            raise RuntimeError("nothing to publish: this run opened no work copy")
        run = _OPEN.pop(key)
        release_gx(run.con)
        started = time.perf_counter()
        run.con.execute("checkpoint")
        checkpointed = time.perf_counter()
        run.con.close()
        fd = os.open(self.work_path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        synced = time.perf_counter()
        standby = self.work_path.parent / STANDBY
        first_build = not self.published_path.exists()
        if not first_build:  # the file readers had becomes the next run's standby
            linking = standby.with_suffix(".linking")
            linking.unlink(missing_ok=True)
            try:
                os.link(self.published_path, linking)
                os.replace(linking, standby)
            except OSError:  # a file system without hard links: the next run copies the published file
                linking.unlink(missing_ok=True)
        os.replace(self.work_path, self.published_path)
        if first_build:  # nothing to keep: the standby is a copy, made while the file is in the page cache
            copying = standby.with_suffix(".copying")
            try:
                shutil.copyfile(self.published_path, copying)
                os.replace(copying, standby)
            except OSError:  # no room for it: the next run copies the published file instead
                copying.unlink(missing_ok=True)
        standby_done = time.perf_counter()
        run.lock_file.close()
        shutil.rmtree(self.scratch_path, ignore_errors=True)
        if self.staged_dashboards_path.exists():
            from pipeline.dashboards import swap_into

            swap_into(self.staged_dashboards_path, self.dashboards_path)
        return {"path": str(self.published_path), "bytes": self.published_path.stat().st_size,
                "published_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "checkpoint_seconds": checkpointed - started, "close_and_fsync_seconds": synced - checkpointed,
                "standby_seconds": standby_done - synced, "work_copy": run.prepared}

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # A run that did not publish (failure, blocked checks, a subset without
        # `publish`) discards its work copy; the published file is untouched.
        run = _OPEN.pop(str(self.work_path), None)
        if run is not None:
            run.close()
            self.work_path.unlink(missing_ok=True)
            Path(f"{self.work_path}.wal").unlink(missing_ok=True)
        shutil.rmtree(self.scratch_path, ignore_errors=True)
        shutil.rmtree(self.staged_dashboards_path, ignore_errors=True)


def open_published(path: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse, as a reporting tool opens it."""
    return duckdb.connect(path or settings.warehouse_path(), read_only=True)
