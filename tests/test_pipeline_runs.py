"""Whole-pipeline runs with real Dagster, a real DuckDB file and publish semantics."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.cli import failure_text
from tests.conftest import csv_rows


def run_nightly(export: Path, **resource_config) -> dg.ExecuteInProcessResult:
    from pipeline.definitions import defs

    config = {"resources": {"export": {"config": {"path": str(export)}}}}
    for name, values in resource_config.items():
        config["resources"][name] = {"config": values}
    # An in-memory instance: these tests are about the warehouse, not Dagster's run storage.
    return defs.resolve_job_def("nightly").execute_in_process(
        run_config=config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def published(home: Path) -> Path:
    return home / "warehouse" / "warehouse.duckdb"


def work_copies(home: Path) -> list[Path]:
    return [p for p in (home / "warehouse" / ".work").glob("*.duckdb") if p.name != "standby.duckdb"]


def test_fixture_export_lands_in_raw_and_publishes(home, fixture_export):
    result = run_nightly(fixture_export)
    assert result.success
    with duckdb.connect(str(published(home)), read_only=True) as con:
        for name, table in [("Opportunity", "opportunity"), ("OpportunityHistory", "opportunity_history"),
                            ("Lead", "lead"), ("Account", "account"), ("Contact", "contact")]:
            assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == csv_rows(
                fixture_export / f"{name}.csv"), table
        # The file is written in the v1 storage format that DuckDB 1.x clients read.
        tags = con.execute("select tags from duckdb_databases() where database_name = 'warehouse'").fetchone()[0]
        assert tags["storage_version"].startswith("v1.")
    assert work_copies(home) == [], "work copy left behind"
    assert (home / "warehouse" / ".work" / "standby.duckdb").exists(), "a first build leaves a standby"


def test_a_failed_run_leaves_the_published_warehouse_untouched(home, fixture_export, tmp_path):
    assert run_nightly(fixture_export).success
    before = published(home).read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(fixture_export, broken)
    header, *rows = (broken / "Opportunity.csv").read_text().splitlines(keepends=True)
    (broken / "Opportunity.csv").write_text(header.replace('"StageName",', '"Stage",') + "".join(rows))
    result = run_nightly(broken)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "Opportunity.csv: required column(s) StageName missing" in failure_text(failure)
    assert published(home).read_bytes() == before
    assert work_copies(home) == [], "failed run's work copy left behind"


def test_reader_holding_the_published_file_does_not_block_a_run(home, fixture_export):
    assert run_nightly(fixture_export).success
    # A separate process holds the published file open read-only for the whole run.
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('select count(*) from raw.opportunity').fetchone()[0], flush=True); time.sleep(60)",
         str(published(home))], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "31"
        result = run_nightly(fixture_export)
        assert result.success
        assert work_copy(result).startswith("standby caught up")  # the copy the first build left
        # The file the reader holds is now the standby: DuckDB's lock keeps the next run off it.
        result = run_nightly(fixture_export)
        assert result.success
        assert work_copy(result).startswith("copied: the standby could not be used")
    finally:
        reader.kill()
        reader.wait()
    with duckdb.connect(str(published(home)), read_only=True) as con:
        assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == 31  # idempotent reload


def work_copy(result) -> str:
    return materialization_metadata(result, "publish/warehouse")["work_copy"].value


def test_a_second_concurrent_build_is_refused_clearly(home, fixture_export):
    from pipeline.warehouse import Warehouse

    first = Warehouse(path=str(published(home)))
    first._run_id = "run-a"
    first.connect()
    second = Warehouse(path=str(published(home)))
    second._run_id = "run-b"
    try:
        with pytest.raises(RuntimeError, match="another run is building"):
            second.connect()
    finally:
        first.teardown_after_execution(None)


KPIS = ["annual_contract_value", "customer_lifetime_value", "new_leads", "lead_age", "conversion_rate",
        "employee_retention", "ramp_time", "referrals", "customer_retention"]


def materialization_metadata(result, key: str) -> dict:
    return result.asset_materializations_for_node(key.replace("/", "__"))[-1].metadata


def test_generated_latin1_export_round_trips_and_builds_all_nine_kpis(home, tmp_path):
    from pipeline.contracts import load_contracts
    from pipeline.demo_export import generate_export
    from pipeline.extract import find_object_file

    export = tmp_path / "WE_tiny"
    counts = generate_export(export, scale="tiny", seed=7, encoding="latin-1")
    result = run_nightly(export)
    assert result.success
    with duckdb.connect(str(published(home)), read_only=True) as con:
        for contract in load_contracts().values():
            path = find_object_file(export, contract)
            assert path is not None, contract.object
            rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
            assert rows == csv_rows(path, "latin-1") == counts[contract.object], contract.object
        # Files with accented text are detected as Latin-1 (pure-ASCII ones read the same either way) ...
        assert con.execute("select encoding from raw._loads where object = 'Account'").fetchone()[0] == "latin-1"
        # ... and the text survives, C1 bytes of mis-encoded sources included.
        accented = con.execute("select count(*) from raw.account where concat(Name, BillingCity) similar to '.*[áéíóúñü].*'")
        assert accented.fetchone()[0] > 0
        assert con.execute("select count(*) from raw.task where Description like '%' || chr(129) || '%'").fetchone()[0] > 0
        assert con.execute("select count(*) from audit.rejected_lines").fetchone()[0] == 0
        for kpi in KPIS:  # every KPI has company rows; the demo export holds everything they need
            assert con.execute(f"select count(*) from kpi.{kpi} where scope = 'company'").fetchone()[0] > 0, kpi
        assert con.execute("select count(distinct kpi) from marts.kpi_scorecard").fetchone()[0] == 9
    assert (home / "warehouse" / "dashboards" / "index.html").exists()
    headline = materialization_metadata(result, "kpi/new_leads")["value"].value
    assert headline >= 0


def test_fixture_export_computes_what_it_can_and_says_why_the_rest_is_empty(home, fixture_export):
    result = run_nightly(fixture_export)
    assert result.success
    with duckdb.connect(str(published(home)), read_only=True) as con:
        for kpi in ["new_leads", "lead_age", "conversion_rate", "referrals", "annual_contract_value"]:
            assert con.execute(f"select count(*) from kpi.{kpi}").fetchone()[0] > 0, kpi
        # No User file, no HR file, no Task: no hire dates, so these two have no rows ...
        for kpi in ["employee_retention", "ramp_time"]:
            assert con.execute(f"select count(*) from kpi.{kpi}").fetchone()[0] == 0, kpi
        # ... ACV falls back to won opportunities as one-year contracts (the fixture's Contract.csv is empty)
        assert con.execute("select distinct source from core.fct_contract").fetchall() == [("won_opportunity",)]
    # ... and their materializations say why.
    assert "no hire dates" in materialization_metadata(result, "kpi/employee_retention")["why_empty"].value
    ramp = materialization_metadata(result, "kpi/ramp_time")["why_empty"].value
    assert "no hire dates" in ramp and "no Task or Event file" in ramp


def test_a_second_nightly_run_does_only_what_the_new_export_requires(home, fixture_export, tmp_path):
    first = run_nightly(fixture_export)
    assert first.success
    with duckdb.connect(str(published(home)), read_only=True) as con:
        before = con.execute("select * from marts.kpi_scorecard order by all").fetchall()
    again = run_nightly(fixture_export)  # the same export: nothing to read, build or re-check
    assert again.success
    builds = {m.asset_key.to_user_string(): m.metadata["build"].value for m in again.asset_materializations_for_node(
        "core__fct_opportunity") + again.asset_materializations_for_node("staging__stg_opportunity")}
    assert builds == {"core/fct_opportunity": "unchanged", "staging/stg_opportunity": "unchanged"}
    check = next(e for e in again.get_asset_check_evaluations() if e.check_name == "amount_between")
    assert "not re-run" in check.metadata["note"].value
    with duckdb.connect(str(published(home)), read_only=True) as con:
        assert con.execute("select * from marts.kpi_scorecard order by all").fetchall() == before

    # One opportunity won since: its record is merged into staging, the facts rebuilt.
    newer = tmp_path / "newer"
    shutil.copytree(fixture_export, newer)
    path = newer / "Opportunity.csv"
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    rows[0][header.index("SystemModstamp")] = "2030-01-01 00:00:00"
    rows[0][header.index("Name")] = "Renamed deal"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([header, *rows])
    third = run_nightly(newer)
    assert third.success
    assert materialization_metadata(third, "staging/stg_opportunity")["build"].value == "merged"
    assert materialization_metadata(third, "core/fct_opportunity")["build"].value == "rebuilt"
    assert materialization_metadata(third, "staging/stg_lead")["build"].value == "unchanged"
    with duckdb.connect(str(published(home)), read_only=True) as con:
        assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == csv_rows(
            fixture_export / "Opportunity.csv") + 1
        assert con.execute("select count(*) from staging.stg_opportunity where name = 'Renamed deal'"
                           ).fetchone()[0] == 1
