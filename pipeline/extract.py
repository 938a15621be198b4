"""Load one export object into `raw`, verbatim, append-only, with load metadata.

DuckDB's CSV reader does the reading with the dialect pinned (comma, double quote,
header, every column VARCHAR): a sniffer left to guess loads a truncated file as a
single column and a repeated header as data. Lines DuckDB cannot parse are kept in
`audit.rejected_lines` with their line number and text, so nothing is dropped.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipeline.contracts import Contract, load_contracts
from pipeline.dialects import (DELETED_COLUMN, canonical_header, decide_date_order, identity_columns,
                               slashed_parts_sql, sniff)

CHUNK = 16 << 20
MAX_LINE_SIZE = 8 << 20  # 131k-character rich text fields, several per record
# DuckDB's buffer defaults to 16 lines of MAX_LINE_SIZE per thread (64 MB lines ran out of memory on
# a 2 GB file). At 128 MB the parallel insert wrote part-filled row groups (33 for the 1/10 Task.csv,
# 23 at 32 MB), which the next checkpoint rewrote whole: 8-12 s at 1/10, most of the publish's 31 s
# at enterprise scale (measured). A line still may span buffers.
CSV_BUFFER_SIZE = 32 << 20
# A Latin-1 export shows a byte that is not UTF-8 early on (names, cities, descriptions): a new file whose
# first UTF8_PROBE bytes are UTF-8 is loaded in one read, DuckDB checking the rest as it parses.
UTF8_PROBE = 64 << 20
LATIN1_NAMES = ("latin-1", "latin1", "iso-8859-1", "cp1252")


def declared_latin1(encoding: str) -> bool:
    """Whether the configured encoding (SF_EXPORT_ENCODING) names Latin-1."""
    return encoding.lower().replace("_", "-") in LATIN1_NAMES
# _date_order: how the row's file wrote slashed dates (mdy | dmy, pipeline/dialects.py), read by sf_timestamp.
# _connector_deleted: a connector's deleted flag, when the file had one (read by sf_deleted).
LOAD_COLUMNS = {"_export_id": "varchar", "_source_file": "varchar", "_row_number": "bigint", "_loaded_at": "timestamp",
                "_row_hash": "ubigint", "_date_order": "varchar", DELETED_COLUMN: "varchar", "_duplicate_id": "boolean"}
# A record a newer full export of its object no longer has was deleted (or purged): raw records it as a copy
# of the record's latest row whose _connector_deleted says so, loaded with that export (_row_number NULL).
ABSENT = "absent: "
# An empty field is '' in raw, quoted or not (a checkbox left empty is false); a column the file lacks is NULL.
NO_NULL_STRING = "chr(0)"


class ExportError(Exception):
    """Input that cannot be loaded; the message names the file (and column)."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the export: a folder or a .zip --------------------------------------------------


def find_object_file(export_dir: Path, contract: Contract) -> Path | None:
    """The object's file anywhere in the export (zips often nest a folder), matched
    case-insensitively on the contract's accepted names."""
    wanted = {name.lower() for name in contract.files}
    found = sorted(p for p in export_dir.rglob("*") if p.is_file() and p.name.lower() in wanted)
    if len(found) > 1:
        raise ExportError(f"{contract.object}: several files in the export: {', '.join(str(p.relative_to(export_dir)) for p in found)}")
    return found[0] if found else None


# --- one file: encoding, identity, header ----------------------------------------------


@dataclass
class ScannedFile:
    path: Path
    sha1: str
    encoding: str  # utf-8 | latin-1
    size: int
    notes: list[str] = field(default_factory=list)


def scan_file(path: Path, configured_encoding: str = "auto") -> ScannedFile:
    """One pass over the bytes: content hash and encoding (BOM, else valid UTF-8, else Latin-1)."""
    digest, decoder, valid_utf8, first_bad, offset = hashlib.sha1(), codecs.getincrementaldecoder("utf-8")(), True, None, 0
    # hashlib releases the GIL: the previous chunk is hashed on a second core while this one is decoded.
    with open(path, "rb") as f, ThreadPoolExecutor(max_workers=1) as hasher:
        hashed = None
        while chunk := f.read(CHUNK):
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(digest.update, chunk)
            if valid_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    valid_utf8, first_bad = False, offset + e.start
            offset += len(chunk)
        if hashed is not None:
            hashed.result()
    if valid_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid_utf8, first_bad = False, offset
    notes = []
    if declared_latin1(configured_encoding):
        encoding = "latin-1"
    elif valid_utf8:
        encoding = "utf-8"
    else:
        encoding = "latin-1"
        if configured_encoding.lower() not in ("auto", ""):
            notes.append(f"{path.name}: declared {configured_encoding} but byte {first_bad} is not valid UTF-8; read as Latin-1 (ISO-8859-1)")
    return ScannedFile(path, digest.hexdigest(), encoding, offset, notes)


