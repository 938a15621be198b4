"""What `pipeline run` and `pipeline demo` tell the user.

Before the run, `preflight`: what the export holds (one line per object file: size,
rows, the CSV dialect guessed from its first lines), read in well under two seconds
even for a 14 GB export (files over COUNT_LIMIT are not read through: their rows are
estimated from their size). It imports no Dagster, so a wrong path costs nothing.

During the run, `Progress`: a Dagster logger that prints one line per finished step,
`[ 12/138 ] staging  stg_opportunity  0:21`.

After it, `report`: on failure one line per problem (the file, the rule, how many
rows, up to five ids, a bad value, what to fix in the CRM) and whether the published
warehouse stayed; on success a short summary (tables per schema, the KPI headlines,
what was quarantined).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO

from pipeline.contracts import load_contracts
from pipeline.dialects import BOOKKEEPING_PREFIXES, boolean_form, timestamp_form
from pipeline.quality import table_exists

# --- the CSV dialect -------------------------------------------------------------------------

DATA_EXPORT = "Data Export"
DATA_LOADER = "Data Loader/API"
EXCEL = "Excel re-save"
CONNECTOR = "connector"
HEADER_ONLY = "header only"
PLAIN = "plain CSV"
UNKNOWN = "unknown"
EMPTY = "empty file"



def guess_dialect(head: str, plain: bool = False) -> str:
    """Which tool wrote a CSV, from its header and first data lines (`head`, whole lines).

    connector       snake_case headers (`stage_name`), bookkeeping columns (`_fivetran_synced`)
    Excel re-save   slashed dates (`01/22/24`, `22/01/2024 16:14`), `TRUE`/`FALSE`
    Data Loader/API ISO timestamps with a T (`2024-01-22T16:14:25.000+0000`), `true`/`false`
    Data Export     `YYYY-MM-DD HH:MM:SS`, every value quoted
    header only / empty file / unknown: no evidence either way.
    `plain`: a file sales operations keep (HR, targets), not a Salesforce object: its
    lowercase header says nothing; it is `plain CSV` unless Excel re-saved it."""
    if not head.strip():
        return EMPTY
    text = head.lstrip("\ufeff")
    records = [r for r in itertools.islice(csv.reader(io.StringIO(text)), 21) if r]
    header, rows = (records[0] if records else []), records[1:]
    names = [h.strip() for h in header if h.strip()]
    if not plain and names:
        if any(n.lower().startswith(BOOKKEEPING_PREFIXES) for n in names):
            return CONNECTOR
        if all(n == n.lower() for n in names) and any("_" in n or n == "id" for n in names):
            return CONNECTOR
    votes = Counter()
    for value in (v.strip() for row in rows for v in row):  # the forms extract reads (pipeline/dialects.py)
        form, truth = timestamp_form(value), boolean_form(value)
        if form == "slashed" or truth == "TRUE/FALSE":
            votes[EXCEL] += 1
        elif form in ("iso", "iso-offset") or truth == "true/false":
            votes[DATA_LOADER] += 1
        elif form == "export" and len(value) > 10:  # a date and a time: dates alone every tool writes so
            votes[DATA_EXPORT] += 1
    if plain:
        return EXCEL if votes[EXCEL] else PLAIN
    if votes:
        order = (EXCEL, DATA_LOADER, DATA_EXPORT)  # on a tie the rarer form wins
        return max(order, key=lambda d: (votes[d], -order.index(d)))
    if not rows:
        return HEADER_ONLY
    data_lines = [line for line in text.splitlines()[1:21] if line.strip()]
    if data_lines and all(line.startswith('"') and line.rstrip("\r").endswith('"') for line in data_lines):
        return DATA_EXPORT
    return UNKNOWN


# --- preflight ---------------------------------------------------------------------------------

COUNT_LIMIT = 50 << 20          # files larger than this are not read through: rows estimated from size
COUNT_BUDGET_BYTES = 400 << 20  # and no more than this is read through in all
COUNT_BUDGET_SECONDS = 1.0
HEAD_BYTES = 256 << 10          # read from every file: the dialect and, for an estimate, bytes per line
CHUNK = 8 << 20
MAX_ENTRIES = 20000             # a folder holding more is not an export (the user's home, a disk)


@dataclass
class ObjectFile:
    object: str
    path: str            # relative to the export (zip: the entry's name)
    size: int            # bytes (zip: uncompressed)
    rows: int | None     # data rows: lines after the header; an estimate when `estimated`
    estimated: bool
    dialect: str


@dataclass
class Preflight:
    export: Path
    kind: str = ""                                   # folder | zip
    files: list[ObjectFile] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # optional objects without a file
    several: dict[str, list[str]] = field(default_factory=dict)
    other_files: int = 0                             # files no contract names
    error: str | None = None                         # why the run cannot start
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def dialect(self) -> str:
        """The dialect most object files show (files without evidence left out)."""
        seen = Counter(f.dialect for f in self.files if f.dialect not in (HEADER_ONLY, EMPTY, UNKNOWN, PLAIN))
        return seen.most_common(1)[0][0] if seen else UNKNOWN


@dataclass
class _Entry:
    path: str
    size: int
    open: Callable[[], IO[bytes]]


def _folder_entries(root: Path) -> list[_Entry] | None:
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            try:
                size = full.stat().st_size
            except OSError:
                continue
            entries.append(_Entry(str(full.relative_to(root)), size, lambda p=full: open(p, "rb")))
            if len(entries) > MAX_ENTRIES:
                return None
    return entries


def _zip_entries(archive: zipfile.ZipFile) -> list[_Entry]:
    return [_Entry(info.filename, info.file_size, lambda i=info: archive.open(i))
            for info in archive.infolist() if not info.is_dir()]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start > len(data) - 4:  # a character cut at the end of the head
            return data[:e.start].decode("utf-8")
        return data.decode("latin-1")


def _records(chunk: bytes, quoted: bool) -> tuple[int, bool]:
    """Records ended in `chunk` (a newline outside quotes ends one: a multi-line text field
    is one record), and whether it ends inside quotes."""
    if b'"' not in chunk:
        return (0 if quoted else chunk.count(b"\n")), quoted
    ended = 0
    parts = chunk.split(b"\n")
    for part in parts[:-1]:
        if part.count(b'"') & 1:
            quoted = not quoted
        if not quoted:
            ended += 1
    if parts[-1].count(b'"') & 1:
        quoted = not quoted
    return ended, quoted


def count_rows(data: bytes) -> int:
    """Data rows (records after the header) of a whole file's bytes."""
    ended, _ = _records(data, False)
    if data and not data.endswith(b"\n"):
        ended += 1
    return max(ended - 1, 0)


