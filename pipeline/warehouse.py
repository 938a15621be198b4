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

A crash at any step leaves the published file as it was or fully replaced, never
shared with a work copy. `publish` gives the file it replaces a second name,
`.work/standby.linking`, which no run takes, renames the work copy over the published
file, and only then renames `standby.linking` to `standby.duckdb`: the standby name
never names the published file. A run deletes what crashed runs left in `.work` (their
work copies, `standby.linking`, a half-written first-build `standby.copying`) and takes
the standby only when it is a regular file with no other name; otherwise (the published
file under a second name, as an older publish that crashed between its two renames could
leave it, or a file hard-linked elsewhere) it unlinks the name `standby.duckdb` alone
and copies the published file.

The work copy of the last run that failed (a failed step or a blocking check) is kept
for inspection as `.work/failed/<run_id>.duckdb`, closed and checkpointed, and
`last_failed_work_copy()` gives its path (or None). It shows the warehouse as that run
left it, in a file of its own (never a name of the published one). The next failed run
replaces it (only one is kept, as large as the warehouse); runs that succeed leave it,
and a run whose steps all succeeded but that did not publish (a subset) discards its
work copy. A run that crashed keeps nothing: the next run deletes its work copy.
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
-- A Salesforce checkbox is never null: an empty value (Data Loader writes false so) is false. A column
-- the file does not have is NULL in raw (never ''), and stays unknown.
create or replace macro sf_bool(v) as
    case lower(trim(v)) when '1' then true when 'true' then true
                        when '0' then false when 'false' then false when '' then false end;
-- Every timestamp dialect, as a UTC timestamp (docs/real-exports.md): the Data Export's
-- 'YYYY-MM-DD HH:MM:SS' first (the common case, one try), then ISO 8601 as Data Loader, the API and
-- connectors write it (an offset as Z, +0000 or +02:00 is converted to UTC), then slashed dates re-saved
-- from Excel, month first unless the file was read day-first (`date_order`, decided per file by extract).
create or replace macro sf_timestamp(v, date_order) as
    coalesce(try_strptime(v, '%Y-%m-%d %H:%M:%S'), sf_timestamp_other(trim(v), date_order));
create or replace macro sf_timestamp_other(v, date_order) as
    case when v[11] = 'T' and regexp_matches(v, '([zZ]|[+-]\d\d:?\d\d)$')
              then cast(try_strptime(regexp_replace(v, '[zZ]$', '+0000'),
                                     ['%Y-%m-%dT%H:%M:%S.%f%z', '%Y-%m-%dT%H:%M:%S%z']) at time zone 'UTC' as timestamp)
         when v[11] = 'T' then try_strptime(v, ['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S'])
         when contains(v, '/') then sf_slashed_timestamp(
             v, regexp_matches(v, '^\d{1,2}/\d{1,2}/\d{4}'), coalesce(date_order, 'mdy') = 'dmy')
         else try_strptime(v, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M'])
    end;
create or replace macro sf_slashed_timestamp(v, four_digit_year, day_first) as
    case when day_first and four_digit_year then try_strptime(v, ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y',
                                                                  '%d/%m/%Y %I:%M:%S %p', '%d/%m/%Y %I:%M %p'])
         when day_first then try_strptime(v, ['%d/%m/%y %H:%M:%S', '%d/%m/%y %H:%M', '%d/%m/%y',
                                              '%d/%m/%y %I:%M:%S %p', '%d/%m/%y %I:%M %p'])
         when four_digit_year then try_strptime(v, ['%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y',
                                                    '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M'])
         else try_strptime(v, ['%m/%d/%y %I:%M %p', '%m/%d/%y %I:%M:%S %p', '%m/%d/%y', '%m/%d/%y %H:%M:%S',
                               '%m/%d/%y %H:%M'])
    end;
create or replace macro sf_date(v, date_order) as cast(sf_timestamp(v, date_order) as date);
-- Deleted: the record's IsDeleted, or a connector's deleted flag (Fivetran's _fivetran_deleted is a
-- boolean, Stitch's _sdc_deleted_at and Airbyte's _ab_cdc_deleted_at a timestamp), kept as _connector_deleted.
create or replace macro sf_deleted(is_deleted, connector_deleted) as
    coalesce(sf_bool(is_deleted), false) or coalesce(sf_bool(connector_deleted), nullif(trim(connector_deleted), '') is not null);
create or replace macro sf_number(v) as try_cast(nullif(trim(v), '') as double);
create or replace macro sf_integer(v) as try_cast(try_cast(nullif(trim(v), '') as double) as bigint);
-- configured LIKE patterns: lowercased, de-duplicated, sorted; the fallback when there are none
create or replace macro like_patterns(v, fallback) as cast(case when len(v) > 0
    then list_sort(list_distinct(string_split(lower(array_to_string(v, chr(31))), chr(31)))) else fallback end as varchar[]);