def sha1_of(path: Path, stop: threading.Event) -> str:
    """The file's SHA-1, read beside DuckDB's own read of it (hashlib and file reads release the GIL)."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while not stop.is_set() and (chunk := f.read(CHUNK)):
            digest.update(chunk)
    return digest.hexdigest()


def utf8_prefix(path: Path) -> bool:
    """Whether the first UTF8_PROBE bytes are UTF-8 (a character cut at the end is not held against it)."""
    with open(path, "rb") as f:
        head = f.read(UTF8_PROBE)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return False
    return True


def utf8_copy(scanned: ScannedFile, scratch: Path) -> Path:
    """A UTF-8 file DuckDB can read. DuckDB's own latin-1 decoder refuses bytes
    0x80-0x9F, which real Latin-1 exports contain, so we transcode ourselves."""
    if scanned.encoding == "utf-8":
        return scanned.path
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{scanned.sha1}.utf8.csv"
    if not target.exists():
        with open(scanned.path, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk.decode("latin-1").encode("utf-8"))
    return target


def read_header(path: Path) -> list[str]:
    """The first record's column names (a header has no newlines; we still read
    until its quotes balance)."""
    text = ""
    # Not decoded past the header strictly: in a file read in one pass, a Latin-1 byte may follow it.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        for line in f:
            text += line
            if text.count('"') % 2 == 0:
                break
    row = next(csv.reader(io.StringIO(text)), None)
    return [c.strip() for c in row] if row else []


# --- loading ---------------------------------------------------------------------------


def ensure_raw_table(con: duckdb.DuckDBPyConnection, contract: Contract, columns: list[str] = ()) -> None:
    """raw.<object>: the contract's fields, every column ever seen, load metadata; all VARCHAR."""
    table = f"raw.{contract.table}"
    wanted = [f.name for f in contract.fields]
    con.execute(
        f"create table if not exists {table} ("
        + ", ".join([f"{quote(c)} varchar" for c in wanted] + [f"{c} {t}" for c, t in LOAD_COLUMNS.items()])
        + ")"
    )
    existing = {r[0].lower() for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ?",
        [contract.table]).fetchall()}
    for column, kind in [*((c, "varchar") for c in columns), *LOAD_COLUMNS.items()]:
        if column.lower() not in existing:  # a new column in this export; _row_hash for older warehouses
            con.execute(f"alter table {table} add column {quote(column)} {kind}")
            existing.add(column.lower())


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        create table if not exists raw._loads (
            object varchar, export_id varchar, source_file varchar, sha1 varchar, encoding varchar,
            bytes bigint, rows_loaded bigint, rows_rejected bigint, columns varchar[], loaded_at timestamp,
            dialect varchar, date_order varchar)""")
    for column in ("dialect", "date_order"):  # warehouses built before these were recorded
        con.execute(f"alter table raw._loads add column if not exists {column} varchar")
    con.execute("""
        create table if not exists audit.rejected_lines (
            object varchar, export_id varchar, source_file varchar, line bigint, column_name varchar,
            error_type varchar, error_message varchar, csv_line varchar, loaded_at timestamp)""")


def load_object(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    export_dir: Path,
    *,
    export_id: str,
    scratch: Path,
    encoding: str = "auto",
    date_order: str = "mdy",
    full_snapshot: bool = True,
) -> dict:
    """Append the object's file to raw.<object> unless this exact file was loaded
    before. Returns what happened, for the asset's metadata.

    A Salesforce export is a full snapshot, so most of its rows were in the previous
    export too. For objects with an Id, raw keeps each version once: a row is appended
    unless raw already holds a row with the same Id and the same values (`_row_hash`
    over every column of the file, by name). Nothing is lost, since an unchanged row's
    values are in raw already, verbatim, and raw grows by what changed rather than by
    the size of each export. Rows without an Id, and plain files (HR, targets), are
    appended whole."""
    ensure_audit_tables(con)
    ensure_raw_table(con, contract)
    problem = _unusable(contract, export_id)
    table = f"raw.{contract.table}"
    path = find_object_file(export_dir, contract)
    if path is None:
        if contract.required:
            raise ExportError(f"{contract.files[0]}: required object {contract.object} is missing from export {export_id}")
        return {"status": "absent", "note": f"no {' / '.join(contract.files)} in export {export_id}; "
                "KPIs that need it report why they are empty."}

    source = str(path.relative_to(export_dir))
    size = path.stat().st_size
    scanned = None if _one_read(con, contract, path, size, encoding) else scan_file(path, encoding)
    if scanned is not None:
        already = con.execute("select max(loaded_at) from raw._loads where object = ? and sha1 = ?",
                              [contract.object, scanned.sha1]).fetchone()[0]
        # The same file as before holds the same records, unless some went absent since: those come back.
        if already is not None and not con.execute(
                f"select exists (select 1 from {table} where _loaded_at > ? and _row_number is null "
                f"and starts_with({DELETED_COLUMN}, ?))", [already, ABSENT]).fetchone()[0]:
            return {"status": "already loaded", "source_file": source, "sha1": scanned.sha1, "rows_loaded": 0}

    readable = path if scanned is None else utf8_copy(scanned, scratch)
    header = read_header(readable)
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    if not header:  # a 0-byte file: DuckDB would read it as 0 rows without a word
        if contract.required:
            raise ExportError(f"{source}: file is empty (no header row); {contract.object} is required")
        scanned = scanned or scan_file(path, encoding)
        _record_load(con, contract, export_id, source, scanned, 0, 0, [], loaded_at, "empty file")
        return {"status": "empty file", "source_file": source, "rows_loaded": 0,
                "note": f"{source} is empty (no header row)"}

    names, _ = canonical_header(header, contract)
    duplicates = sorted({n for n in names if [m.lower() for m in names].count(n.lower()) > 1})
    if duplicates:
        return problem(f"{source}: column(s) {', '.join(duplicates)} appear more than once in the header "
                       "(counting names that differ only in case or underscores)", source)
    present = {n.lower() for n in names}
    missing_required = [f.name for f in contract.required_fields if f.name.lower() not in present]
    if missing_required:
        return problem(
            f"{source}: required column(s) {', '.join(missing_required)} missing for {contract.object} "
            f"(header has {len(header)} columns: {', '.join(header[:12])}{', ...' if len(header) > 12 else ''})", source)
    missing_optional = [f.name for f in contract.fields if not f.required and f.name.lower() not in present]
    known = {f.name.lower() for f in contract.fields}
    extra = [n for n in names if n.lower() not in known]
    ensure_raw_table(con, contract, names)
    dialect = sniff(readable, header, names, contract)
    if "slashed" in dialect.timestamps:
        dialect.date_order, dialect.date_order_reason = _date_order(con, contract, export_dir, readable, names, date_order)

    rejects = f"rejects_{contract.table}"
    append = dict(con=con, contract=contract, header=header, names=names, export_id=export_id, source=source,
                  rejects=rejects, date_order=dialect.date_order)
    first_load = not _has_rows(con, table)
    try:
        rows, scanned, loaded_at, readable = _load_rows(con, contract, path, readable, scanned, scratch, encoding,
                                                        loaded_at, append)
    except duckdb.Error as e:  # not a CSV DuckDB can read at all (binary, another delimiter...)
        con.execute(f"delete from {table} where _loaded_at = ?", [loaded_at])
        _drop_rejects(con, rejects)
        return problem(f"{source}: not a readable CSV file ({str(e).splitlines()[0][:200]})", source)

    # A header repeated mid-file (concatenated exports) parses as a data row.
    repeated = 0
    if contract.primary_key and contract.primary_key.lower() in present:
        position = [n.lower() for n in names].index(contract.primary_key.lower())
        pk, header_text = quote(names[position]), header[position]
        repeated = con.execute(f"select count(*) from {table} where _loaded_at = ? and {pk} = ?",
                               [loaded_at, header_text]).fetchone()[0]
        if repeated:
            con.execute(f"""insert into audit.rejected_lines
                select ?, ?, ?, _row_number + 1, {_sql_str(contract.primary_key)}, 'REPEATED HEADER',
                       'the header row appears again inside the file', null, ?
                from {table} where _loaded_at = ? and {pk} = ?""",
                        [contract.object, export_id, source, loaded_at, loaded_at, header_text])
            con.execute(f"delete from {table} where _loaded_at = ? and {pk} = ?", [loaded_at, header_text])
            rows -= repeated
    snapshot = _reconcile_snapshot(con, contract, readable, names, header, export_id, source, loaded_at,
                                   full_snapshot, first_load) \
        if contract.primary_key and contract.primary_key.lower() in present else {}
    # DuckDB reports a short line once per missing column: keep one row per line.
    con.execute(f"""create temp table {rejects}_lines as
        select line, string_agg(column_name, ', ' order by column_idx) as column_name,
               max(cast(error_type as varchar)) as error_type, max(error_message) as error_message,
               any_value(csv_line) as csv_line
        from {rejects} group by line""")
    con.execute(f"""insert into audit.rejected_lines
        select ?, ?, ?, line, column_name, error_type, error_message, csv_line, ? from {rejects}_lines""",
                [contract.object, export_id, source, loaded_at])
    rejected = con.execute(f"select count(*) from {rejects}_lines").fetchone()[0]
    sample = con.execute(f"select line, error_message from {rejects}_lines order by line limit 5").fetchall()
    con.execute(f"drop table {rejects}_lines")
    _drop_rejects(con, rejects)
    _record_load(con, contract, export_id, source, scanned, rows, rejected + repeated, names, loaded_at,
                 dialect.describe(), dialect.date_order)
    notes = list(scanned.notes)
    if rejected:
        notes.append(f"{source}: {rejected} line(s) could not be parsed and are kept in audit.rejected_lines "
                     f"(first: " + "; ".join(f"line {line}: {msg}" for line, msg in sample) + ")")
    if repeated:
        notes.append(f"{source}: the header row appears {repeated} more time(s) inside the file; kept in audit.rejected_lines")
    notes += snapshot.get("notes", [])
    return {
        "status": "loaded",
        "source_file": source,
        "encoding": scanned.encoding,
        "dialect": dialect.describe(),
        "sha1": scanned.sha1,
        "rows_loaded": rows,
        "rows_rejected": rejected + repeated,
        "missing_optional_columns": missing_optional,
        "records_in_file": snapshot.get("records"),
        "records_deleted": snapshot.get("deleted", 0),
        "records_restored": snapshot.get("restored", 0),
        "duplicate_ids": snapshot.get("duplicates", 0),
        "extra_columns": extra,
        "note": " ".join(notes),
    }


def _reconcile_snapshot(con, contract: Contract, readable: Path, names: list[str], header: list[str], export_id: str,
                        source: str, loaded_at: datetime, full_snapshot: bool, first_load: bool) -> dict:
    """What the file says by the records it holds, beyond the rows appended: an Id twice in it (its rows of
    this load are marked `_duplicate_id`: staging keeps the record's last good version, the id_unique check
    quarantines them), a record the warehouse holds that it lacks (deleted or purged: a copy of the record's
    latest row marked absent is appended), and such a record back again (a copy of its last row before it
    went absent is appended). Reads the file's Id column once more, unless every row was appended (a first
    load); an identical file is never read."""
    table, pk = f"raw.{contract.table}", quote(contract.primary_key)
    header_text = header[[n.lower() for n in names].index(contract.primary_key.lower())]
    if first_load:  # every row of the file is this load's (but lines DuckDB could not parse)
        con.execute(f"""create or replace temp table _file_ids as select sf_id({pk}) as id, count(*) as copies
                        from {table} where _loaded_at = ? and sf_id({pk}) is not null group by all""", [loaded_at])
    else:
        con.execute(f"""create or replace temp table _file_ids as
            select sf_id({pk}) as id, count(*) as copies from {_read_csv(names)}
            where sf_id({pk}) is not null and {pk} <> ? group by all""", [str(readable), header_text])
    records, duplicates = con.execute("select count(*), count(*) filter (where copies > 1) from _file_ids").fetchone()
    outcome, notes = {"records": records, "duplicates": duplicates}, []
    if duplicates:
        con.execute(f"""update {table} set _duplicate_id = true where _loaded_at = ?
                        and sf_id({pk}) in (select id from _file_ids where copies > 1)""", [loaded_at])
        sample = [r[0] for r in con.execute("select id from _file_ids where copies > 1 order by id limit 5").fetchall()]
        notes.append(f"{source}: {duplicates} Id(s) appear more than once ({', '.join(sample)}"
                     f"{', ...' if duplicates > 5 else ''}): each keeps its last good version; see check id_unique")
    staged = f"staging.stg_{contract.table}"
    if full_snapshot and con.execute("select count(*) from information_schema.tables where table_schema = 'staging' "
                                     "and table_name = ?", [f"stg_{contract.table}"]).fetchone()[0]:
        key = f"{contract.table}_id"
        held = con.execute(f"select count(*) from {staged}").fetchone()[0]
        if records == 0 and held > 0:
            notes.append(f"{source} has no records while the warehouse holds {held:,} {contract.object} records: "
                         "suspicious (an export that failed half-way?), so they are kept as they were")
        elif held:
            order = (f"sf_timestamp({quote(contract.version_column)}, _date_order) desc nulls last, "
                     if contract.version_column else "")
            latest = (f"qualify row_number() over (partition by sf_id({pk}) "
                      f"order by {order}_loaded_at desc, _row_number desc nulls last) = 1")
            copy = (f"insert into {table} by name select * replace (? as _export_id, ? as _source_file, "
                    f"cast(null as bigint) as _row_number, ? as _loaded_at, cast(null as ubigint) as _row_hash, "
                    f"? as {DELETED_COLUMN}, false as _duplicate_id) from {table} where rowid in ")
            is_absent = f"(_row_number is null and starts_with({DELETED_COLUMN}, '{ABSENT}'))"
            absent = f"{ABSENT}{source} of export {export_id} does not have this record"
            con.execute(copy + f"""(select rowid from {table} where _loaded_at < ?
                and sf_id({pk}) in (select {key} from {staged} where {key} not in (select id from _file_ids))
                {latest})""", [export_id, source, loaded_at, absent, loaded_at])
            outcome["deleted"] = con.execute(f"select count(*) from {table} where _loaded_at = ? and {is_absent}",
                                             [loaded_at]).fetchone()[0]
            # Back again unchanged (so not appended): its last row before it went absent is its version again.
            con.execute(copy + f"""(select rowid from {table} where not {is_absent} and sf_id({pk}) in (
                    select sf_id({pk}) from {table} where sf_id({pk}) in (select id from _file_ids)
                    group by all having max(_loaded_at) filter (where {is_absent})
                                        > coalesce(max(_loaded_at) filter (where not {is_absent}), timestamp '-infinity')
                ) {latest})""", [export_id, source, loaded_at, None])
            outcome["restored"] = con.execute(f"select count(*) from {table} where _loaded_at = ? and _row_number is null "
                                              f"and {DELETED_COLUMN} is null", [loaded_at]).fetchone()[0]
            if outcome["deleted"]:
                notes.append(f"{source}: {outcome['deleted']:,} {contract.object} record(s) the warehouse held are not "
                             "in this export: deleted or purged in Salesforce, they leave staging (raw keeps them)")
    con.execute("drop table _file_ids")
    outcome["notes"] = notes
    return outcome


def _unusable(contract: Contract, export_id: str):
    """What to do with a file that cannot be loaded: a required object stops the run (ExportError);
    an optional one is reported once and treated as absent, so the run goes on without it."""
    def problem(message: str, source: str) -> dict:
        if contract.required:
            raise ExportError(message)
        return {"status": "unusable", "source_file": source, "rows_loaded": 0,
                "note": f"{message}. {contract.object} is optional: treated as absent from export {export_id}."}
    return problem


def _record_load(con, contract: Contract, export_id: str, source: str, scanned: ScannedFile, rows: int,
                 rejected: int, columns: list[str], loaded_at: datetime, dialect: str, date_order: str | None = None):
    con.execute("""insert into raw._loads (object, export_id, source_file, sha1, encoding, bytes, rows_loaded,
                                           rows_rejected, columns, loaded_at, dialect, date_order)
                   values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [contract.object, export_id, source, scanned.sha1, scanned.encoding, scanned.size, rows, rejected,
                 columns, loaded_at, dialect, date_order])