def _estimate(size: int, head: bytes) -> int:
    cut = head[:head.rindex(b"\n") + 1] if b"\n" in head else b""
    ended, _ = _records(cut, False)
    if ended < 2:
        return 0
    rows = size * ended / len(cut) - 1
    digits = max(len(str(int(rows))) - 2, 0)  # two significant figures: it is an estimate
    return int(round(rows, -digits))


def _count_rows(entry: _Entry) -> int:
    ended, quoted, last = 0, False, b""
    with entry.open() as f:
        while chunk := f.read(CHUNK):
            n, quoted = _records(chunk, quoted)
            ended, last = ended + n, chunk[-1:]
    if last and last != b"\n":
        ended += 1
    return max(ended - 1, 0)


def _inspect(entries: list[_Entry], pf: Preflight) -> None:
    contracts = load_contracts()
    by_name = {name.lower(): c for c in contracts.values() for name in c.files}
    found: dict[str, list[_Entry]] = {}
    for entry in entries:
        contract = by_name.get(PurePosixPath(entry.path.replace("\\", "/")).name.lower())
        if contract is None:
            pf.other_files += 1
        else:
            found.setdefault(contract.object, []).append(entry)
    missing = [c for c in contracts.values() if c.required and c.object not in found]
    if missing:
        c = missing[0]
        names = sorted(PurePosixPath(e.path).name for e in entries)[:8]
        holds = (f"it holds {', '.join(names)}{', ...' if len(entries) > len(names) else ''}"
                 if entries else "it holds no files")
        pf.error = (f"no {' / '.join(c.files)} in {pf.export} (looked in every folder; {holds}): "
                    f"{c.object} is required. Export again with {c.object} ticked "
                    f"(Setup > Data Export), or pass the folder or .zip that holds it.")
        return
    read_bytes, started = 0, time.perf_counter()
    for contract in contracts.values():
        if contract.object not in found:
            if not contract.required:
                pf.absent.append(contract.object)
            continue
        if len(found[contract.object]) > 1:
            pf.several[contract.object] = [e.path for e in found[contract.object]]
        for entry in found[contract.object]:
            with entry.open() as f:
                head = f.read(HEAD_BYTES)
            whole = len(head) >= entry.size
            text = _decode(head if whole or b"\n" not in head else head[:head.rindex(b"\n") + 1])
            dialect = guess_dialect(text, plain=contract.primary_key is None)
            exact = whole or (entry.size <= COUNT_LIMIT and read_bytes + entry.size <= COUNT_BUDGET_BYTES
                              and time.perf_counter() - started < COUNT_BUDGET_SECONDS)
            if whole:
                rows = count_rows(head)
            elif exact:
                rows = _count_rows(entry)
                read_bytes += entry.size
            else:
                rows = _estimate(entry.size, head)
            pf.files.append(ObjectFile(contract.object, entry.path, entry.size, rows, not exact, dialect))


