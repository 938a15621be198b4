"""The CSV dialects Salesforce data arrives in, recognised per file (docs/real-exports.md).

The weekly Data Export writes `"2024-01-22 16:14:25"` and `"0"`/`"1"`; Data Loader, the
API and Workbench write ISO 8601 with an offset (`2024-01-22T16:14:25.000+0000`) and
`true`/`false` or an empty checkbox; a file re-saved from Excel writes `01/22/2024 4:14 PM`
(day first in many locales) and `TRUE`/`FALSE`; a connector's table dumped to CSV
(Fivetran, Airbyte, Stitch) has snake_case headers and bookkeeping columns.

Values stay verbatim in raw: the `sf_*` macros (pipeline/warehouse.py) read every form.
What extract decides here, per file: which contract field each header names, and
whether slashed dates are day-first (stored with each row as `_date_order`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.contracts import Contract

# A connector's deleted flag, loaded into raw as `_connector_deleted` (read by the sf_deleted macro).
CONNECTOR_DELETED = ("_fivetran_deleted", "_sdc_deleted_at", "_ab_cdc_deleted_at")
DELETED_COLUMN = "_connector_deleted"
# Connector bookkeeping that changes on every sync: kept in raw, left out of a row's identity
# (`_row_hash`), else every row of every dump would be a new version.
BOOKKEEPING_PREFIXES = ("_fivetran_", "_sdc_", "_airbyte_", "_ab_")
DATE_ORDERS = ("mdy", "dmy")
SAMPLE_ROWS = 500

_SLASHED = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b")
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_OFFSET = re.compile(r"([zZ]|[+-]\d\d:?\d\d)\s*$")
_EXPORT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?\s*$")


def normalized(name: str) -> str:
    """`StageName`, `stage_name` and `stagename` alike; `Hire_Date__c` = `hire_date_c`."""
    return name.strip().lower().replace("_", "")


def canonical_header(header: list[str], contract: Contract) -> tuple[list[str], dict[str, str]]:
    """The file's column names as raw stores them: a contract field's own name wherever a header
    names it in another case or with other underscores, a connector's deleted flag as
    `_connector_deleted`, any other column as it is. Returns (names, {header name: raw name} of
    the renamed ones)."""
    fields = {normalized(f.name): f.name for f in contract.fields}
    names, renamed = [], {}
    for column in header:
        name = fields.get(normalized(column), column)
        if column.lower() in CONNECTOR_DELETED and not contract.field(column):
            name = DELETED_COLUMN
        if name != column:
            renamed[column] = name
        names.append(name)
    return names, renamed


def identity_columns(names: list[str]) -> list[str]:
    """The columns a row's `_row_hash` covers: all but a connector's per-sync bookkeeping."""
    return [n for n in names if n == DELETED_COLUMN or not n.lower().startswith(BOOKKEEPING_PREFIXES)]


@dataclass
class Dialect:
    """What the first rows of a file look like."""

    timestamps: set[str] = field(default_factory=set)   # export | iso | iso-offset | slashed
    booleans: set[str] = field(default_factory=set)     # 0/1 | true/false | TRUE/FALSE | empty
    renamed: dict[str, str] = field(default_factory=dict)
    connector: bool = False
    date_order: str | None = None                        # mdy | dmy, for slashed dates
    date_order_reason: str = ""

    def describe(self) -> str:
        if self.connector:
            source = "connector table (snake_case names)"
        elif "slashed" in self.timestamps:
            source = "Excel re-save"
        elif self.timestamps & {"iso", "iso-offset"}:
            source = "Data Loader / API"
        else:
            source = "Salesforce Data Export"
        parts = [source]
        stamps = {"export": "YYYY-MM-DD HH:MM:SS", "iso": "ISO 8601", "iso-offset": "ISO 8601 with offset (to UTC)",
                  "slashed": f"slashed dates, {'day' if self.date_order == 'dmy' else 'month'} first"}
        if self.timestamps:
            parts.append("timestamps " + ", ".join(stamps[t] for t in sorted(self.timestamps)))
        if self.date_order_reason:
            parts.append(self.date_order_reason)
        if self.booleans - {"empty"}:
            parts.append("checkboxes " + ", ".join(sorted(self.booleans - {"empty"}))
                         + (" (empty = false)" if "empty" in self.booleans else ""))
        if self.renamed:
            shown = ", ".join(f"{a}->{b}" for a, b in list(self.renamed.items())[:4])
            parts.append(f"{len(self.renamed)} column name(s) matched to the contract ({shown}{', ...' if len(self.renamed) > 4 else ''})")
        return "; ".join(parts)


def sniff(path: Path, header: list[str], names: list[str], contract: Contract) -> Dialect:
    """The dialect of a file from its first SAMPLE_ROWS rows (header already read), read as UTF-8 (extract
    reads a Latin-1 file from its UTF-8 copy; a byte that is not UTF-8 says nothing of the dialect)."""
    dialect = Dialect(renamed=canonical_header(header, contract)[1])
    dialect.connector = any(n.lower().startswith(BOOKKEEPING_PREFIXES) for n in header) or (
        sum(1 for c in header if "_" in c and c == c.lower() and not c.startswith("_")) > len(header) // 2)
    kinds = {i: contract.field(n).type for i, n in enumerate(names) if contract.field(n) is not None}
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        for number, row in enumerate(reader):
            if number >= SAMPLE_ROWS:
                break
            for i, kind in kinds.items():
                if i >= len(row):
                    continue
                value = row[i]
                if kind == "datetime" and value.strip() or kind == "date" and timestamp_form(value) == "slashed":
                    dialect.timestamps.add(timestamp_form(value))
                elif kind == "boolean":
                    dialect.booleans.add(boolean_form(value))
    dialect.timestamps.discard("other")
    dialect.booleans.discard("other")
    return dialect


def timestamp_form(value: str) -> str:
    if _EXPORT.match(value):
        return "export"
    if _ISO.match(value):
        return "iso-offset" if _OFFSET.search(value) else "iso"
    if _SLASHED.match(value):
        return "slashed"
    return "other"


def boolean_form(value: str) -> str:
    v = value.strip()
    if v in ("0", "1"):
        return "0/1"
    if v in ("true", "false"):
        return "true/false"
    if v.lower() in ("true", "false"):
        return "TRUE/FALSE"
    return "empty" if v == "" else "other"


def slashed_parts_sql(column_sql: str) -> str:
    """(largest first part, largest second part) of a column's slashed dates, as two SQL aggregates."""
    part = "try_cast(regexp_extract({c}, '^\\s*(\\d{{1,2}})/(\\d{{1,2}})/', {n}) as integer)"
    return f"max({part.format(c=column_sql, n=1)}), max({part.format(c=column_sql, n=2)})"


def decide_date_order(evidence: dict[str, tuple[int | None, int | None]]) -> tuple[str | None, str]:
    """Day- or month-first from the largest first and second parts of the slashed dates of some columns:
    a part above 12 can only be a day. Returns (mdy | dmy | None when nothing decides, why); columns that
    disagree decide nothing, and say so."""
    day_first = sorted(c for c, (first, second) in evidence.items() if (first or 0) > 12 and (second or 0) <= 12)
    month_first = sorted(c for c, (first, second) in evidence.items() if (second or 0) > 12 and (first or 0) <= 12)
    if day_first and month_first:
        return None, f"day first in {', '.join(day_first)} but month first in {', '.join(month_first)}"
    if day_first:
        return "dmy", f"day first: {day_first[0]} has a day above 12 first"
    if month_first:
        return "mdy", f"month first: {month_first[0]} has a day above 12 second"
    return None, "no day above 12"