def _date_evidence(con, contract: Contract, path: Path, names: list[str]) -> dict:
    """Column -> (largest first part, largest second part) of the file's slashed dates (Excel files are small)."""
    dated = [n for n in names if contract.field(n) and contract.field(n).type in ("date", "datetime")]
    if not dated:
        return {}
    parts = con.execute(f"select {', '.join(slashed_parts_sql(quote(n)) for n in dated)} from {_read_csv(names)}",
                        [str(path)]).fetchone()
    return {f"{contract.files[0]} {n}": (parts[2 * i], parts[2 * i + 1]) for i, n in enumerate(dated)}


_EXPORT_DATE_ORDER: dict[str, tuple[str | None, str]] = {}


def _export_date_order(con, export_dir: Path) -> tuple[str | None, str]:
    """Day- or month-first from every file of the export with slashed dates: one Excel locale re-saved them."""
    key = str(sorted((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in export_dir.rglob("*") if f.is_file()))
    if key not in _EXPORT_DATE_ORDER:  # asked once per export and process, by each ambiguous file
        evidence = {}
        for other in load_contracts().values():
            path = find_object_file(export_dir, other)
            header = read_header(path) if path is not None else []
            if header:
                names, _ = canonical_header(header, other)
                if "slashed" in sniff(path, header, names, other).timestamps:
                    evidence |= _date_evidence(con, other, path, names)
        _EXPORT_DATE_ORDER[key] = decide_date_order(evidence)
    return _EXPORT_DATE_ORDER[key]


def _date_order(con, contract: Contract, export_dir: Path, readable: Path, names: list[str],
                configured: str) -> tuple[str, str]:
    """Day- or month-first for a file with slashed dates: its own dates decide, else the other files of the
    export, else the object's previous file, else the setting (SF_DATE_ORDER). Returns (order, why)."""
    order, why = decide_date_order(_date_evidence(con, contract, readable, names))
    if order:
        return order, why
    order, export_why = _export_date_order(con, export_dir)
    if order:
        return order, f"{why} in this file; {export_why} (another file of the export)"
    previous = con.execute("select arg_max(date_order, loaded_at) from raw._loads where object = ? "
                           "and date_order is not null", [contract.object]).fetchone()[0]
    if previous:
        return previous, f"{why} in the export: read as the object's previous file was ({previous})"
    configured = configured if configured in ("mdy", "dmy") else "mdy"
    return configured, f"{why} in the export: read as {configured} (SF_DATE_ORDER)"


def _load_rows(con, contract: Contract, path: Path, readable: Path, scanned: ScannedFile | None, scratch: Path,
               encoding: str, loaded_at: datetime, append: dict) -> tuple[int, ScannedFile, datetime]:
    """Append the file's rows; returns (rows appended, the file's identity, the load's time)."""
    table, rejects = f"raw.{contract.table}", append["rejects"]
    if scanned is None:
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as hasher:
            hashing = hasher.submit(sha1_of, path, stop)
            try:
                rows = _append(readable=path, loaded_at=loaded_at, **append)
            except BaseException:
                stop.set()
                raise
            sha1 = hashing.result()
        if con.execute(f"select count(*) from {rejects} where error_type = 'INVALID ENCODING'").fetchone()[0]:
            # Not UTF-8 after all, past the probe: undo this load and read the file the long way.
            con.execute(f"delete from {table} where _loaded_at = ?", [loaded_at])
            _drop_rejects(con, rejects)
            scanned = scan_file(path, encoding)
            loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
            readable = utf8_copy(scanned, scratch)
            rows = _append(readable=readable, loaded_at=loaded_at, **append)
        else:
            scanned = ScannedFile(path, sha1, "utf-8", path.stat().st_size)
    else:
        rows = _append(readable=readable, loaded_at=loaded_at, **append)
    return rows, scanned, loaded_at, readable


def _one_read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, size: int, encoding: str) -> bool:
    """Whether the file is loaded in one read, its SHA-1 taken beside DuckDB's read rather than in a pass
    before it: no earlier load of this object had its size (so it cannot be one loaded already), it is not
    declared or last seen Latin-1, and it starts as UTF-8. Otherwise `scan_file` reads it first."""
    if declared_latin1(encoding):
        return False
    same_size, last_encoding = con.execute(
        "select bool_or(bytes = ?), arg_max(encoding, loaded_at) from raw._loads where object = ?",
        [size, contract.object]).fetchone()
    return not same_size and last_encoding != "latin-1" and utf8_prefix(path)


