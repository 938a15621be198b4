"""pipeline.archive: which zip entries are extracted, which zips are refused, and a crash never
leaving a half-extracted folder to be reused. Every zip is made here, small."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipeline import archive as archive_mod
from pipeline.archive import (
    MANIFEST, copy_limited, resolve_export, safe_extract, skipped_entries, summarize_skipped,
)
from pipeline.extract import ExportError

OPP = '"Id","Name"\n"006000000000000001","Deal"\n'


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    monkeypatch.delenv("SF_ZIP_MAX_BYTES", raising=False)
    monkeypatch.delenv("SF_ZIP_MAX_RATIO", raising=False)


def make_zip(path: Path, entries: dict[str, str | bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def patch_central(path: Path, entry: str, offset: int, value: bytes) -> None:
    """Overwrites a field of the entry's central directory record (the header zipfile trusts)."""
    data = bytearray(path.read_bytes())
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_len].decode() == entry:
            break
        at += 4
    data[at + offset:at + offset + len(value)] = value
    path.write_bytes(bytes(data))


# --- 1. only the export's files are extracted ----------------------------------------------


def test_only_export_files_are_extracted_the_rest_skipped_and_listed(tmp_path):
    zp = make_zip(tmp_path / "WE_00D_1.zip", {
        "WE_00D_1/Opportunity.csv": OPP,
        "WE_00D_1/HR_Employees.CSV": "Id\n1\n",  # an optional plain file, case-insensitive
        "WE_00D_1/kpi_targets.csv": "Id\n1\n",
        "WE_00D_1/Attachments/00P000000000001.pdf": b"%PDF-1.4",
        "WE_00D_1/Attachments/00P000000000002.pdf": b"%PDF-1.4",
        "WE_00D_1/Documents/015000000000001.docx": b"PK",
        "WE_00D_1/Campaign.csv": "Id\n",  # an object with no contract
        "WE_00D_1/.DS_Store": b"\x00",
        "__MACOSX/WE_00D_1/._Opportunity.csv": b"\x00",
        "__MACOSX/WE_00D_1/Opportunity.csv": b"\x00",  # never an export file, whatever its name
    })
    folder = resolve_export(zp, tmp_path / "scratch")
    assert files_under(folder) == ["WE_00D_1/HR_Employees.CSV", "WE_00D_1/Opportunity.csv", "WE_00D_1/kpi_targets.csv"]
    assert (folder / "WE_00D_1" / "Opportunity.csv").read_text() == OPP
    assert skipped_entries(folder) == [
        "WE_00D_1/Attachments/ (2 entries)", "WE_00D_1/Documents/015000000000001.docx", "WE_00D_1/Campaign.csv",
        "WE_00D_1/.DS_Store", "__MACOSX/ (2 entries)"]
    assert not list(tmp_path.rglob("*.pdf")) and not list(tmp_path.rglob("__MACOSX"))


def test_skipped_list_stays_short():
    names = [f"Attachments/{i}.pdf" for i in range(5000)] + [f"other{i}.txt" for i in range(20)]
    shown = summarize_skipped(names, limit=5)
    assert shown == ["Attachments/ (5000 entries)", "other0.txt", "other1.txt", "other2.txt", "and 17 more"]


def test_a_folder_export_has_nothing_skipped(tmp_path):
    assert skipped_entries(tmp_path) == []


def test_a_zip_without_any_export_file_is_refused(tmp_path):
    zp = make_zip(tmp_path / "photos.zip", {"a.jpg": b"x", "b.jpg": b"y"})
    with pytest.raises(ExportError, match=r"^photos\.zip: no export file in the zip \(Opportunity\.csv, .*\); it holds a\.jpg, b\.jpg$"):
        resolve_export(zp, tmp_path / "scratch")


# --- 2. size and ratio limits -------------------------------------------------------------


def test_ratio_bomb_is_refused_with_the_exact_message(tmp_path):
    zp = make_zip(tmp_path / "WE_00D.zip", {"Opportunity.csv": OPP, "Task.csv": b"0" * (8 << 20)})
    info = zipfile.ZipFile(zp).getinfo("Task.csv")
    ratio = info.file_size / info.compress_size
    assert ratio > 500
    with pytest.raises(ExportError) as e:
        resolve_export(zp, tmp_path / "scratch")
    assert str(e.value) == f"WE_00D.zip: entry Task.csv expands {ratio:.0f}x (limit 100, SF_ZIP_MAX_RATIO); refusing the zip"
    assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").iterdir())


