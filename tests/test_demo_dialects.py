"""`rewrite_dialect` turns a demo export into the Data Loader, Excel and connector CSV
dialects without changing a record: checked here with the csv module and small strict
parsers for each dialect's datetime, date and boolean forms, not with the pipeline."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.contracts import load_contracts
from pipeline.demo_dialects import connector_name, deleted_ids, rewrite_dialect
from pipeline.demo_export import generate_export

UTC = timezone.utc
VARIANTS = [("dataloader", False), ("excel", False), ("excel", True), ("connector", False)]
PLAIN = {"hr_employees.csv", "kpi_targets.csv"}
OPPORTUNITY_HEADER = [
    "id", "is_deleted", "account_id", "name", "stage_name", "stage_sort_order", "amount", "probability",
    "expected_revenue", "close_date", "type", "lead_source", "is_closed", "is_won", "forecast_category",
    "forecast_category_name", "campaign_id", "pricebook_2_id", "owner_id", "contract_id", "currency_iso_code",
    "created_date", "created_by_id", "last_modified_date", "system_modstamp", "last_stage_change_date",
    "referring_account_c", "description", "_fivetran_synced", "_fivetran_deleted",
]


def read(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding=encoding) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def types_of(name: str, header: list[str]) -> list[str | None]:
    contract = next((c for c in load_contracts().values() if name.lower() in (f.lower() for f in c.files)), None)
    return [getattr(contract and contract.field(h), "type", None) for h in header]


# --- strict parsers, one per dialect form --------------------------------------------------


def two_digit_year(y: str) -> int:
    """Excel's window: 00-29 -> 2000s, 30-99 -> 1900s; four digits as written."""
    return int(y) if len(y) == 4 else (2000 if int(y) < 30 else 1900) + int(y)


def parse_instant(v: str, dialect: str, day_first: bool) -> datetime:
    if dialect == "salesforce":
        return datetime.strptime(v, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if dialect == "dataloader":
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})(Z|\+0000|[+-]\d\d:\d\d)", v)
        assert m, v
        local = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S")
        if m[3] in ("Z", "+0000"):
            return local.replace(tzinfo=UTC)
        sign = 1 if m[3][0] == "+" else -1
        offset = timedelta(hours=int(m[3][1:3]), minutes=int(m[3][4:6])) * sign
        assert m[3] != "+00:00", v  # a non-UTC offset really shifts the wall time
        return (local - offset).replace(tzinfo=UTC)
    if dialect == "excel" and day_first:
        m = re.fullmatch(r"(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d)", v)
        assert m, v
        return datetime(int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]), tzinfo=UTC)
    if dialect == "excel":
        m = re.fullmatch(r"(\d\d)/(\d\d)/(\d{4}) ([1-9]|1[0-2]):(\d\d) (AM|PM)", v)
        assert m, v
        hour = int(m[4]) % 12 + (12 if m[6] == "PM" else 0)
        return datetime(int(m[3]), int(m[1]), int(m[2]), hour, int(m[5]), tzinfo=UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v), v
    return datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def parse_day(v: str, dialect: str, day_first: bool) -> date:
    if dialect == "salesforce":
        assert re.fullmatch(r"\d{4}-\d\d-\d\d( 00:00:00)?", v), v
        return date.fromisoformat(v[:10])
    if dialect == "excel":
        m = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d|\d{4})", v)
        assert m, v
        day, month = (m[1], m[2]) if day_first else (m[2], m[1])
        return date(two_digit_year(m[3]), int(month), int(day))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", v), v
    return date.fromisoformat(v)


def parse_bool(v: str, dialect: str, empty_false: bool) -> bool:
    words = {"salesforce": ("1", "0"), "excel": ("TRUE", "FALSE")}.get(dialect, ("true", "false"))
    if v == "" and empty_false:
        return False
    assert v in words, v
    return v == words[0]


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("salesforce")
    generate_export(out, scale="tiny", seed=7)
    return out


