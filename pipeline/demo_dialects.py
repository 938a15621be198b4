"""Rewrite a demo export into the other CSV dialects Salesforce data arrives in.

`generate_export` writes the weekly Data Export form (every value quoted, booleans
0/1, datetimes `YYYY-MM-DD HH:MM:SS` GMT, dates `YYYY-MM-DD 00:00:00`). Users also
bring the forms below (spec: input.md, "The other ways Salesforce data arrives as
CSV"); `rewrite_dialect` turns an export into one of them, in place, so tests can
load both and compare. Only the form changes: every record, UTC instant, truth
value, number and text stays the same (but see `excel`: instants lose their seconds).
Each column's type comes from the data contracts; columns a contract does not know,
and files no contract names, are left as they are.

dataloader (Data Loader / API / Workbench)
    datetimes ISO 8601 with milliseconds and an offset, the form picked per row
    (seeded): `2024-01-22T16:14:25.000+0000`, `2024-01-22T16:14:25.000Z`, or the
    local wall time at +02:00, -05:00 or +05:30 (`2024-01-22T18:14:25.000+02:00`,
    same UTC instant); dates `2024-01-22`; booleans `true`/`false`, except that in
    Opportunity.csv and User.csv false is written empty (Data Loader leaves an
    unticked checkbox empty). Every value quoted, CRLF record ends, UTF-8 with BOM.
excel (re-saved from Excel)
    US (default): datetimes `01/22/2024 4:14 PM` (month and day zero-padded, the
    12-hour clock hour not padded), dates `01/22/24`. day_first=True (European
    locales): `22/01/2024 16:14` (24-hour, zero-padded), dates `22/01/24`. Excel
    shows times as h:mm, so instants LOSE THEIR SECONDS (truncated, not rounded).
    Two-digit years are read back in Excel's window 1930-2029; a date outside it
    (the 0001-01-01 / 9999-12-31 sentinels of DatedConversionRate) keeps four digits
    so nothing is lost. Booleans `TRUE`/`FALSE`. Only values holding a comma, quote or
    line break are quoted; CRLF record ends; the file keeps its encoding.
connector (a Fivetran/Airbyte/Stitch table dumped to CSV)
    headers renamed as Fivetran names columns (`connector_name`: StageName ->
    stage_name, Pricebook2Id -> pricebook_2_id, Hire_Date__c -> hire_date_c), plus
    `_fivetran_synced` (`2025-06-30T18:03:11.412Z`, shortly after the row's latest
    instant) and `_fivetran_deleted`. Datetimes `2024-01-22T16:14:25.000Z`, dates
    `2024-01-22`, booleans `true`/`false`, minimal quoting, LF, UTF-8. Plain files
    whose contract has no primary key (hr_employees.csv, kpi_targets.csv) keep their
    headers and get no bookkeeping columns.
    Deleted records: in Opportunity, Lead, Task and Event one row in 50 (at a seeded
    offset) gets `_fivetran_deleted` = true, and so do the OpportunityHistory and
    OpportunityLineItem rows of a deleted opportunity (Salesforce deletes them with
    it). Every other row is false. Rows stay in the file. The returned dict names
    them under `"_deleted_ids:<file>"` keys (comma-separated Ids); `deleted_ids()`
    turns that into {file: [Id, ...]}.
"""

from __future__ import annotations

import codecs
import csv
import os
import random
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pipeline.contracts import load_contracts

DIALECTS = ("salesforce", "dataloader", "excel", "connector")
DELETED_KEY = "_deleted_ids:"

_OFFSETS = (timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30))
_EMPTY_FALSE = {"Opportunity", "User"}  # objects whose Data Loader export writes false as ""
_DELETABLE = {"Opportunity", "Lead", "Task", "Event"}
_CASCADE = {"OpportunityHistory": "OpportunityId", "OpportunityLineItem": "OpportunityId"}
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?: 00:00:00)?")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def connector_name(name: str) -> str:
    """A column name as Fivetran writes it: `StageName` -> `stage_name`,
    `Pricebook2Id` -> `pricebook_2_id`, `Hire_Date__c` -> `hire_date_c`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([A-Za-z])(\d)", r"\1_\2", s)  # Fivetran splits digits off letters
    return re.sub(r"_+", "_", s).lower()


def deleted_ids(result: dict[str, str]) -> dict[str, list[str]]:
    """{file: [Id, ...]} of the records the connector dialect marked deleted."""
    return {k[len(DELETED_KEY):]: v.split(",") for k, v in result.items() if k.startswith(DELETED_KEY)}


def rewrite_dialect(export_dir: Path, dialect: str, *, day_first: bool = False, seed: int = 0) -> dict[str, str]:
    """Rewrite the export in `export_dir` into `dialect`, in place (see the module doc).

    Returns {file name: what was done}; for `connector` also `"_deleted_ids:<file>"`
    -> comma-separated Ids of the rows marked `_fivetran_deleted` (see `deleted_ids`).
    `salesforce` leaves the export as it is. Deterministic for a given `seed`.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}, got {dialect!r}")
    result: dict[str, str] = {}
    if dialect == "salesforce":
        return result
    by_file = {f.lower(): c for c in load_contracts().values() for f in c.files}
    # cascade children after their parent, so the parent's deleted Ids are known
    paths = sorted(Path(export_dir).glob("*.csv"),
                   key=lambda p: (getattr(by_file.get(p.name.lower()), "object", "") in _CASCADE, p.name))
    deleted: dict[str, set[str]] = {}
    for path in paths:
        contract = by_file.get(path.name.lower())
        if contract is None:
            result[path.name] = "no data contract: left as is"
            continue
        result[path.name] = _rewrite_file(path, contract, dialect, day_first, seed, deleted)
        if deleted.get(contract.object):
            result[DELETED_KEY + path.name] = ",".join(sorted(deleted[contract.object]))
    return result