def test_ratio_limit_comes_from_the_environment(tmp_path, monkeypatch):
    zp = make_zip(tmp_path / "WE_00D.zip", {"Opportunity.csv": OPP, "Task.csv": b"0" * (2 << 20)})
    monkeypatch.setenv("SF_ZIP_MAX_RATIO", "5000")
    folder = resolve_export(zp, tmp_path / "scratch")
    assert (folder / "Task.csv").stat().st_size == 2 << 20


def test_overall_ratio_is_refused_even_when_each_entry_is_under_the_floor(tmp_path):
    # each entry expands to exactly 1 MiB (a small, regular file may compress far better than 100x),
    # but together they pass the floor and expand ~1000x
    one_mib = b"0" * (1 << 20)
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": one_mib, "Account.csv": one_mib, "Task.csv": one_mib})
    with pytest.raises(ExportError, match=r"^WE\.zip: the 3 files to extract expand \d+x together \(limit 100, "
                                          r"SF_ZIP_MAX_RATIO; the largest, entry .*, 1\.0 MiB\); refusing the zip$"):
        resolve_export(zp, tmp_path / "scratch")


def test_small_regular_file_is_not_a_bomb(tmp_path):
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP, "OpportunityStage.csv": b"x" * 200_000})
    assert files_under(resolve_export(zp, tmp_path / "scratch")) == ["Opportunity.csv", "OpportunityStage.csv"]


def test_size_limit_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SF_ZIP_MAX_BYTES", "1K")
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP, "Task.csv": os.urandom(2000)}, zipfile.ZIP_STORED)
    with pytest.raises(ExportError) as e:
        resolve_export(zp, tmp_path / "scratch")
    assert str(e.value) == "WE.zip: entry Task.csv expands to 2.0 KiB (limit 1.0 KiB, SF_ZIP_MAX_BYTES); refusing the zip"

    zp = make_zip(tmp_path / "WE2.zip", {"Opportunity.csv": os.urandom(600), "Task.csv": os.urandom(700)}, zipfile.ZIP_STORED)
    with pytest.raises(ExportError) as e:
        resolve_export(zp, tmp_path / "scratch")
    assert str(e.value) == ("WE2.zip: the 2 files to extract total 1.3 KiB (limit 1.0 KiB, SF_ZIP_MAX_BYTES; "
                            "the largest, entry Task.csv, 700 bytes); refusing the zip")
    assert not any((tmp_path / "scratch").iterdir()) if (tmp_path / "scratch").exists() else True


def test_skipped_entries_do_not_count_against_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("SF_ZIP_MAX_BYTES", "1K")
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP, "Attachments/big.pdf": os.urandom(5000)})
    assert files_under(resolve_export(zp, tmp_path / "scratch")) == ["Opportunity.csv"]


def test_a_bad_limit_setting_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SF_ZIP_MAX_RATIO", "lots")
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP})
    with pytest.raises(ExportError, match=r"^SF_ZIP_MAX_RATIO='lots': expected a positive number"):
        resolve_export(zp, tmp_path / "scratch")


def test_streaming_guard_stops_past_the_declared_size():
    dst = io.BytesIO()
    with pytest.raises(ExportError) as e:
        copy_limited(io.BytesIO(b"x" * 3_000_000), dst, zip_name="WE.zip", entry="Task.csv", declared=1000,
                     remaining=10 << 20, max_bytes=10 << 20)
    assert str(e.value) == "WE.zip: entry Task.csv expands past its declared size of 1000 bytes; refusing the zip"
    assert dst.getvalue() == b""  # the chunk that passes is not written


def test_streaming_guard_stops_past_the_size_limit():
    dst = io.BytesIO()
    data = b"x" * (3 << 20)
    with pytest.raises(ExportError) as e:
        copy_limited(io.BytesIO(data), dst, zip_name="WE.zip", entry="Task.csv", declared=len(data),
                     remaining=(2 << 20) + 5, max_bytes=4 << 20)
    assert str(e.value) == "WE.zip: entry Task.csv takes the extracted files past 4.0 MiB (SF_ZIP_MAX_BYTES); refusing the zip"
    assert len(dst.getvalue()) == 2 << 20  # stopped before the chunk that would pass


def test_streaming_guard_copies_what_fits():
    dst = io.BytesIO()
    assert copy_limited(io.BytesIO(b"abc"), dst, zip_name="z", entry="e", declared=3, remaining=3, max_bytes=3) == 3
    assert dst.getvalue() == b"abc"


