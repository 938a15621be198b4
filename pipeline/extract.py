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
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import duckdb

from pipeline.contracts import Contract

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
LOAD_COLUMNS = {"_export_id": "varchar", "_source_file": "varchar", "_row_number": "bigint", "_loaded_at": "timestamp",
                "_row_hash": "ubigint"}


class ExportError(Exception):
    """Input that cannot be loaded; the message names the file (and column)."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the export: a folder or a .zip --------------------------------------------------


def safe_extract(zip_path: Path, target: Path) -> Path:
    """Extract a zip, refusing entries that would land outside `target`."""
    with zipfile.ZipFile(zip_path) as archive:
        for entry in archive.infolist():
            parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
            if entry.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise ExportError(f"{zip_path.name}: entry {entry.filename!r} points outside the export; refusing the zip")
        target.mkdir(parents=True, exist_ok=True)
        archive.extractall(target)
    return target


def resolve_export(path: str | Path, scratch: Path) -> Path:
    """The folder holding the export's files (a zip is extracted under `scratch`)."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"export not found: {path}")
    if path.is_dir():
        return path
    if zipfile.is_zipfile(path):
        digest = hashlib.sha1(f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:12]
        target = scratch / f"{path.stem}-{digest}"
        return target if target.exists() else safe_extract(path, target)
    raise ExportError(f"{path}: neither a folder nor a .zip export")


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
            bytes bigint, rows_loaded bigint, rows_rejected bigint, columns varchar[], loaded_at timestamp)""")
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
    table = f"raw.{contract.table}"
    path = find_object_file(export_dir, contract)
    if path is None:
        if contract.required:
            raise ExportError(f"{contract.files[0]}: required object {contract.object} is missing from export {export_id}")
        return {"status": "absent", "note": f"no {' / '.join(contract.files)} in export {export_id}; "
                "KPIs that need it report why they are empty"}

    source = str(path.relative_to(export_dir))
    size = path.stat().st_size
    scanned = None if _one_read(con, contract, path, size, encoding) else scan_file(path, encoding)
    if scanned is not None:
        already = con.execute("select rows_loaded from raw._loads where object = ? and sha1 = ?",
                              [contract.object, scanned.sha1]).fetchone()
        if already is not None:
            return {"status": "already loaded", "source_file": source, "sha1": scanned.sha1, "rows_loaded": 0}

    readable = path if scanned is None else utf8_copy(scanned, scratch)
    header = read_header(readable)
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    if not header:  # a 0-byte file: DuckDB would read it as 0 rows without a word
        if contract.required:
            raise ExportError(f"{source}: file is empty (no header row); {contract.object} is required")
        scanned = scanned or scan_file(path, encoding)
        con.execute("insert into raw._loads values (?, ?, ?, ?, ?, ?, 0, 0, [], ?)",
                    [contract.object, export_id, source, scanned.sha1, scanned.encoding, scanned.size, loaded_at])
        return {"status": "empty file", "source_file": source, "rows_loaded": 0,
                "note": f"{source} is empty (no header row)"}

    duplicates = sorted({c for c in header if [h.lower() for h in header].count(c.lower()) > 1})
    if duplicates:
        raise ExportError(f"{source}: column(s) {', '.join(duplicates)} appear more than once in the header")
    present = {h.lower() for h in header}
    missing_required = [f.name for f in contract.required_fields if f.name.lower() not in present]
    if missing_required:
        raise ExportError(
            f"{source}: required column(s) {', '.join(missing_required)} missing for {contract.object} "
            f"(header has {len(header)} columns: {', '.join(header[:12])}{', ...' if len(header) > 12 else ''})"
        )
    missing_optional = [f.name for f in contract.fields if not f.required and f.name.lower() not in present]
    known = {f.name.lower() for f in contract.fields}
    extra = [h for h in header if h.lower() not in known]
    ensure_raw_table(con, contract, header)

    rejects = f"rejects_{contract.table}"
    append = dict(con=con, contract=contract, header=header, export_id=export_id, source=source, rejects=rejects)
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
            rows = _append(readable=utf8_copy(scanned, scratch), loaded_at=loaded_at, **append)
        else:
            scanned = ScannedFile(path, sha1, "utf-8", size)
    else:
        rows = _append(readable=readable, loaded_at=loaded_at, **append)

    # A header repeated mid-file (concatenated exports) parses as a data row.
    repeated = 0
    if contract.primary_key and contract.primary_key.lower() in present:
        pk = quote(header[[h.lower() for h in header].index(contract.primary_key.lower())])
        repeated = con.execute(f"select count(*) from {table} where _loaded_at = ? and {pk} = ?",
                               [loaded_at, contract.primary_key]).fetchone()[0]
        if repeated:
            con.execute(f"""insert into audit.rejected_lines
                select ?, ?, ?, _row_number + 1, {_sql_str(contract.primary_key)}, 'REPEATED HEADER',
                       'the header row appears again inside the file', null, ?
                from {table} where _loaded_at = ? and {pk} = ?""",
                        [contract.object, export_id, source, loaded_at, loaded_at, contract.primary_key])
            con.execute(f"delete from {table} where _loaded_at = ? and {pk} = ?", [loaded_at, contract.primary_key])
            rows -= repeated
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
    con.execute("insert into raw._loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [contract.object, export_id, source, scanned.sha1, scanned.encoding, scanned.size,
                 rows, rejected + repeated, header, loaded_at])
    notes = list(scanned.notes)
    if rejected:
        notes.append(f"{source}: {rejected} line(s) could not be parsed and are kept in audit.rejected_lines "
                     f"(first: " + "; ".join(f"line {line}: {msg}" for line, msg in sample) + ")")
    if repeated:
        notes.append(f"{source}: the header row appears {repeated} more time(s) inside the file; kept in audit.rejected_lines")
    return {
        "status": "loaded",
        "source_file": source,
        "encoding": scanned.encoding,
        "sha1": scanned.sha1,
        "rows_loaded": rows,
        "rows_rejected": rejected + repeated,
        "missing_optional_columns": missing_optional,
        "extra_columns": extra,
        "note": " ".join(notes),
    }


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


def _append(*, con: duckdb.DuckDBPyConnection, contract: Contract, header: list[str], readable: Path,
            export_id: str, source: str, loaded_at: datetime, rejects: str) -> int:
    """Append the file's rows to raw (for an object with an Id, those raw does not hold already), numbered
    by their place in the file; lines DuckDB cannot parse go to the `rejects` table. Returns the rows added."""
    table = f"raw.{contract.table}"
    present = {h.lower() for h in header}
    columns = "{" + ", ".join(f"{_sql_str(h)}: 'varchar'" for h in header) + "}"
    row_hash = "hash(" + ", ".join(quote(h) for h in sorted(header, key=str.lower)) + ")"
    read = f"""read_csv(?, header = true, delim = ',', quote = '"', escape = '"', columns = {columns},
                        auto_detect = false, strict_mode = true, max_line_size = {MAX_LINE_SIZE},
                        buffer_size = {CSV_BUFFER_SIZE},
                        ignore_errors = true, store_rejects = true,
                        rejects_table = '{rejects}', rejects_scan = '{rejects}_scan')"""
    if contract.primary_key and contract.primary_key.lower() in present and _has_rows(con, table):
        pk = quote(header[[h.lower() for h in header].index(contract.primary_key.lower())])
        # Unchanged rows are skipped, so rows are numbered in the read. (Numbering by position in a narrow
        # table of every row's hash, then matching the new rows to it, costs a second read: no faster at
        # 1/10 scale. The NOT IN join does not keep file order, so it cannot come before the numbering.)
        # NOT IN builds its hash table on raw's one narrow column; a NOT EXISTS on (Id, hash) let DuckDB build
        # it on the wide incoming rows and spill them, which filled the disk on the enterprise Task.csv. The
        # hash covers every column, the Id among them; rows without an Id are always appended.
        con.execute(f"""insert into {table} by name
            select * from (
                select *, ? as _export_id, ? as _source_file, row_number() over () as _row_number,
                       ? as _loaded_at, {row_hash} as _row_hash
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
            select *, ? as _export_id, ? as _source_file, ? as _loaded_at, {row_hash} as _row_hash from {read}""",
                    [export_id, source, loaded_at, str(readable)])
        return _number_by_position(con, table, loaded_at)


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