@pytest.fixture(scope="module")
def rewritten(original, tmp_path_factory):
    done = {}

    def get(dialect: str, day_first: bool = False) -> tuple[Path, dict[str, str]]:
        if (dialect, day_first) not in done:
            out = tmp_path_factory.mktemp(f"{dialect}{'_dayfirst' if day_first else ''}")
            shutil.copytree(original, out, dirs_exist_ok=True)
            done[dialect, day_first] = out, rewrite_dialect(out, dialect, day_first=day_first, seed=7)
        return done[dialect, day_first]

    return get


# --- every dialect keeps every record and value ------------------------------------------


@pytest.mark.parametrize(("dialect", "day_first"), VARIANTS)
def test_same_records_and_values(original, rewritten, dialect, day_first):
    out, result = rewritten(dialect, day_first)
    files = sorted(p.name for p in original.glob("*.csv"))
    assert sorted(p.name for p in out.glob("*.csv")) == files
    assert set(files) <= set(result)
    encoding = "utf-8-sig" if dialect == "dataloader" else "utf-8"
    checked = {"datetime": 0, "date": 0, "boolean": 0}
    for name in files:
        header, rows = read(original / name)
        new_header, new_rows = read(out / name, encoding)
        assert len(new_rows) == len(rows), name
        if dialect != "connector":
            assert new_header == header, name
        empty_false = dialect == "dataloader" and name in ("Opportunity.csv", "User.csv")
        for row, new in zip(rows, new_rows):
            for kind, v, w in zip(types_of(name, header), row, new):
                if kind == "datetime" and v:
                    before, after = parse_instant(v, "salesforce", False), parse_instant(w, dialect, day_first)
                    if dialect == "excel":  # Excel drops the seconds
                        before = before.replace(second=0)
                    assert after == before, (name, v, w)
                elif kind == "date" and v:
                    assert parse_day(w, dialect, day_first) == parse_day(v, "salesforce", False), (name, v, w)
                elif kind == "boolean":
                    assert parse_bool(w, dialect, empty_false) == parse_bool(v, "salesforce", False), (name, v, w)
                else:
                    assert w == v, (name, kind, v, w)
                    continue
                checked[kind] += 1
    assert all(n > 100 for n in checked.values()), checked


# --- Data Loader ----------------------------------------------------------------------------


def test_dataloader_bom_crlf_offsets_and_empty_false(rewritten):
    out, _ = rewritten("dataloader")
    for path in out.glob("*.csv"):
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), path.name
        header, rows = read(path, "utf-8-sig")
        # every record ends in CRLF; other line breaks are the text values' own
        inside = sum(v.count("\r\n") for r in rows for v in r)
        assert raw.count(b"\r\n") == len(rows) + 1 + inside, path.name
        assert raw.split(b"\r\n")[0].startswith(b'\xef\xbb\xbf"'), path.name  # values quoted
    header, rows = read(out / "Opportunity.csv", "utf-8-sig")
    stamps = [r[header.index("SystemModstamp")] for r in rows]
    forms = {"Z" if s.endswith("Z") else "+0000" if s.endswith("+0000") else "offset" for s in stamps}
    assert forms == {"Z", "+0000", "offset"}
    is_won = {r[header.index("IsWon")] for r in rows}
    assert is_won == {"true", ""}  # false written empty in Opportunity
    header, rows = read(out / "Account.csv", "utf-8-sig")
    assert {r[header.index("IsDeleted")] for r in rows} == {"false"}


# --- Excel ------------------------------------------------------------------------------------


def test_excel_quotes_only_when_needed_and_keeps_no_seconds(rewritten, original):
    out, _ = rewritten("excel")
    raw = (out / "Opportunity.csv").read_bytes().decode("utf-8")
    assert raw.startswith("Id,IsDeleted,AccountId,") and "\r\n" in raw
    header, rows = read(out / "Opportunity.csv")
    assert '"' + rows[0][0] + '"' not in raw  # ids unquoted
    assert any("\n" in r[header.index("Description")] for r in rows)  # multi-line text survives, quoted
    # US: 12-hour clock with an unpadded hour
    assert any(re.search(r" [1-9]:\d\d [AP]M$", r[header.index("CreatedDate")]) for r in rows)


def test_excel_day_first(rewritten):
    out, _ = rewritten("excel", True)
    header, rows = read(out / "Opportunity.csv")
    close = [r[header.index("CloseDate")] for r in rows]
    created = [r[header.index("CreatedDate")] for r in rows]
    assert any(int(v[:2]) > 12 for v in close)
    assert any(int(v[:2]) > 12 for v in created)
    assert any(int(v[11:13]) > 12 for v in created)  # 24-hour clock


