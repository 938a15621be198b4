"""Whole-pipeline runs with real Dagster, a real DuckDB file and publish semantics.

A nightly run costs 8-20 s, so runs are shared: a module-scoped fixture runs once and
several tests assert on its result, and a test that must run more on a warehouse does so
on a copy of a shared one. The real fixture (../shared/fixtures) serves only the tests
about it; the others run on a tiny export made by the demo generator.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import duckdb
import pytest

from pipeline.cli import failure_text
from tests.conftest import csv_rows, use_home
from tests.support.digest import table_digests

# The generated export's files are Latin-1 (accented names, C1 bytes of mis-encoded sources).
ENCODING = "latin-1"


def run_nightly(home: Path, export: Path, **resource_config) -> dg.ExecuteInProcessResult:
    """The nightly job on `export`, with `home` as PIPELINE_HOME."""
    from pipeline.definitions import defs

    config = {"resources": {"export": {"config": {"path": str(export)}}}}
    for name, values in resource_config.items():
        config["resources"][name] = {"config": values}
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, home)
        # An in-memory instance: these tests are about the warehouse, not Dagster's run storage.
        return defs.resolve_job_def("nightly").execute_in_process(
            run_config=config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def published(home: Path) -> Path:
    return home / "warehouse" / "warehouse.duckdb"


def work_copies(home: Path) -> list[Path]:
    return [p for p in (home / "warehouse" / ".work").glob("*.duckdb") if p.name != "standby.duckdb"]


def copy_home(source: Path, target: Path) -> Path:
    """A copy of a home's warehouse folder (the published file, the standby its first build left, the
    dashboards), for a test to run more on without changing the shared one."""
    shutil.copytree(source / "warehouse", target / "warehouse")
    return target


def materialization_metadata(result, key: str) -> dict:
    return result.asset_materializations_for_node(key.replace("/", "__"))[-1].metadata


def work_copy(result) -> str:
    return materialization_metadata(result, "publish/warehouse")["work_copy"].value


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(published(home)), read_only=True) as con:
        return con.execute(sql).fetchall()


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding=ENCODING) as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding=ENCODING) as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *rows])


KPIS = ["annual_contract_value", "customer_lifetime_value", "new_leads", "lead_age", "conversion_rate",
        "employee_retention", "ramp_time", "referrals", "customer_retention"]


# --------------------------------------------------------------------------------------
# The real fixture export: one run, read by the tests about it
# --------------------------------------------------------------------------------------


class Run(NamedTuple):
    result: dg.ExecuteInProcessResult
    home: Path
    export: Path


@pytest.fixture(scope="module")
def fixture_run(module_fixture_export, tmp_path_factory) -> Run:
    """The nightly job on the real sample export, into a home of its own."""
    home = tmp_path_factory.mktemp("fixture_home")
    return Run(run_nightly(home, module_fixture_export), home, module_fixture_export)


def test_fixture_export_lands_in_raw_and_publishes(fixture_run):
    result, home, fixture_export = fixture_run
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


def test_fixture_export_computes_what_it_can_and_says_why_the_rest_is_empty(fixture_run):
    result, home, _ = fixture_run
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


# --------------------------------------------------------------------------------------
# A generated export: one first run, shared; later runs on copies of its home
# --------------------------------------------------------------------------------------


class Generated(NamedTuple):
    export: Path
    counts: dict[str, int]  # rows written per object, as generate_export says


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Generated:
    """A tiny Latin-1 demo export, shared: tests that change it change a copy."""
    from pipeline.demo_export import generate_export

    export = tmp_path_factory.mktemp("generated") / "WE_tiny"
    return Generated(export, generate_export(export, scale="tiny", seed=7, encoding=ENCODING))


@pytest.fixture(scope="module")
def first_run(generated, tmp_path_factory) -> Run:
    """The first nightly run on the generated export, into a home of its own that no test changes."""
    home = tmp_path_factory.mktemp("first_home")
    result = run_nightly(home, generated.export)
    assert result.success, "the first run on the generated export failed"
    return Run(result, home, generated.export)


def test_generated_latin1_export_round_trips_and_builds_all_nine_kpis(generated, first_run):
    from pipeline.contracts import load_contracts
    from pipeline.extract import find_object_file

    result, home, export = first_run
    assert result.success
    with duckdb.connect(str(published(home)), read_only=True) as con:
        for contract in load_contracts().values():
            path = find_object_file(export, contract)
            assert path is not None, contract.object
            rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
            assert rows == csv_rows(path, ENCODING) == generated.counts[contract.object], contract.object
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
    assert work_copies(home) == [], "work copy left behind"
    assert (home / "warehouse" / "dashboards" / "index.html").exists()
    headline = materialization_metadata(result, "kpi/new_leads")["value"].value
    assert headline >= 0


GOLDEN_DIGESTS = Path(__file__).parent / "golden" / "tiny_seed7_digests.json"


def test_every_kpi_and_mart_table_equals_the_recorded_one(first_run):
    """Refactorings must not move a number: the tiny demo export's kpi and marts tables, digested,
    equal the digests recorded when they were last checked by hand. A deliberate change of a figure
    re-records them with UPDATE_GOLDEN=1 and shows the change in review."""
    import json
    import os

    with duckdb.connect(str(published(first_run.home)), read_only=True) as con:
        digests = table_digests(con)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(GOLDEN_DIGESTS.read_text())
    assert sorted(digests) == sorted(recorded), "the set of kpi and marts tables changed"
    changed = [table for table in recorded if digests[table] != recorded[table]]
    assert changed == [], f"tables whose content changed: {changed}"


def test_a_failed_run_leaves_the_published_warehouse_untouched(first_run, tmp_path):
    home = copy_home(first_run.home, tmp_path / "home")
    before = published(home).read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(first_run.export, broken)
    header, rows = read_rows(broken / "Opportunity.csv")
    header[header.index("StageName")] = "Stage"
    write_rows(broken / "Opportunity.csv", header, rows)
    result = run_nightly(home, broken)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "Opportunity.csv: required column(s) StageName missing" in failure_text(failure)
    assert published(home).read_bytes() == before
    assert work_copies(home) == [], "failed run's work copy left behind"


class Reruns(NamedTuple):
    counted: str  # what the reader counted in raw.opportunity before the runs
    reader_alive: bool  # the reader still held the file when both runs were done
    second: dg.ExecuteInProcessResult
    third: dg.ExecuteInProcessResult
    home: Path


@pytest.fixture(scope="module")
def reruns(first_run, tmp_path_factory) -> Reruns:
    """Two more nightly runs on the same export, in a copy of the first run's home, while a separate
    process holds the published file open read-only from before the second run until after the third."""
    home = copy_home(first_run.home, tmp_path_factory.mktemp("reruns_home"))
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('select count(*) from raw.opportunity').fetchone()[0], flush=True); sys.stdin.read()",
         str(published(home))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        counted = reader.stdout.readline().strip()  # the file is open from here on
        second = run_nightly(home, first_run.export)
        third = run_nightly(home, first_run.export)
        alive = reader.poll() is None
    finally:
        reader.kill()
        reader.wait()
    return Reruns(counted, alive, second, third, home)


def test_reader_holding_the_published_file_does_not_block_a_run(first_run, reruns):
    opportunities = csv_rows(first_run.export / "Opportunity.csv", ENCODING)
    assert reruns.counted == str(opportunities)
    assert reruns.reader_alive, "the reader let go of the file before the runs were done"
    assert reruns.second.success
    assert work_copy(reruns.second).startswith("standby caught up")  # the copy the first build left
    # The file the reader holds is now the standby: DuckDB's lock keeps the next run off it.
    assert reruns.third.success
    assert work_copy(reruns.third).startswith("copied: the standby could not be used")
    assert work_copies(reruns.home) == [], "work copy left behind"
    assert query(reruns.home, "select count(*) from raw.opportunity") == [(opportunities,)]  # idempotent reload


def test_a_second_nightly_run_on_the_same_export_reads_builds_and_checks_nothing(first_run, reruns):
    scorecard = "select * from marts.kpi_scorecard order by all"
    before = query(first_run.home, scorecard)
    assert before, "the first run published an empty scorecard"
    # Both reruns, whether their work copy was the caught-up standby or a copy of the published file.
    for again in (reruns.second, reruns.third):
        builds = {m.asset_key.to_user_string(): m.metadata["build"].value for m in again.asset_materializations_for_node(
            "core__fct_opportunity") + again.asset_materializations_for_node("staging__stg_opportunity")}
        assert builds == {"core/fct_opportunity": "unchanged", "staging/stg_opportunity": "unchanged"}
        check = next(e for e in again.get_asset_check_evaluations() if e.check_name == "amount_between")
        assert "not re-run" in check.metadata["note"].value
    assert query(reruns.home, scorecard) == before


def test_a_newer_export_merges_what_changed_and_leaves_the_rest(first_run, tmp_path):
    home = copy_home(first_run.home, tmp_path / "home")
    staged = query(home, "select count(*) from staging.stg_opportunity")[0][0]
    # One opportunity changed since (a full snapshot: every other record is in the file as it was).
    newer = tmp_path / "newer"
    shutil.copytree(first_run.export, newer)
    header, rows = read_rows(newer / "Opportunity.csv")
    row = next(r for r in rows if r[header.index("IsDeleted")] == "0")
    row[header.index("SystemModstamp")] = "2030-01-01 00:00:00"
    row[header.index("Name")] = "Renamed deal"
    write_rows(newer / "Opportunity.csv", header, rows)
    assert query(home, "select count(*) from staging.stg_opportunity where name = 'Renamed deal'") == [(0,)]

    result = run_nightly(home, newer)
    assert result.success
    # Its record is merged into staging, the facts rebuilt; the leads, whose file is the same, are left alone.
    assert materialization_metadata(result, "staging/stg_opportunity")["build"].value == "merged"
    assert materialization_metadata(result, "core/fct_opportunity")["build"].value == "rebuilt"
    assert materialization_metadata(result, "staging/stg_lead")["build"].value == "unchanged"
    with duckdb.connect(str(published(home)), read_only=True) as con:
        # raw keeps both versions of the changed record, and no more
        assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == csv_rows(
            first_run.export / "Opportunity.csv", ENCODING) + 1
        assert con.execute("select count(*) from staging.stg_opportunity where name = 'Renamed deal'"
                           ).fetchone()[0] == 1
        assert con.execute("select count(*) from staging.stg_opportunity").fetchone()[0] == staged


def test_a_second_concurrent_build_is_refused_clearly(home):
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