def preflight(path: str | Path) -> Preflight:
    """What the export at `path` holds, without loading it; `.error` says why a run
    cannot start (no such path, not a folder or .zip, no Opportunity file)."""
    started = time.perf_counter()
    export = Path(path).expanduser()
    pf = Preflight(export)
    if not export.exists():
        pf.error = (f"export not found: {export} does not exist. Pass the folder or the .zip of a Salesforce "
                    f"Data Export (pipeline run /path/to/WE_00D...zip).")
    elif export.is_dir():
        pf.kind = "folder"
        entries = _folder_entries(export)
        if entries is None:
            pf.error = (f"{export} holds more than {MAX_ENTRIES:,} files: that is not an export. "
                        f"Pass the export's own folder or .zip.")
        else:
            _inspect(entries, pf)
    elif zipfile.is_zipfile(export):
        pf.kind = "zip"
        try:
            with zipfile.ZipFile(export) as archive:
                _inspect(_zip_entries(archive), pf)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            pf.error = f"{export}: the zip cannot be read ({e}). Download the export again."
    elif export.suffix.lower() == ".zip":
        pf.error = f"{export}: not a readable zip (damaged or incomplete download?). Download the export again."
    else:
        pf.error = (f"{export} is neither a folder nor a .zip. Pass the export's folder (the <Object>.csv files) "
                    f"or the .zip Salesforce sent.")
    pf.seconds = time.perf_counter() - started
    return pf


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def format_preflight(pf: Preflight) -> list[str]:
    if pf.error:
        return [pf.error]
    total = sum(f.size for f in pf.files)
    lines = [f"export: {pf.export} ({pf.kind}): {len(pf.files)} object files, {human_size(total)}, "
             f"dialect: {pf.dialect}"]
    width = max((len(f.path) for f in pf.files), default=0)
    for f in pf.files:
        rows = f"{'~' if f.estimated else ' '}{f.rows:,} rows"
        lines.append(f"  {f.path:<{width}}  {human_size(f.size):>9}  {rows:>15}  {f.dialect}")
    for obj, paths in pf.several.items():
        lines.append(f"  ! {obj}: {len(paths)} files ({', '.join(paths)}); the run refuses an object with several "
                     f"files: keep one")
    if pf.absent:
        lines.append(f"  not in the export (optional): {', '.join(pf.absent)}; the KPIs that need them will say so")
    return lines


# --- progress ----------------------------------------------------------------------------------

LAYERS = ("raw", "staging", "core", "kpi", "marts", "audit", "dashboards", "publish")