def test_excel_keeps_latin1(tmp_path):
    generate_export(tmp_path / "latin", scale="tiny", seed=7, encoding="latin-1")
    for dialect in ("excel", "dataloader"):
        out = tmp_path / dialect
        shutil.copytree(tmp_path / "latin", out)
        rewrite_dialect(out, dialect)
        raw = (out / "User.csv").read_bytes()
        if dialect == "excel":  # stays Latin-1, no BOM
            assert "ü".encode("latin-1") in raw and not raw.startswith(b"\xef\xbb\xbf")
        else:  # Data Loader writes UTF-8 with a BOM
            assert "ü".encode("utf-8") in raw and raw.startswith(b"\xef\xbb\xbf")
        header, rows = read(out / "User.csv", "latin-1" if dialect == "excel" else "utf-8-sig")
        names = [r[header.index("Name")] for r in read(tmp_path / "latin" / "User.csv", "latin-1")[1]]
        assert [r[header.index("Name")] for r in rows] == names


# --- connector --------------------------------------------------------------------------------


def test_connector_names():
    assert [connector_name(n) for n in ("StageName", "OwnerId", "IsWon", "Hire_Date__c", "SystemModstamp", "Id")] == [
        "stage_name", "owner_id", "is_won", "hire_date_c", "system_modstamp", "id"]


def test_connector_headers_bookkeeping_and_deleted(original, rewritten):
    out, result = rewritten("connector")
    assert read(out / "Opportunity.csv")[0] == OPPORTUNITY_HEADER
    assert "hire_date_c" in read(out / "User.csv")[0]
    deleted = deleted_ids(result)
    assert deleted["Opportunity.csv"] and set(deleted) <= {p.name for p in out.glob("*.csv")}
    for path in sorted(out.glob("*.csv")):
        header, rows = read(path)
        orig_header = read(original / path.name)[0]
        if path.name in PLAIN:
            assert header == orig_header
            continue
        assert header == [connector_name(h) for h in orig_header] + ["_fivetran_synced", "_fivetran_deleted"]
        assert all(re.fullmatch(r"_?[a-z0-9]+(_[a-z0-9]+)*", h) for h in header), header
        flags = [r[-1] for r in rows]
        assert set(flags) <= {"true", "false"}
        assert sorted(r[0] for r in rows if r[-1] == "true") == sorted(deleted.get(path.name, []))
        stamp = header.index("system_modstamp")
        for r in rows:  # synced after the row's last change
            assert parse_instant(r[-2], "connector", False) >= parse_instant(r[stamp], "connector", False)
    # the history and line items of a deleted opportunity are deleted with it
    opps = set(deleted["Opportunity.csv"])
    for name in ("OpportunityHistory.csv", "OpportunityLineItem.csv"):
        header, rows = read(out / name)
        assert {r[0] for r in rows if r[header.index("opportunity_id")] in opps} == set(deleted[name])


# --- determinism and CLI ----------------------------------------------------------------------


def test_deterministic_and_salesforce_is_a_no_op(original, rewritten, tmp_path):
    out, result = rewritten("dataloader")
    again = tmp_path / "again"
    shutil.copytree(original, again)
    assert rewrite_dialect(again, "dataloader", seed=7) == result
    assert all((again / p.name).read_bytes() == p.read_bytes() for p in out.glob("*.csv"))
    before = {p.name: p.read_bytes() for p in again.glob("*.csv")}
    assert rewrite_dialect(again, "salesforce") == {}
    assert before == {p.name: p.read_bytes() for p in again.glob("*.csv")}
    with pytest.raises(ValueError):
        rewrite_dialect(again, "xml")


def test_cli_generate_dialect(tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["generate", "--scale", "tiny", "--seed", "7", "--out", str(out), "--dialect", "excel",
                 "--day-first"]) == 0
    assert capsys.readouterr().out.strip().endswith("(excel dialect, day first)")
    header, rows = read(out / "Opportunity.csv")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[0][header.index("CreatedDate")])
