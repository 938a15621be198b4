"""What `pipeline run` prints: the preflight (before Dagster starts), the dialect guess,
one progress line per step, and one line per problem when a run fails."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline import cli
from pipeline.run_report import (
    CONNECTOR, DATA_EXPORT, DATA_LOADER, EMPTY, EXCEL, HEADER_ONLY, PLAIN, UNKNOWN, Progress, check_problem,
    count_rows, format_preflight, guess_dialect, preflight, step_label,
)

ROOT = Path(__file__).resolve().parents[1]
OPP = '"Id","IsDeleted","Name","CloseDate","IsWon","SystemModstamp"\n'


def q(*values) -> str:
    return ",".join(f'"{v}"' for v in values) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the dialect guess ----------------------------------------------------------------------


def test_data_export():
    head = OPP + q("006000000000001AAA", "0", "Deal", "2024-05-31 00:00:00", "1", "2024-06-30 12:00:00")
    assert guess_dialect(head) == DATA_EXPORT


def test_data_export_without_dates_is_known_by_its_quotes():
    assert guess_dialect('"Id","Name"\n"00E000000000001AAA","Sales"\n') == DATA_EXPORT
    assert guess_dialect("Id,Name\n00E000000000001AAA,Sales\n") == UNKNOWN


def test_data_loader_iso_timestamps_offsets_and_true_false():
    head = "\ufeff" + OPP.replace("\n", "\r\n") + q(
        "006000000000001AAA", "false", "Deal", "2024-05-31", "true", "2024-01-22T16:14:25.000+0000").replace("\n", "\r\n")
    assert guess_dialect(head) == DATA_LOADER
    assert guess_dialect(OPP + q("006000000000001AAA", "", "Deal", "2024-05-31", "", "2024-01-22T18:14:25.000+02:00")) \
        == DATA_LOADER


def test_excel_resave_slashed_dates_and_upper_case_booleans():
    assert guess_dialect("Id,IsDeleted,Name,CloseDate,IsWon,SystemModstamp\r\n"
                         "006000000000001AAA,FALSE,Deal,05/31/24,TRUE,06/30/2024 4:14 PM\r\n") == EXCEL
    assert guess_dialect("Id,CloseDate,SystemModstamp\n006000000000001AAA,31/05/24,30/06/2024 16:14\n") == EXCEL


def test_connector_snake_case_and_bookkeeping_columns():
    assert guess_dialect("id,is_deleted,stage_name,close_date,_fivetran_synced,_fivetran_deleted\n"
                         "006000000000001AAA,false,Prospecting,2024-05-31,2025-06-30T18:03:11.412Z,false\n") == CONNECTOR
    assert guess_dialect("id,stage_name,owner_id\n") == CONNECTOR  # the header alone says so
    assert guess_dialect('"Id","StageName","_fivetran_synced"\n') == CONNECTOR


def test_header_only_empty_and_plain_files():
    assert guess_dialect(OPP) == HEADER_ONLY
    assert guess_dialect("") == EMPTY
    hr = "employee_id,user_id,email,hire_date,termination_date\nE1,005000000000001AAA,a@b.c,2016-03-01,\n"
    assert guess_dialect(hr, plain=True) == PLAIN
    assert guess_dialect(hr.replace("2016-03-01", "03/01/2016"), plain=True) == EXCEL


def test_rows_count_records_not_lines():
    data = (OPP + q("1", "0", "Deal\nsecond line\n", "2024-05-31 00:00:00", "0", "x")
            + q("2", "0", 'say ""hi""', "2024-05-31 00:00:00", "0", "x")).encode()
    assert count_rows(data) == 2
    assert count_rows(data.rstrip(b"\n")) == 2
    assert count_rows(b"Id,Name\n1,a\n2,b") == 2
    assert count_rows(b"") == 0


# --- preflight: no Dagster ------------------------------------------------------------------


@pytest.fixture
def no_run(monkeypatch):
    """The preflight must stop the command before the job would start."""
    def refuse(*args, **kwargs):
        raise AssertionError("run_job called")
    monkeypatch.setattr(cli, "run_job", refuse)


def test_missing_path_exits_2_without_importing_dagster(tmp_path):
    missing = tmp_path / "no_such_export"
    code = ("import sys; from pipeline.cli import main; rc = main(['run', sys.argv[1]]); "
            "print('dagster imported' if 'dagster' in sys.modules else 'no dagster'); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(missing)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [f"export not found: {missing} does not exist. Pass the folder or the .zip of a Salesforce "
                     "Data Export (pipeline run /path/to/WE_00D...zip).", "no dagster"]


def test_folder_without_opportunity(tmp_path, capsys, no_run):
    write(tmp_path / "e" / "User.csv", '"Id","Name"\n' + q("005000000000001AAA", "Ann"))
    assert cli.main(["run", str(tmp_path / "e")]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"no Opportunity.csv in {tmp_path / 'e'} (looked in every folder; it holds User.csv): "
                             "Opportunity is required.")


def test_not_a_folder_nor_a_zip(tmp_path, capsys, no_run):
    write(tmp_path / "Opportunity.csv", OPP)
    assert cli.main(["run", str(tmp_path / "Opportunity.csv")]) == 2
    assert "is neither a folder nor a .zip" in capsys.readouterr().out


def test_zip_is_listed_not_extracted(tmp_path):
    archive = tmp_path / "WE_00D_1.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("WE_00D_1/export/opportunity.CSV",
                   OPP + q("006000000000001AAA", "0", "Deal\nmore", "2024-05-31 00:00:00", "1", "2024-06-30 12:00:00")
                   + q("006000000000002AAA", "0", "Deal 2", "2024-05-31 00:00:00", "0", "2024-06-30 12:00:00"))
        z.writestr("WE_00D_1/export/User.csv", "id,name,_fivetran_synced\n005000000000001AAA,Ann,2025-06-30T18:03:11Z\n")
        z.writestr("WE_00D_1/export/readme.txt", "not an object")
    pf = preflight(archive)
    assert pf.ok and pf.kind == "zip" and pf.other_files == 1
    assert [(f.object, f.path, f.rows, f.estimated, f.dialect) for f in pf.files] == [
        ("Opportunity", "WE_00D_1/export/opportunity.CSV", 2, False, DATA_EXPORT),
        ("User", "WE_00D_1/export/User.csv", 1, False, CONNECTOR)]
    assert "Account" in pf.absent and "Opportunity" not in pf.absent
    assert list(tmp_path.iterdir()) == [archive]  # nothing extracted
    lines = format_preflight(pf)
    assert lines[0].startswith(f"export: {archive} (zip): 2 object files, ")
    assert re.fullmatch(r"  WE_00D_1/export/opportunity\.CSV +\d+ B +2 rows  Data Export", lines[1])


def test_folder_of_header_only_files(tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP)
    write(tmp_path / "e" / "nested" / "Lead.csv", '"Id","Status"\n')
    write(tmp_path / "e" / "Task.csv", "")
    pf = preflight(tmp_path / "e")
    assert pf.ok
    assert [(f.object, f.path, f.rows, f.dialect) for f in pf.files] == [
        ("Lead", "nested/Lead.csv", 0, HEADER_ONLY), ("Opportunity", "Opportunity.csv", 0, HEADER_ONLY),
        ("Task", "Task.csv", 0, EMPTY)]
    assert pf.dialect == UNKNOWN
    lines = format_preflight(pf)
    assert re.fullmatch(r"  Opportunity\.csv +\d+ B +0 rows  header only", lines[2])
    assert lines[-1].startswith("  not in the export (optional): Account, Contact,")


def test_a_large_file_is_estimated_not_read(tmp_path, monkeypatch):
    from pipeline import run_report

    rows = "".join(q(f"006{i:015d}", "0", f"Deal {i}", "2024-05-31 00:00:00", "0", "2024-06-30 12:00:00")
                   for i in range(5000))
    write(tmp_path / "e" / "Opportunity.csv", OPP + rows)
    monkeypatch.setattr(run_report, "COUNT_LIMIT", 100_000)
    monkeypatch.setattr(run_report, "HEAD_BYTES", 20_000)
    (f,) = preflight(tmp_path / "e").files
    assert f.estimated and 4500 <= f.rows <= 5500
    assert "~" in format_preflight(preflight(tmp_path / "e"))[1]


def test_two_files_for_one_object_are_flagged(tmp_path):
    write(tmp_path / "e" / "a" / "Opportunity.csv", OPP)
    write(tmp_path / "e" / "b" / "Opportunity.csv", OPP)
    pf = preflight(tmp_path / "e")
    assert pf.several == {"Opportunity": ["a/Opportunity.csv", "b/Opportunity.csv"]}
    assert any(line.startswith("  ! Opportunity: 2 files") for line in format_preflight(pf))


# --- progress and problem lines -------------------------------------------------------------


def test_progress_lines():
    assert step_label("staging__stg_opportunity") == ("staging", "stg_opportunity")
    assert step_label("check_staging_stg_opportunity") == ("checks", "staging.stg_opportunity")
    assert step_label("publish__warehouse") == ("publish", "warehouse")
    lines = []
    progress = Progress(138, lines.append)
    progress.on_event("STEP_START", "raw__opportunity")
    progress.on_event("STEP_SUCCESS", "raw__account")
    progress.on_event("STEP_FAILURE", "raw__opportunity")
    progress.on_event("ASSET_MATERIALIZATION", "raw__account")
    assert [re.sub(r" +", " ", line) for line in lines] == [
        "[ 1/138 ] raw account 0:00", "[ 2/138 ] raw opportunity 0:00 FAILED"]


def _check(metadata: dict, severity="ERROR", passed=False):
    description = ("2 of 7 rows fail (006000000000000003, 006000000000000004). The amount is negative. "
                   "Correct Amount on the opportunity.")
    return SimpleNamespace(asset_key=SimpleNamespace(path=["staging", "stg_opportunity"]), check_name="amount_between",
                           severity=SimpleNamespace(value=severity), passed=passed, description=description,
                           metadata={"failing_rows": 2, "rows_checked": 7, "severity": severity.lower(),
                                     "sample_ids": "006000000000000003, 006000000000000004",
                                     "rule": "Opportunity.Amount between 0..+inf", **metadata})


def test_a_failed_check_is_one_line():
    problem = check_problem(_check({"sample_values": "006000000000000003: Amount = -250\n006000000000000004: Amount = -1",
                                    "blocking": True}), {"opportunity": "export/Opportunity.csv"})
    assert problem.blocking
    assert problem.line == (
        "export/Opportunity.csv: Opportunity.Amount between 0..+inf: 2 of 7 rows fail "
        "(ids: 006000000000000003, 006000000000000004); e.g. 006000000000000003: Amount = -250. "
        "The amount is negative. Correct Amount on the opportunity.")


def test_a_failed_check_without_the_new_metadata():
    problem = check_problem(_check({}, severity="WARN"), {})
    assert not problem.blocking
    assert problem.line == ("Opportunity.csv: Opportunity.Amount between 0..+inf: 2 of 7 rows fail "
                            "(ids: 006000000000000003, 006000000000000004). The amount is negative. "
                            "Correct Amount on the opportunity.")
    assert not check_problem(_check({"blocking": False}), {}).blocking


# --- end to end: a failing run --------------------------------------------------------------


def test_run_that_fails_prints_the_problem_and_keeps_the_warehouse(home, capsys):
    from tests.test_bad_input_corpus import small_export

    export = small_export(home / "bad")
    path = export / "Opportunity.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    names = header.strip().split(",")
    drop = names.index('"CloseDate"')
    cut = lambda line: ",".join(v for i, v in enumerate(line.rstrip("\n").split(",")) if i != drop) + "\n"  # noqa: E731
    path.write_text("".join(cut(line) for line in [header, *rows]), encoding="utf-8")

    assert cli.main(["run", str(export)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    kept = [n.strip('"') for i, n in enumerate(names) if i != drop]
    assert f"  Opportunity.csv: required column(s) CloseDate missing for Opportunity (header has {len(kept)} " \
           f"columns: {', '.join(kept[:12])}{', ...' if len(kept) > 12 else ''})" in lines
    assert "warehouse NOT updated: no warehouse has been published yet" in lines
    assert "Traceback" not in out and "Stack Trace" not in out
    assert re.search(r"^export: .*bad \(folder\): 5 object files, .*dialect: Data Export$", out, re.M)
    assert re.search(r"^\[ +\d+/\d+ \] raw +opportunity +\d+:\d\d  FAILED$", out, re.M)
    assert len([line for line in lines if line.startswith("[")]) > 10
    assert re.search(r"^FAILED after \d+:\d\d \(run \w+\): \d+ of \d+ steps ran", out, re.M)


def test_warehouse_line(tmp_path):
    import os
    import time

    from pipeline.run_report import published_line

    assert published_line(tmp_path / "w.duckdb") == "warehouse NOT updated: no warehouse has been published yet"
    write(tmp_path / "w.duckdb", "x")
    stamp = time.mktime((2025, 6, 30, 18, 5, 0, 0, 0, -1))
    os.utime(tmp_path / "w.duckdb", (stamp, stamp))
    assert published_line(tmp_path / "w.duckdb") == \
        "warehouse NOT updated: the one published at 2025-06-30 18:05 is still in place"


def _step_failure(step_key, message, cls_name, description=None):
    error = SimpleNamespace(message=message, cls_name=cls_name, cause=None,
                            to_string=lambda: f"{message}\nStack Trace:\n  File \"x.py\", line 1, in f\n")
    data = SimpleNamespace(error=error, user_failure_data=SimpleNamespace(description=description) if description else None)
    return SimpleNamespace(event_type_value="STEP_FAILURE", step_key=step_key, event_specific_data=data)


def test_step_failures_without_stack_traces_unless_verbose(tmp_path):
    from pipeline.run_report import failure_report

    result = SimpleNamespace(success=False, run_id="0123456789abcdef", all_events=[
        _step_failure("raw__opportunity", "dagster._core.definitions.events.Failure: ...", "Failure",
                      "Opportunity.csv: required column(s) CloseDate missing for Opportunity"),
        _step_failure("check_raw_user", "2 blocking asset checks failed", "DagsterAssetCheckFailedError"),
        _step_failure("staging__stg_lead", "Binder Error: Referenced column x not found\n\nLINE 13: ...", "BinderException"),
    ])
    lines = failure_report(result, tmp_path / "w.duckdb")
    assert lines[:4] == [
        "FAILED (run 01234567): 3 of 3 steps ran; the steps that depend on a failure did not run",
        "2 problems stopped the run:",
        "  Opportunity.csv: required column(s) CloseDate missing for Opportunity",
        "  step staging/stg_lead failed: Binder Error: Referenced column x not found"]
    assert "(run again with --verbose for the stack traces)" in lines
    assert not any("Stack Trace" in line for line in lines)
    assert lines[-1] == "warehouse NOT updated: no warehouse has been published yet"
    verbose = failure_report(result, tmp_path / "w.duckdb", verbose=True)
    assert "      Stack Trace:" in verbose and "(run again with --verbose for the stack traces)" not in verbose