def _append(*, con: duckdb.DuckDBPyConnection, contract: Contract, header: list[str], names: list[str],
            readable: Path, export_id: str, source: str, loaded_at: datetime, rejects: str,
            date_order: str | None) -> int:
    """Append the file's rows to raw (for an object with an Id, those raw does not hold already), numbered
    by their place in the file, under the raw names of their columns (`names`, see dialects.canonical_header);
    lines DuckDB cannot parse go to the `rejects` table. Returns the rows added."""
    table = f"raw.{contract.table}"
    present = {n.lower() for n in names}
    row_hash = "hash(" + ", ".join(quote(n) for n in sorted(identity_columns(names), key=str.lower)) + ")"
    loaded = f"? as _export_id, ? as _source_file, ? as _loaded_at, {_sql_str(date_order) if date_order else 'null'} as _date_order"
    read = _read_csv(names, rejects)
    if contract.primary_key and contract.primary_key.lower() in present and _has_rows(con, table):
        pk = quote(contract.primary_key)
        # Unchanged rows are skipped, so rows are numbered in the read. (Numbering by position in a narrow
        # table of every row's hash, then matching the new rows to it, costs a second read: no faster at
        # 1/10 scale. The NOT IN join does not keep file order, so it cannot come before the numbering.)
        # NOT IN builds its hash table on raw's one narrow column; a NOT EXISTS on (Id, hash) let DuckDB build
        # it on the wide incoming rows and spill them, which filled the disk on the enterprise Task.csv. The
        # hash covers every column, the Id among them; rows without an Id are always appended.
        con.execute(f"""insert into {table} by name
            select * from (
                select *, {loaded}, row_number() over () as _row_number, {row_hash} as _row_hash
                from {read}
            ) as i
            where i.{pk} is null or nullif(trim(i.{pk}), '') is null
               or i._row_hash not in (select _row_hash from {table} where _row_hash is not null)""",
                    [export_id, source, loaded_at, str(readable)])
        return con.execute(f"select count(*) from {table} where _loaded_at = ?", [loaded_at]).fetchone()[0]
    else:
        # Every row is appended, in file order (preserve_insertion_order): their positions number them, and
        # the read runs on every thread. row_number() over () runs it on one: twice the time on 2 cores.
        con.execute(f"""insert into {table} by name
            select *, {loaded}, {row_hash} as _row_hash from {read}""",
                    [export_id, source, loaded_at, str(readable)])
        return _number_by_position(con, table, loaded_at)