"""

# One connection per run and process: DuckDB allows one read-write opener of a file.
_OPEN: dict[str, "_RunWarehouse"] = {}
STANDBY = "standby.duckdb"
LINKING = "standby.linking"  # the published file's second name while it is replaced: never a standby
COPYING = "standby.copying"  # a first build's standby while it is written
FAILED = "failed"  # holds the last failed run's work copy


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
        self.con = None
        try:
            self._open(config)
        except BaseException:  # a run that could not start leaves nothing worth keeping (a half-made copy)
            try:
                self.close_connection()
            finally:
                _remove(work)
                _remove(Path(f"{work}.wal"))
                self.lock_file.close()
            raise

    def _open(self, config: dict) -> None:
        published, work = self.published, self.work
        prefetch_gx()  # the run's checks will import GX: its files are read while the extract runs
        standby = work.parent / STANDBY
        # Left by runs that crashed: their work copies, `standby.linking` (a second name of the published
        # file, or of the one it replaced) and a half-written `standby.copying`. Names only: unlinking a
        # hard link never changes the file its other names show.
        for stale in work.parent.glob("*"):
            if stale.name not in ("spill", STANDBY, FAILED) and not stale.name.startswith(work.stem):
                _remove(stale)
        self.prepared = "copied: no standby" if published.exists() else "new warehouse"
        if os.path.lexists(standby) and (why := _unusable_standby(standby, published)):
            standby.unlink()  # the name only: the published name (or any other) keeps its inode
            if published.exists():
                self.prepared = f"copied: the standby was dropped ({why})"
        if published.exists() and standby.exists():
            # Claimed by renaming: a crash from here on leaves a stale work copy, never a half-caught-up standby.
            os.replace(standby, work)
            try:
                self.con = duckdb.connect(str(work), config=config)
                done = catch_up(self.con, published)
                self.prepared = "standby caught up (tables: " + ", ".join(f"{n} {k}" for k, n in done.items()) + ")"
            except (duckdb.Error, StandbyMismatch) as e:  # a reader still holds it (locked), or it diverged
                self.close_connection()
                _remove(work)
                _remove(Path(f"{work}.wal"))
                self.prepared = f"copied: the standby could not be used ({str(e).splitlines()[0]})"
        if self.con is None:
            if published.exists():
                shutil.copyfile(published, work)
            self.con = duckdb.connect(str(work), config=config)
        for schema in SCHEMAS:
            self.con.execute(f"create schema if not exists {schema}")
        self.con.execute(MACROS)

    def close_connection(self) -> None:
        """Close the run's connection (DuckDB checkpoints its log into the work copy); the lock stays."""
        con, self.con = self.con, None
        if con is not None:
            try:
                release_gx(con)
            finally:
                con.close()

    def close(self) -> None:
        try:
            self.close_connection()
        finally:
            self.lock_file.close()


def _remove(path: Path) -> None:
    """Delete a name: a folder with what is in it, else the name alone (never what a symlink points to,
    and a hard-linked file's other names keep the inode)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shares_inode(path: Path, published: Path) -> str | None:
    """Why writing the file `path` names could change the published warehouse (or any file under
    another name), or None: it must be a regular file that is not the published one and has no
    other name."""
    if path.is_symlink():
        return "a symbolic link"
    st = path.stat()
    if published.exists() and os.path.samestat(st, published.stat()):
        return "the published file itself, under a second name"
    if st.st_nlink != 1:
        return f"a file with {st.st_nlink} names"
    return None


def _unusable_standby(standby: Path, published: Path) -> str | None:
    if not published.exists():
        return "no published warehouse to catch up with"
    return _shares_inode(standby, published)


def _run_failed(context) -> bool:
    """Whether a step of the run failed (a blocking check that fails fails its step); True when
    it cannot be told (no Dagster context)."""
    instance, run_id = getattr(context, "instance", None), getattr(getattr(context, "run", None), "run_id", None)
    if instance is None or not run_id:
        return True
    try:
        return bool(instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE))
    except Exception:  # the event log could not be read: keep the copy rather than lose it
        return True


def _keep_failed(work: Path, published: Path) -> Path | None:
    """Move a failed run's work copy to `.work/failed/`, where it replaces the one kept before."""
    if not work.exists():
        return None
    wal = Path(f"{work}.wal")
    if _shares_inode(work, published):  # never keep a second name of the published file (or another)
        _remove(work)
        _remove(wal)
        return None
    folder = work.parent / FAILED
    folder.mkdir(exist_ok=True)
    for older in folder.iterdir():
        _remove(older)
    kept = folder / work.name
    os.replace(work, kept)
    if wal.exists():
        os.replace(wal, Path(f"{kept}.wal"))
    return kept