def step_label(step_key: str) -> tuple[str, str]:
    """`staging__stg_opportunity` -> (staging, stg_opportunity);
    `check_staging_stg_opportunity` -> (checks, staging.stg_opportunity)."""
    if "__" in step_key:
        layer, name = step_key.split("__", 1)
        return layer, name.replace("__", "/")
    if step_key.startswith("check_"):
        rest = step_key[len("check_"):]
        for layer in LAYERS:
            if rest.startswith(layer + "_"):
                return "checks", f"{layer}.{rest[len(layer) + 1:]}"
        return "checks", rest
    return "", step_key


def clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """One line per finished step: `[ 12/138 ] staging  stg_opportunity  0:21`."""

    def __init__(self, total: int, write: Callable[[str], None] | None = None):
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.started_at = time.time()
        self.write = write or (lambda line: print(line, flush=True))

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def on_event(self, event_type: str, step_key: str | None) -> None:
        if event_type not in ("STEP_SUCCESS", "STEP_FAILURE") or not step_key:
            return
        self.done += 1
        self.total = max(self.total, self.done)
        layer, name = step_label(step_key)
        n = len(str(self.total))
        status = "  FAILED" if event_type == "STEP_FAILURE" else ""
        self.write(f"[ {self.done:>{n}}/{self.total} ] {layer:<10} {name:<36} {clock(self.elapsed)}{status}")

    def logger_def(self):
        """A Dagster logger that sees every event of the run (record.dagster_meta['dagster_event'])."""
        import dagster as dg

        progress = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
                if event is not None:
                    try:
                        progress.on_event(event.event_type_value, event.step_key)
                    except Exception:  # progress never breaks a run
                        pass

        @dg.logger(description="one line per finished step, for the command line")
        def progress_logger(_init_context):
            logger = logging.Logger("pipeline.progress", level=logging.DEBUG)
            logger.addHandler(_Handler())
            return logger

        return progress_logger


# --- after the run -----------------------------------------------------------------------------

_COUNTS = re.compile(r"^\d+ of \d+ rows fail \([^)]*\)\.\s*", re.DOTALL)


@dataclass
class Problem:
    blocking: bool
    line: str
    detail: str = ""                     # --verbose: the stack trace
    rule: tuple[str, str] | None = None  # a check's (table, rule name)
    unexpected: bool = False             # an error the pipeline did not raise on purpose


def _meta(metadata, key, default=None):
    value = metadata.get(key)
    return default if value is None else getattr(value, "value", value)


def _source_files(result) -> dict[str, str]:
    """raw table -> the file it was loaded from in this run."""
    files = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            m = e.event_specific_data.materialization
            if m.asset_key.path[0] == "raw" and m.metadata.get("source_file") is not None:
                files[m.asset_key.path[-1]] = str(_meta(m.metadata, "source_file"))
    return files


def where(asset_path: list[str], files: dict[str, str]) -> str:
    """The file a check's table comes from (raw/staging), else the table."""
    schema, table = asset_path[0], asset_path[-1]
    if schema in ("raw", "staging"):
        name = table[len("stg_"):] if schema == "staging" and table.startswith("stg_") else table
        for contract in load_contracts().values():
            if contract.table == name:
                return files.get(name) or contract.files[0]
    return f"{schema}.{table}"


def _rule_words(check) -> str:
    rule = str(_meta(check.metadata, "rule", "") or "")
    # a rule written as SQL says less than its name
    if not rule or re.search(r"[({]| is null| or | and |coalesce", rule):
        return check.check_name.replace("_", " ")
    return rule


