"""Extract: the export's files land in raw verbatim, append-only, idempotent."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from pipeline import extract
from pipeline.contracts import load_contracts
from pipeline.archive import resolve_export
from pipeline.extract import ExportError, _number_by_position, find_object_file, load_object, scan_file
from pipeline.warehouse import MACROS
from tests.conftest import csv_rows

CONTRACTS = load_contracts()


@pytest.fixture
def con():
    con = duckdb.connect()
    for schema in ("raw", "audit"):
        con.execute(f"create schema {schema}")
    con.execute(MACROS)
    yield con
    con.close()


def load(con, export: Path, obj: str, tmp_path: Path, **kw) -> dict:
    return load_object(con, CONTRACTS[obj], export, export_id=export.name, scratch=tmp_path / "scratch", **kw)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


OPP_HEADER = '"Id","IsDeleted","AccountId","Name","StageName","Amount","CloseDate","IsClosed","IsWon","OwnerId","CreatedDate","SystemModstamp"\n'


def opp_row(i: int, stage: str = "Prospecting") -> str:
    return (f'"006{i:015d}","0","001000000000000AAA","Deal {i}","{stage}","100","2024-02-29 00:00:00",'
            f'"0","0","005000000000001AAA","2024-01-01 10:00:00","2024-01-02 10:00:00"\n')


def test_real_fixture_loads_every_file_with_exact_row_counts(con, fixture_export, tmp_path):
    loaded = {}
    for obj, contract in CONTRACTS.items():
        outcome = load(con, fixture_export, obj, tmp_path)
        loaded[obj] = outcome["status"]
        path = find_object_file(fixture_export, contract)
        if path is not None:
            rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
            assert rows == csv_rows(path), obj
    # What the real sample export lacks: no User, Task, Product2, HR or targets files.
    absent = {obj for obj, status in loaded.items() if status == "absent"}
    assert {"User", "Task", "Product2", "HrEmployee", "KpiTarget", "CurrencyType"} <= absent
    assert "Opportunity" not in absent
    # Header-only files load as zero rows, not as an error.
    assert con.execute("select count(*) from raw.contract").fetchone()[0] == 0
    # Values are verbatim: the empty id and "0"/"1" booleans are still text in raw.
    assert con.execute("select count(*) from raw.opportunity where IsWon in ('0', '1')").fetchone()[0] == 31
    assert con.execute(
        "select count(*) from raw.opportunity where CampaignId = '000000000000000AAA'").fetchone()[0] == 31


def test_loading_the_same_export_twice_adds_nothing(con, tmp_path):
    from pipeline.demo_export import generate_export
    from tests.conftest import csv_rows

    export = tmp_path / "WE_twice"
    generate_export(export, scale="tiny", seed=3)
    deals = csv_rows(export / "Opportunity.csv")
    first = load(con, export, "Opportunity", tmp_path)
    second = load(con, export, "Opportunity", tmp_path)
    assert first["rows_loaded"] == deals > 0
    assert second["status"] == "already loaded" and second["rows_loaded"] == 0
    assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == deals


def test_a_changed_export_is_appended_with_load_metadata(con, tmp_path):
    write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2))
    write(tmp_path / "e2" / "Opportunity.csv", OPP_HEADER + opp_row(1, "Closed Won") + opp_row(3))
    load(con, tmp_path / "e1", "Opportunity", tmp_path)
    load(con, tmp_path / "e2", "Opportunity", tmp_path)
    rows = con.execute(
        "select _export_id, _source_file, _row_number, StageName from raw.opportunity order by _export_id, _row_number"
    ).fetchall()
    assert rows == [
        ("e1", "Opportunity.csv", 1, "Prospecting"), ("e1", "Opportunity.csv", 2, "Prospecting"),
        ("e2", "Opportunity.csv", 1, "Closed Won"), ("e2", "Opportunity.csv", 2, "Prospecting"),
    ]


def test_a_newer_export_adds_only_new_and_changed_versions(con, tmp_path):
    write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2))
    # e2: row 1 unchanged but in another column order and position, row 2 changed, row 3 new
    cols = OPP_HEADER.strip().split(",")
    swapped = ",".join([cols[1], cols[0], *cols[2:]]) + "\n"
    row1 = opp_row(1).strip().split(",")
    write(tmp_path / "e2" / "Opportunity.csv", swapped + ",".join([row1[1], row1[0], *row1[2:]]) + "\n"
          + "".join(",".join([r.split(",")[1], r.split(",")[0], *r.strip().split(",")[2:]]) + "\n"
                    for r in (opp_row(3), opp_row(2, "Closed Won"))))
    assert load(con, tmp_path / "e1", "Opportunity", tmp_path)["rows_loaded"] == 2
    assert load(con, tmp_path / "e2", "Opportunity", tmp_path)["rows_loaded"] == 2
    rows = con.execute("select _export_id, Id, StageName, _row_number from raw.opportunity order by all").fetchall()
    assert rows == [("e1", f"006{1:015d}", "Prospecting", 1), ("e1", f"006{2:015d}", "Prospecting", 2),
                    ("e2", f"006{2:015d}", "Closed Won", 3), ("e2", f"006{3:015d}", "Prospecting", 2)]


def test_a_newer_export_numbers_repeated_rows_blank_ids_and_rejected_lines_by_their_place(con, tmp_path):
    blank = opp_row(0).replace(f'"006{0:015d}"', '""')
    write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2) + blank)
    # e2, rows counted as parsed (the short third record, line 4, is rejected, not numbered): 1 unchanged, 2 new (twice, an
    # identical copy), 4 blank id (always appended), 5 changed, 6 unchanged again (a duplicate of row 1)
    write(tmp_path / "e2" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(3) + '"006000000000000009","0"\n'
          + opp_row(3) + blank + opp_row(2, "Closed Won") + opp_row(1))
    load(con, tmp_path / "e1", "Opportunity", tmp_path)
    outcome = load(con, tmp_path / "e2", "Opportunity", tmp_path)
    assert (outcome["rows_loaded"], outcome["rows_rejected"]) == (4, 1)
    assert con.execute("select _row_number, Id, StageName from raw.opportunity where _export_id = 'e2' "
                       "order by 1").fetchall() == [
        (2, f"006{3:015d}", "Prospecting"), (3, f"006{3:015d}", "Prospecting"), (4, "", "Prospecting"),
        (5, f"006{2:015d}", "Closed Won")]
    assert con.execute("select line from audit.rejected_lines where export_id = 'e2'").fetchall() == [(4,)]


def test_a_warehouse_from_before_row_hashes_gets_the_column(con, tmp_path):
    con.execute("create table raw.opportunity (Id varchar, _export_id varchar, _source_file varchar, "
                "_row_number bigint, _loaded_at timestamp)")
    con.execute("insert into raw.opportunity values ('x', 'old', 'Opportunity.csv', 1, now())")
    write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + opp_row(1))
    assert load(con, tmp_path / "e1", "Opportunity", tmp_path)["rows_loaded"] == 1
    assert con.execute("select count(*) from raw.opportunity where _row_hash is null").fetchone()[0] == 1


def test_latin1_text_survives_including_c1_bytes(con, tmp_path):
    # 0x81 after "BOGOTÃ" is a C1 control real Latin-1 exports contain; DuckDB's own
    # latin-1 reader refuses it, so the file must be transcoded, not decoded by DuckDB.
    text = OPP_HEADER + opp_row(1, "Negociación") + opp_row(2, "Gestión") + opp_row(3, "BOGOTÃ\x81")
    write(tmp_path / "e" / "Opportunity.csv", text, "latin-1")
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert outcome["encoding"] == "latin-1"
    stages = [r[0] for r in con.execute("select StageName from raw.opportunity order by _row_number").fetchall()]
    assert stages == ["Negociación", "Gestión", "BOGOTÃ\x81"]


def test_latin1_file_declared_utf8_is_read_as_latin1_with_a_note(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1, "Negociación"), "latin-1")
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path, encoding="utf-8")
    assert outcome["encoding"] == "latin-1"
    assert "Opportunity.csv" in outcome["note"] and "not valid UTF-8" in outcome["note"]
    assert con.execute("select StageName from raw.opportunity").fetchone()[0] == "Negociación"


def test_a_new_utf8_file_is_read_once_and_still_fingerprinted(con, tmp_path, monkeypatch):
    path = write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2))

    def no_scan(*args, **kwargs):
        raise AssertionError("a new UTF-8 file was read twice")

    with monkeypatch.context() as patch:
        patch.setattr(extract, "scan_file", no_scan)
        outcome = load(con, tmp_path / "e1", "Opportunity", tmp_path)
    assert outcome["rows_loaded"] == 2 and outcome["encoding"] == "utf-8"
    assert outcome["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    # Same size as a load before: read first, and found to be that load.
    write(tmp_path / "e2" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2))
    assert load(con, tmp_path / "e2", "Opportunity", tmp_path)["status"] == "already loaded"


def test_latin1_past_the_utf8_probe_is_loaded_again_as_latin1_and_nothing_twice(con, tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "UTF8_PROBE", len(OPP_HEADER) + 50)
    rows = [opp_row(i) for i in range(1, 6)] + [opp_row(6, "Negociación")]
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + "".join(rows), "latin-1")
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert outcome["encoding"] == "latin-1" and outcome["rows_loaded"] == 6 and outcome["rows_rejected"] == 0
    assert con.execute("select count(*), count(distinct _loaded_at) from raw.opportunity").fetchone() == (6, 1)
    assert con.execute("select StageName from raw.opportunity where _row_number = 6").fetchone()[0] == "Negociación"
    assert con.execute("select count(*) from audit.rejected_lines").fetchone()[0] == 0
    # The object's next export is scanned before it is loaded: its encoding was Latin-1 last time.
    scans = []
    monkeypatch.setattr(extract, "scan_file", lambda *a, **k: scans.append(a[0]) or scan_file(*a, **k))
    write(tmp_path / "e2" / "Opportunity.csv", OPP_HEADER + "".join(rows) + opp_row(7), "latin-1")
    assert load(con, tmp_path / "e2", "Opportunity", tmp_path)["rows_loaded"] == 1
    assert len(scans) == 1


def test_utf8_bom_crlf_and_quoted_newlines(con, tmp_path):
    text = "\ufeff" + (OPP_HEADER + opp_row(1) + opp_row(2)).replace("\n", "\r\n")
    text = text.replace('"Deal 2"', '"Deal\r\nwith ""quotes"", commas"')
    write(tmp_path / "e" / "Opportunity.csv", text)
    assert scan_file(tmp_path / "e" / "Opportunity.csv").encoding == "utf-8"
    load(con, tmp_path / "e", "Opportunity", tmp_path)
    names = [r[0] for r in con.execute("select Name from raw.opportunity order by _row_number").fetchall()]
    assert names == ["Deal 1", 'Deal\r\nwith "quotes", commas']
    assert con.execute("select Id from raw.opportunity where _row_number = 1").fetchone()[0] == f"006{1:015d}"


def test_missing_required_column_names_file_and_column(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER.replace('"StageName",', "") + '"006000000000000001",' * 0)
    with pytest.raises(ExportError, match=r"Opportunity\.csv: required column\(s\) StageName missing"):
        load(con, tmp_path / "e", "Opportunity", tmp_path)


def test_missing_optional_column_and_unknown_column_are_reported_and_kept(con, tmp_path):
    header = OPP_HEADER.replace('"Amount",', "").rstrip("\n") + ',"Region__c"\n'
    row = opp_row(1).replace('"100",', "").rstrip("\n") + ',"EMEA"\n'
    write(tmp_path / "e" / "Opportunity.csv", header + row)
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert "Amount" in outcome["missing_optional_columns"]
    assert outcome["extra_columns"] == ["Region__c"]
    assert con.execute("select Amount, Region__c from raw.opportunity").fetchone() == (None, "EMEA")


def test_missing_optional_object_is_absent_not_an_error(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1))
    assert load(con, tmp_path / "e", "Task", tmp_path)["status"] == "absent"
    assert con.execute("select count(*) from raw.task").fetchone()[0] == 0


def test_missing_opportunity_file_is_an_error(con, tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(ExportError, match="Opportunity.csv: required object Opportunity is missing"):
        load(con, tmp_path / "e", "Opportunity", tmp_path)


def test_unparseable_lines_are_quarantined_with_line_numbers(con, tmp_path):
    text = OPP_HEADER + opp_row(1) + '"006000000000000002","0"\n' + opp_row(3) + '"006000000000000004","0","00'
    write(tmp_path / "e" / "Opportunity.csv", text)
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert outcome["rows_loaded"] == 2 and outcome["rows_rejected"] == 2
    rejected = con.execute("select line, source_file from audit.rejected_lines order by line").fetchall()
    assert rejected == [(3, "Opportunity.csv"), (5, "Opportunity.csv")]
    assert "line 3" in outcome["note"]


def test_repeated_header_is_quarantined_not_loaded(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1) + OPP_HEADER + opp_row(2))
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert outcome["rows_loaded"] == 2 and outcome["rows_rejected"] == 1
    assert con.execute("select count(*) from raw.opportunity where Id = 'Id'").fetchone()[0] == 0
    assert con.execute("select error_type from audit.rejected_lines").fetchone()[0] == "REPEATED HEADER"


def test_zip_with_nested_folder_loads(con, tmp_path):
    archive = tmp_path / "WE_00D_1.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("export/2024/Opportunity.csv", OPP_HEADER + opp_row(1))
    export_dir = resolve_export(archive, tmp_path / "scratch")
    load(con, export_dir, "Opportunity", tmp_path)
    assert con.execute("select _source_file from raw.opportunity").fetchone()[0] == "export/2024/Opportunity.csv"


@pytest.mark.parametrize("entry", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv"])
def test_zip_entry_escaping_the_folder_is_refused(tmp_path, entry):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Opportunity.csv", OPP_HEADER)
        z.writestr(entry, "x")
    with pytest.raises(ExportError, match="bad.zip: entry .* points outside the export"):
        resolve_export(archive, tmp_path / "scratch")
    assert not (tmp_path / "evil.csv").exists()


def test_empty_file_of_optional_object_loads_nothing_with_a_note(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1))
    write(tmp_path / "e" / "Task.csv", "")
    outcome = load(con, tmp_path / "e", "Task", tmp_path)
    assert outcome["status"] == "empty file" and "Task.csv is empty" in outcome["note"]


RICH_HEADER = OPP_HEADER.rstrip("\n") + ',"Description","NextStep","Note__c"\n'
# Rich text fields hold up to 131,072 characters; a record may carry several (here ~0.46 MB of UTF-8).
FULL_RICH_TEXT = ("Señal " * 21846)[:131072]


def rich_row(i: int, text: str = "") -> str:
    """An opportunity row under RICH_HEADER, its three rich text fields holding `text`."""
    return opp_row(i).rstrip("\n") + "".join(f',"{text}"' for _ in range(3)) + "\n"


def test_a_record_with_several_full_rich_text_fields_loads(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", RICH_HEADER + rich_row(1, FULL_RICH_TEXT) + rich_row(2))
    assert load(con, tmp_path / "e", "Opportunity", tmp_path)["rows_loaded"] == 2
    assert con.execute("select length(Description) from raw.opportunity where _row_number = 1").fetchone()[0] == 131072


def test_a_long_record_across_the_csv_reader_buffers_loads(con, tmp_path):
    # The reader's buffers are CSV_BUFFER_SIZE, smaller than its default: a ~0.46 MB record placed
    # across the first buffer boundary must still load whole, numbered in file order.
    from pipeline.extract import CSV_BUFFER_SIZE

    rows = [RICH_HEADER]
    size = len(RICH_HEADER)
    while size < CSV_BUFFER_SIZE - 200_000:  # ASCII rows up to just before the boundary
        rows.append(rich_row(len(rows)))
        size += len(rows[-1])
    before, n = "".join(rows), len(rows)
    long_row = rich_row(n, FULL_RICH_TEXT)
    after = "".join(rich_row(i) for i in range(n + 1, n + 2001))
    write(tmp_path / "e" / "Opportunity.csv", before + long_row + after)
    assert size < CSV_BUFFER_SIZE < size + len(long_row.encode())   # the record spans the boundary
    assert load(con, tmp_path / "e", "Opportunity", tmp_path)["rows_loaded"] == n + 2000
    assert con.execute("select Id, length(Description) from raw.opportunity where _row_number = ?",
                       [n]).fetchone() == (f"006{n:015d}", 131072)
    assert con.execute("select count(*) from audit.rejected_lines").fetchone()[0] == 0


def test_rows_are_numbered_in_file_order_when_read_in_parallel(tmp_path):
    # Enough rows for several CSV buffers and row groups, so both threads read (with a million rows,
    # preserve_insertion_order = false misnumbers every row). The first load appends every row; the
    # second skips unchanged rows, and its changed rows keep their own positions in the file.
    con = duckdb.connect(config={"threads": 2, "preserve_insertion_order": True})
    for schema in ("raw", "audit"):
        con.execute(f"create schema {schema}")
    con.execute(MACROS)
    rows, changed = 1_000_000, (1, 400_000, 777_777)
    write(tmp_path / "e1" / "Opportunity.csv", OPP_HEADER + "".join(opp_row(i) for i in range(1, rows + 1)))
    load(con, tmp_path / "e1", "Opportunity", tmp_path)
    misnumbered = con.execute(
        "select count(*) from raw.opportunity where _row_number != cast(substr(Id, 4) as bigint)").fetchone()[0]
    assert misnumbered == 0
    assert con.execute("select count(distinct _row_number), max(_row_number) from raw.opportunity").fetchone() == (rows, rows)
    write(tmp_path / "e2" / "Opportunity.csv", OPP_HEADER + "".join(
        opp_row(i, "Closed Won" if i in changed else "Prospecting") for i in range(1, rows + 1)))
    assert load(con, tmp_path / "e2", "Opportunity", tmp_path)["rows_loaded"] == len(changed)
    assert con.execute("select _row_number, StageName from raw.opportunity where _export_id = 'e2' order by 1").fetchall() == [
        (i, "Closed Won") for i in changed]


def test_rows_appended_apart_are_still_numbered_in_their_order(con):
    first, second = datetime(2024, 1, 1), datetime(2024, 2, 29)
    con.execute("create table raw.t (x int, _row_number bigint, _loaded_at timestamp)")
    con.execute("insert into raw.t values (1, null, ?), (2, null, ?), (3, null, ?), (4, null, ?), (5, null, ?)",
                [first, second, first, second, first])
    _number_by_position(con, "raw.t", first)
    _number_by_position(con, "raw.t", second)
    assert con.execute("select x, _row_number from raw.t order by x").fetchall() == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)]