def test_a_header_lying_about_the_size_is_caught(tmp_path):
    # Task.csv really expands to 8 MiB (~1000x) but its central header says 1000 bytes: the ratio
    # check passes on the header, the read does not. Python's reader stops at the declared size and
    # then finds the CRC wrong; copy_limited (tested above) is the guard behind it.
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP, "Task.csv": b"0" * (8 << 20)})
    patch_central(zp, "Task.csv", 24, (1000).to_bytes(4, "little"))
    assert zipfile.ZipFile(zp).getinfo("Task.csv").file_size == 1000
    with pytest.raises(ExportError, match=r"^WE\.zip: entry Task\.csv is corrupt \(Bad CRC-32 for file 'Task\.csv'\); refusing the zip$"):
        resolve_export(zp, tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").iterdir())


def test_an_encrypted_entry_is_named(tmp_path):
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP})
    patch_central(zp, "Opportunity.csv", 8, b"\x01\x00")
    with pytest.raises(ExportError, match=r"^WE\.zip: entry Opportunity\.csv is encrypted; export without a password"):
        resolve_export(zp, tmp_path / "scratch")


def test_deflate64_is_named(tmp_path):
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP})
    patch_central(zp, "Opportunity.csv", 10, b"\x09\x00")
    with pytest.raises(ExportError, match=r"^WE\.zip: entry Opportunity\.csv uses compression method 9 \(Deflate64"):
        resolve_export(zp, tmp_path / "scratch")


# --- 3. the existing protections --------------------------------------------------------------


@pytest.mark.parametrize("entry", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", "C:evil.csv", "\\evil.csv",
                                   "..\\evil.csv", "../Opportunity.csv"])
def test_entry_escaping_the_folder_refuses_the_zip_even_if_it_would_be_skipped(tmp_path, entry):
    zp = make_zip(tmp_path / "bad.zip", {"Opportunity.csv": OPP, entry: "x"})
    with pytest.raises(ExportError) as e:
        resolve_export(zp, tmp_path / "scratch" / "deep")
    assert str(e.value) == f"bad.zip: entry {entry!r} points outside the export; refusing the zip"
    assert not list(tmp_path.rglob("evil.csv")) and not (tmp_path / "scratch").exists()


def test_two_entries_for_one_object_are_refused_naming_both(tmp_path):
    zp = make_zip(tmp_path / "WE.zip", {"b/Opportunity.csv": OPP, "a/opportunity.CSV": OPP})
    with pytest.raises(ExportError) as e:
        resolve_export(zp, tmp_path / "scratch")
    assert str(e.value) == "WE.zip: Opportunity: several files in the export: a/opportunity.CSV, b/Opportunity.csv; refusing the zip"

    zp = make_zip(tmp_path / "HR.zip", {"Opportunity.csv": OPP, "hr_employees.csv": "Id\n", "HR.csv": "Id\n"})
    with pytest.raises(ExportError, match=r"^HR\.zip: HrEmployee: several files in the export: HR\.csv, hr_employees\.csv; "):
        resolve_export(zp, tmp_path / "scratch")


def test_nested_folder_is_kept_and_the_extraction_reused(tmp_path, monkeypatch):
    zp = make_zip(tmp_path / "WE_00D_1.zip", {"WE_00D_1/export/2024/Opportunity.csv": OPP, "WE_00D_1/": ""})
    folder = resolve_export(zp, tmp_path / "scratch")
    assert folder.parent == tmp_path / "scratch" and re.fullmatch(r"WE_00D_1-[0-9a-f]{12}", folder.name)
    assert files_under(folder) == ["WE_00D_1/export/2024/Opportunity.csv"]

    def fail(*args, **kwargs):
        raise AssertionError("extracted again")

    monkeypatch.setattr(archive_mod, "safe_extract", fail)
    assert resolve_export(zp, tmp_path / "scratch") == folder


# --- 4. a crash never leaves a half-extracted folder to be reused ---------------------------------