def check_problem(check, files: dict[str, str]) -> Problem:
    metadata = check.metadata
    blocking = _meta(metadata, "blocking")
    if blocking is None:
        blocking = check.severity is not None and check.severity.value == "ERROR"
    key = (".".join(check.asset_key.path), check.check_name)
    place = where(check.asset_key.path, files)
    rule = _rule_words(check)
    description = (check.description or "").strip()
    error = _meta(metadata, "error")
    failing = _meta(metadata, "failing_rows")
    if error or failing is None or failing < 0:
        reason = str(error or description or "no result").splitlines()[0]
        return Problem(bool(blocking), f"{place}: rule \"{rule}\" could not be evaluated: {reason}", rule=key)
    total = _meta(metadata, "rows_checked", _meta(metadata, "rows_in_table"))
    ids = [i.strip() for i in str(_meta(metadata, "sample_ids", "") or "").split(",") if i.strip() not in ("", "-")]
    shown = ", ".join(ids[:5]) + (", ..." if failing > min(len(ids), 5) else "")
    rows = f"{failing:,} of {total:,} rows" if isinstance(total, int) else f"{failing:,} rows"
    line = f"{place}: {rule}: {rows} fail" + (f" (ids: {shown})" if ids else "")
    samples = [s.strip() for s in str(_meta(metadata, "sample_values", "") or "").splitlines() if s.strip()]
    if samples:
        line += f"; e.g. {samples[0]}"
    fix = _COUNTS.sub("", description) if _COUNTS.match(description) else description
    if fix:
        line += f". {' '.join(fix.split())}"
    return Problem(bool(blocking), line, rule=key)


def _root_error(error):
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def step_problem(event) -> Problem | None:
    """A failed step's problem; None for a step failed by its blocking checks (they are reported)."""
    data = event.event_specific_data
    error = data.error
    if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
        return None
    layer, name = step_label(event.step_key or "")
    stack = error.to_string() if error is not None else ""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return Problem(True, " ".join(data.user_failure_data.description.split()), stack)
    root = _root_error(error)
    message = (root.message.strip().splitlines() or ["(no message)"])[0] if root is not None else "(no message)"
    return Problem(True, f"step {layer}/{name} failed: {message}", stack, unexpected=True)


def notes(result) -> list[str]:
    """What extract said about the files it loaded (encoding read, lines rejected, empty files)."""
    out = []
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            m = e.event_specific_data.materialization
            if m.asset_key.path[0] == "raw" and _meta(m.metadata, "status") != "absent" and m.metadata.get("note"):
                out.append(" ".join(str(_meta(m.metadata, "note")).split()))
    return out


def problems(result) -> list[Problem]:
    files = _source_files(result)
    found = []
    for e in result.all_events:
        if e.event_type_value == "STEP_FAILURE":
            problem = step_problem(e)
            if problem is not None:
                found.append(problem)
        elif e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed:
            found.append(check_problem(e.event_specific_data, files))
    return found