def _read_csv(names: list[str], rejects: str | None = None) -> str:
    """DuckDB's read of a file (its path the one `?`) with the dialect pinned, every column VARCHAR under its raw
    name; lines it cannot parse are skipped, and kept in the `rejects` table when one is named."""
    columns = "{" + ", ".join(f"{_sql_str(n)}: 'varchar'" for n in names) + "}"
    kept = f", store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{rejects}_scan'" if rejects else ""
    return f"""read_csv(?, header = true, delim = ',', quote = '"', escape = '"', columns = {columns},
                        auto_detect = false, strict_mode = true, max_line_size = {MAX_LINE_SIZE},
                        buffer_size = {CSV_BUFFER_SIZE}, allow_quoted_nulls = false, nullstr = {NO_NULL_STRING},
                        ignore_errors = true{kept})"""


def _drop_rejects(con: duckdb.DuckDBPyConnection, rejects: str) -> None:
    con.execute(f"drop table if exists {rejects}")
    con.execute(f"drop table if exists {rejects}_scan")


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(f"select exists (select 1 from {table})").fetchone()[0]


def _number_by_position(con: duckdb.DuckDBPyConnection, table: str, loaded_at: datetime) -> int:
    """Number one load's rows 1, 2, ... in the order they were appended, i.e. the file's; returns how many."""
    first, last, rows = con.execute(f"select min(rowid), max(rowid), count(*) from {table} where _loaded_at = ?",
                                    [loaded_at]).fetchone()
    if rows and last - first + 1 == rows:  # one contiguous append: the position is the number
        con.execute(f"update {table} set _row_number = rowid - ? + 1 where _loaded_at = ?", [first, loaded_at])
    elif rows:
        con.execute(f"""update {table} set _row_number = numbered.n
            from (select rowid as position, row_number() over (order by rowid) as n from {table}
                  where _loaded_at = ?) as numbered
            where {table}.rowid = numbered.position""", [loaded_at])
    return rows


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