def test_a_failure_midway_leaves_no_folder_and_the_next_run_extracts_all(tmp_path, monkeypatch):
    zp = make_zip(tmp_path / "WE.zip", {"Account.csv": "Id\n", "Opportunity.csv": OPP, "Task.csv": "Id\n"})
    scratch = tmp_path / "scratch"
    real, copied = copy_limited, []

    def crash_on_second(src, dst, **kw):
        if copied:
            raise KeyboardInterrupt  # as a kill would, between two files
        copied.append(kw["entry"])
        return real(src, dst, **kw)

    monkeypatch.setattr(archive_mod, "copy_limited", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        resolve_export(zp, scratch)
    assert copied == ["Account.csv"] and list(scratch.iterdir()) == []

    monkeypatch.setattr(archive_mod, "copy_limited", real)
    folder = resolve_export(zp, scratch)
    assert files_under(folder) == ["Account.csv", "Opportunity.csv", "Task.csv"]
    assert list(scratch.iterdir()) == [folder]


def test_a_killed_extraction_is_cleared_and_never_reused(tmp_path):
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP, "Task.csv": "Id\n"})
    scratch = tmp_path / "scratch"
    folder = resolve_export(zp, tmp_path / "probe")  # to learn the folder's name
    name = folder.name
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = socket.gethostname()
    left = scratch / f".{name}.partial-{dead_pid}-0000-{host}"  # what SIGKILL midway leaves
    (left / "Opportunity.csv").parent.mkdir(parents=True)
    (left / "Opportunity.csv").write_text(OPP[:10])
    running = scratch / f".{name}.partial-{os.getpid()}-ffff-{host}"  # another extraction, still running
    elsewhere = scratch / f".{name}.partial-{dead_pid}-eeee-other-host"  # another container's, maybe running
    old = scratch / f".{name}.partial-{dead_pid}-dddd-other-host"  # another container's, untouched for days
    for p in (running, elsewhere, old):
        p.mkdir()
    os.utime(old, (0, 0))

    target = resolve_export(zp, scratch)
    assert target == scratch / name and files_under(target) == ["Opportunity.csv", "Task.csv"]
    assert (target / "Opportunity.csv").read_text() == OPP
    assert not left.exists() and not old.exists() and running.exists() and elsewhere.exists()


def test_another_process_extracting_first_wins(tmp_path, monkeypatch):
    zp = make_zip(tmp_path / "WE.zip", {"Opportunity.csv": OPP})
    target = tmp_path / "scratch" / "WE-x"
    real = copy_limited

    def other_process_finishes_first(src, dst, **kw):
        (target / "Opportunity.csv").parent.mkdir(parents=True)
        (target / "Opportunity.csv").write_text("theirs")
        return real(src, dst, **kw)

    monkeypatch.setattr(archive_mod, "copy_limited", other_process_finishes_first)
    assert safe_extract(zp, target) == target
    assert (target / "Opportunity.csv").read_text() == "theirs"
    assert [p.name for p in target.parent.iterdir()] == ["WE-x"]


# --- 5. a path that is not an export -----------------------------------------------------------


def test_an_object_file_is_not_an_export(tmp_path):
    (tmp_path / "WE" / "Opportunity.csv").parent.mkdir()
    (tmp_path / "WE" / "Opportunity.csv").write_text(OPP)
    with pytest.raises(ExportError) as e:
        resolve_export(tmp_path / "WE" / "Opportunity.csv", tmp_path / "scratch")
    assert str(e.value) == (f"{tmp_path / 'WE' / 'Opportunity.csv'}: one object's file (Opportunity), not an export: "
                            f"point at the folder that holds it ({tmp_path / 'WE'}) or at the export's .zip")


@pytest.mark.parametrize("name, content, message", [
    ("report.csv", b"a,b\n", r"report\.csv: a CSV file, not an export: point at the folder"),
    ("WE.xlsx", None, r"WE\.xlsx: a \.xlsx document, not an export: an export is the folder \(or \.zip\) of CSV files"),
    ("WE.tar.gz", "tar", r"WE\.tar\.gz: a \.tar\.gz archive; only \.zip exports are read: unpack it and point at the folder"),
    ("WE.zip", b"PK\x03\x04 cut short", r"WE\.zip: not a readable zip \(truncated or corrupt\?\)"),
    ("WE.dat", b"x", r"WE\.dat: neither a folder nor a \.zip export"),
])
def test_a_path_that_is_not_an_export(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:  # a workbook is a zip inside: still not an export
        make_zip(path, {"[Content_Types].xml": "<x/>", "xl/workbook.xml": "<x/>"})
    elif content == "tar":
        src = tmp_path / "Opportunity.csv"
        src.write_text(OPP)
        with tarfile.open(path, "w:gz") as t:
            t.add(src, "Opportunity.csv")
    else:
        path.write_bytes(content)
    with pytest.raises(ExportError, match="^" + re.escape(str(tmp_path)) + "/" + message):
        resolve_export(path, tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()


def test_a_missing_path(tmp_path):
    with pytest.raises(ExportError, match=r"^export not found: .*nowhere\.zip$"):
        resolve_export(tmp_path / "nowhere.zip", tmp_path / "scratch")