def published_line(published: Path) -> str:
    if not published.exists():
        return "warehouse NOT updated: no warehouse has been published yet"
    at = datetime.fromtimestamp(published.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"warehouse NOT updated: the one published at {at} is still in place"


def failed_work_copy(published: Path, run_id: str = "", since: float | None = None) -> Path | None:
    """The work copy this failed run kept (pipeline.warehouse.last_failed_work_copy), not an
    older run's: its name holds the run id, or it was written since the run started."""
    from pipeline.warehouse import last_failed_work_copy

    path = last_failed_work_copy(published)
    if path is not None and ((run_id and run_id in path.name)
                             or (since is not None and path.stat().st_mtime >= since - 1)):
        return path
    return None


def _steps_line(result, progress: Progress | None) -> str:
    ran = sum(1 for e in result.all_events if e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"))
    total = progress.total if progress else ran
    took = f" after {clock(progress.elapsed)}" if progress else ""
    run = f" (run {result.run_id[:8]})"
    if result.success:
        return f"SUCCESS{took}{run}: {ran} steps"
    return f"FAILED{took}{run}: {ran} of {total} steps ran; the steps that depend on a failure did not run"


def failure_report(result, published: Path, progress: Progress | None = None, verbose: bool = False) -> list[str]:
    found = problems(result)
    blocking = [p for p in found if p.blocking]
    warnings = [p for p in found if not p.blocking]
    lines = [_steps_line(result, progress)]
    if blocking:
        lines.append(f"{len(blocking)} problem{'s' if len(blocking) > 1 else ''} stopped the run:")
    for p in blocking:
        lines.append(f"  {p.line}")
        if verbose and p.detail:
            lines += [f"      {t}" for t in p.detail.rstrip().splitlines()]
    if not blocking:
        lines.append("  no step or check says why (run again with --verbose)")
    lines += _listed(f"warnings (reported, nothing stopped): {len(warnings)}", warnings, 5)
    lines += [f"note: {n}" for n in notes(result)]
    if not verbose and any(p.unexpected for p in blocking):
        lines.append("(run again with --verbose for the stack traces)")
    lines.append(published_line(published))
    work = failed_work_copy(published, result.run_id, progress.started_at if progress else None)
    if work is not None:
        lines.append(f"the failed run's work copy, for inspection: {work}")
    return lines


def _listed(title: str, found: list[Problem], shown: int) -> list[str]:
    """A titled list of the first `shown` problems, and how many more the UI has."""
    if not found:
        return []
    more = [f"  ... and {len(found) - shown} more (pipeline ui: the run's asset checks)"] if len(found) > shown else []
    return [title, *(f"  {p.line}" for p in found[:shown]), *more]


def success_report(result, published: Path, progress: Progress | None = None) -> list[str]:
    import duckdb

    lines = [_steps_line(result, progress)]
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error as e:
        return lines + [f"no published warehouse: {str(e).splitlines()[0]}"]
    with con:
        lines.append(f"warehouse published: {published} ({human_size(published.stat().st_size)})")
        counts = {}
        for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'staging', 'core', 'kpi', 'marts', 'audit') "
                "and table_name not like '\\_%' escape '\\' order by 1, 2").fetchall():
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            n, total = counts.get(schema, (0, 0))
            counts[schema] = (n + 1, total + rows)
        for schema, (n, rows) in sorted(counts.items(), key=lambda c: LAYERS.index(c[0])):
            lines.append(f"  {schema:<8} {n:>3} tables {rows:>12,} rows")
        kpis = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = 'kpi' order by 1").fetchall()
                if not t.startswith("_")]
        if kpis:
            lines.append("KPIs (company, latest):")
        for table in kpis:
            row = con.execute(f"""select value, unit, period_type, period_start from kpi."{table}"
                where scope = 'company'
                order by case period_type when 'as_of' then 0 when 'year' then 1 else 2 end, period_start desc
                limit 1""").fetchone()
            if row is None:
                lines.append(f"  {table:<28} no company value")
            else:
                value = "NULL" if row[0] is None else f"{row[0]:,.2f}"
                lines.append(f"  {table:<28} {value:>16} {row[1] or ''}  ({row[2]} from {row[3]})")
        lines += _quarantine_lines(con)
        quarantined = _quarantined_rules(con)
    other = [p for p in problems(result) if not p.blocking and p.rule not in quarantined]
    lines += _listed(f"warnings: {len(other)} checks", other, 3)
    lines += [f"note: {n}" for n in notes(result)]
    pages = published.parent / "dashboards" / "index.html"
    if pages.exists():
        lines.append(f"dashboards: {pages}")
    return lines


def _quarantined_rules(con) -> set[tuple[str, str]]:
    """(table, rule) of the rules whose failing rows the quarantine holds (reported there)."""
    if not table_exists(con, "audit", "quarantine"):
        return set()
    return set(con.execute("select distinct checked_table, rule from audit.quarantine").fetchall())


def _quarantine_lines(con) -> list[str]:
    if not table_exists(con, "audit", "quarantine"):
        return []
    rows, objects = con.execute("select count(*), count(distinct object) from audit.quarantine").fetchone()
    if not rows:
        return ["quarantined: nothing"]
    lines = [f"quarantined: {rows:,} rows ({objects} object{'s' if objects > 1 else ''}); see audit.quarantine"]
    top = con.execute("""select object, rule, severity, count(*) from audit.quarantine
                         group by all order by 4 desc, 1, 2 limit 5""").fetchall()
    for obj, rule, severity, n in top:
        lines.append(f"  {n:>8,}  {obj}.{rule} ({severity})")
    return lines