def _rewrite_file(path, contract, dialect, day_first, seed, deleted) -> str:
    encoding, bom = _encoding(path)
    rng = random.Random(f"{seed}:{dialect}:{path.name}")  # str seeds are stable across runs
    obj = contract.object
    tmp = path.with_name(path.name + ".tmp")
    with open(path, newline="", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as src:
        rows = csv.reader(src)
        header = next(rows, None)
        if header is None:
            return "empty file: left as is"
        types = [getattr(contract.field(h), "type", None) for h in header]
        if dialect == "dataloader":
            out_encoding, quoting, end = "utf-8-sig", csv.QUOTE_ALL, "\r\n"
        elif dialect == "excel":
            out_encoding, quoting, end = ("utf-8-sig" if bom else encoding), csv.QUOTE_MINIMAL, "\r\n"
        else:
            out_encoding, quoting, end = "utf-8", csv.QUOTE_MINIMAL, "\n"
        bookkeeping = dialect == "connector" and contract.primary_key is not None
        key = header.index(contract.primary_key) if bookkeeping and contract.primary_key in header else None
        parent = header.index(_CASCADE[obj]) if obj in _CASCADE and _CASCADE[obj] in header else None
        every = rng.randrange(50)  # deleted rows: every 50th, from a seeded offset
        empty_false = dialect == "dataloader" and obj in _EMPTY_FALSE
        marked: set[str] = set()
        n = 0
        with open(tmp, "w", newline="", encoding=out_encoding) as dst:
            out = csv.writer(dst, quoting=quoting, lineterminator=end)
            out.writerow([connector_name(h) for h in header] + ["_fivetran_synced", "_fivetran_deleted"]
                         if bookkeeping else header)
            last = datetime(1970, 1, 1)
            for row in rows:
                form, offset = rng.randrange(3), rng.choice(_OFFSETS)  # dataloader: one form per row
                new, instants = [], []
                for i, v in enumerate(row):
                    kind = types[i] if i < len(types) else None
                    if kind == "datetime" and _DATETIME.fullmatch(v):
                        t = datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
                        instants.append(t)
                        v = _datetime(t, dialect, day_first, form, offset)
                    elif kind == "date" and _DATE.fullmatch(v):
                        v = _date(date.fromisoformat(v[:10]), dialect, day_first)
                    elif kind == "boolean" and v in ("0", "1"):
                        v = _boolean(v == "1", dialect, empty_false)
                    new.append(v)
                if bookkeeping:
                    last = max(instants, default=last)
                    synced = last + timedelta(seconds=rng.randint(60, 3600), milliseconds=rng.randrange(1000))
                    gone = key is not None and key < len(row) and (
                        (obj in _DELETABLE and n % 50 == every)
                        or (parent is not None and parent < len(row) and row[parent] in deleted.get("Opportunity", ())))
                    if gone:
                        marked.add(row[key])
                    new += [synced.isoformat(timespec="milliseconds") + "Z", "true" if gone else "false"]
                out.writerow(new)
                n += 1
    os.replace(tmp, path)
    deleted[obj] = marked
    what = {"dataloader": "ISO 8601 datetimes with offsets, true/false" + (" (false empty)" if empty_false else "")
            + ", UTF-8 BOM, CRLF, all quoted",
            "excel": ("DD/MM/YYYY hh:mm, DD/MM/YY" if day_first else "MM/DD/YYYY h:mm AM, MM/DD/YY")
            + f", TRUE/FALSE, minimal quoting, CRLF, {out_encoding}",
            "connector": "ISO Z datetimes, true/false" + (
                f", snake_case headers, _fivetran_synced/_fivetran_deleted ({len(marked)} deleted)"
                if bookkeeping else ", headers kept (plain file)")}[dialect]
    return f"{dialect}: {n} rows; {what}"


def _encoding(path: Path) -> tuple[str, bool]:
    """("utf-8" | "latin-1", has a BOM): a file that is not valid UTF-8 is Latin-1 (all the generator writes)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        bom = f.read(3) == codecs.BOM_UTF8
        f.seek(0)
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1", False
    return "utf-8", bom


def _datetime(t: datetime, dialect: str, day_first: bool, form: int, offset: timedelta) -> str:
    if dialect == "dataloader":
        if form == 0:
            return t.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        if form == 1:
            return t.isoformat(timespec="milliseconds") + "Z"
        # the wall time at `offset`: the same UTC instant, written with a colon offset
        return t.replace(tzinfo=timezone.utc).astimezone(timezone(offset)).isoformat(timespec="milliseconds")
    if dialect == "excel":
        if day_first:
            return f"{t.day:02d}/{t.month:02d}/{t.year:04d} {t.hour:02d}:{t.minute:02d}"
        clock = f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"
        return f"{t.month:02d}/{t.day:02d}/{t.year:04d} {clock}"
    return t.isoformat(timespec="milliseconds") + "Z"


def _date(d: date, dialect: str, day_first: bool) -> str:
    if dialect != "excel":
        return d.isoformat()
    # two digits only where Excel reads them back to the same year (1930-2029)
    year = f"{d.year % 100:02d}" if 1930 <= d.year <= 2029 else f"{d.year:04d}"
    return f"{d.day:02d}/{d.month:02d}/{year}" if day_first else f"{d.month:02d}/{d.day:02d}/{year}"


def _boolean(b: bool, dialect: str, empty_false: bool) -> str:
    if dialect == "excel":
        return "TRUE" if b else "FALSE"
    return "true" if b else ("" if empty_false else "false")