def last_failed_work_copy(published_path: str | Path | None = None) -> Path | None:
    """The work copy the last failed run left for inspection, `<warehouse dir>/.work/failed/<run_id>.duckdb`
    (None when there is none). `published_path` is the published warehouse (default: WAREHOUSE_PATH)."""
    published = Path(published_path or settings.warehouse_path()).resolve()
    copies = [p for p in (published.parent / ".work" / FAILED).glob("*.duckdb") if p.is_file()]
    return max(copies, key=lambda p: p.stat().st_mtime) if copies else None


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
            # took 6 s longer, 21 s saved. A failed run's work copy is closed (checkpointed) and kept.
            "checkpoint_threshold": "1GB",
        }

    def publish(self) -> dict:
        """Atomically replace the published warehouse with this run's work copy.

        Until the work copy is renamed over the published file, a failure (or a crash) leaves the
        published file as it was: the run stays open, and teardown keeps the work copy as the last
        failed one (a crash leaves it to the next run, which deletes it). The file being replaced
        gets a second name, `standby.linking`, that no run ever takes; it becomes `standby.duckdb`
        only after the rename, when it is no longer the published file. Whatever fails after the
        rename, the new warehouse is published and the next run starts from a copy or a standby
        that is not the published file."""
        key = str(self.work_path)
        if key not in _OPEN:
            raise RuntimeError("nothing to publish: this run opened no work copy")
        run = _OPEN[key]
        published, work = self.published_path, self.work_path
        standby, linking, copying = (work.parent / name for name in (STANDBY, LINKING, COPYING))
        started = time.perf_counter()
        release_gx(run.con)
        run.con.execute("checkpoint")
        checkpointed = time.perf_counter()
        run.close_connection()
        _fsync(work)
        synced = time.perf_counter()
        first_build = not published.exists()
        linked = False
        try:
            if not first_build:  # the file readers have becomes the next run's standby
                _remove(linking)
                try:
                    os.link(published, linking)
                    linked = True
                except OSError:  # a file system without hard links: the next run copies the published file
                    pass
            os.replace(work, published)
        except BaseException:
            if linked:
                _remove(linking)
            raise
        _OPEN.pop(key)
        try:
            try:
                _fsync(published.parent, directory=True)  # the rename, on disk before the standby's
            except OSError:  # a file system that cannot sync a folder: it commits the rename itself
                pass
            if linked:  # no longer the published file: now it may be the standby
                try:
                    os.replace(linking, standby)
                except OSError:
                    _remove(linking)
            elif first_build:  # nothing to keep: the standby is a copy, made while the file is in the page cache
                try:
                    shutil.copyfile(published, copying)
                    _fsync(copying)
                    os.replace(copying, standby)
                except OSError:  # no room for it: the next run copies the published file instead
                    _remove(copying)
            standby_done = time.perf_counter()
            shutil.rmtree(self.scratch_path, ignore_errors=True)
            if self.staged_dashboards_path.exists():
                from pipeline.dashboards import swap_into

                swap_into(self.staged_dashboards_path, self.dashboards_path)
                # swap_into without renameat2 renames the old pages away first: a crash there leaves them
                for old in self.dashboards_path.parent.glob(f".{self.dashboards_path.name}.old-*"):
                    shutil.rmtree(old, ignore_errors=True)
        finally:
            run.close()  # releases the lock (after the swap: the next run deletes what it takes as stale)
        return {"path": str(published), "bytes": published.stat().st_size,
                "published_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "checkpoint_seconds": checkpointed - started, "close_and_fsync_seconds": synced - checkpointed,
                "standby_seconds": standby_done - synced, "work_copy": run.prepared}

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # A run that did not publish (failure, blocked checks, a subset without `publish`) leaves the
        # published file untouched. A failed one's work copy is kept as the last failed work copy
        # (`last_failed_work_copy`); one whose steps all succeeded (a subset) is discarded.
        run = _OPEN.pop(str(self.work_path), None)
        try:
            if run is not None:
                run.close_connection()
                if _run_failed(context):
                    _keep_failed(self.work_path, self.published_path)
                else:
                    _remove(self.work_path)
                    _remove(Path(f"{self.work_path}.wal"))
        finally:
            shutil.rmtree(self.scratch_path, ignore_errors=True)
            shutil.rmtree(self.staged_dashboards_path, ignore_errors=True)
            if run is not None:
                run.lock_file.close()


def open_published(path: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse, as a reporting tool opens it."""
    return duckdb.connect(path or settings.warehouse_path(), read_only=True)
