"""Real exports load the first time: every CSV dialect Salesforce and its tools write,
optional objects that cannot be used, columns a file does not have, and bad rows that
are quarantined while the rest is published.

Each dialect is made by the demo generator (`pipeline generate --dialect`) from the same
export, and the first run on it must publish the very KPIs the Data Export gives.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.demo_dialects import deleted_ids, rewrite_dialect
from pipeline.demo_export import generate_export

KPIS = ("annual_contract_value", "conversion_rate", "customer_lifetime_value", "customer_retention",
        "employee_retention", "lead_age", "new_leads", "ramp_time", "referrals")


def run(home: Path, export: Path) -> dg.ExecuteInProcessResult:
    """The nightly job on `export`, with `home` as PIPELINE_HOME."""
    from pipeline.definitions import defs

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_HOME", str(home))
        for name in ("WAREHOUSE_PATH", "SF_EXPORT_PATH", "SF_INBOX_PATH", "KPI_AS_OF_DATE", "SF_DATE_ORDER"):
            mp.delenv(name, raising=False)
        return defs.resolve_job_def("nightly").execute_in_process(
            run_config={"resources": {"export": {"config": {"path": str(export)}}}},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)


def kpi_rows(home: Path) -> dict[str, list[tuple]]:
    """Every KPI row, numbers to 9 significant digits (a sum's last bits depend on the order rows are added)."""
    def rounded(row):
        return tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in row)

    with warehouse(home) as con:
        return {k: sorted(map(rounded, con.execute(f"select * from kpi.{k}").fetchall()),
                          key=lambda r: tuple((v is None, str(v)) for v in r)) for k in KPIS}


def checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
            e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def extract_metadata(result, table: str) -> dict:
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION" and \
                e.event_specific_data.materialization.asset_key.to_user_string() == f"raw/{table}":
            return {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
    raise AssertionError(f"raw/{table} was not materialized")


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *rows])


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "WE_00D_standard"
    generate_export(path, scale="tiny", seed=11)
    return path


@pytest.fixture(scope="module")
def standard_home(export, tmp_path_factory) -> Path:
    """A home whose warehouse the export, as the weekly Data Export writes it, was published into."""
    home = tmp_path_factory.mktemp("standard")
    assert run(home, export).success
    return home


@pytest.fixture(scope="module")
def standard(standard_home) -> dict[str, list[tuple]]:
    return kpi_rows(standard_home)


@pytest.fixture
def published_home(standard_home, tmp_path) -> Path:
    """A copy of the standard home, to run newer exports on."""
    home = tmp_path / "home"
    shutil.copytree(standard_home / "warehouse", home / "warehouse")
    return home


def dialect_of(tmp_path: Path, export: Path, dialect: str, **options) -> tuple[Path, dict]:
    target = tmp_path / f"WE_{dialect}"
    shutil.copytree(export, target)
    return target, rewrite_dialect(target, dialect, seed=3, **options)


@pytest.mark.parametrize("dialect, options, says", [
    ("dataloader", {}, "Data Loader / API; timestamps ISO 8601 with offset (to UTC)"),
    ("excel", {"day_first": True}, "Excel re-save; timestamps slashed dates, day first"),
])
def test_each_dialect_publishes_on_the_first_run_with_the_same_kpis(export, standard, tmp_path, dialect, options,
                                                                     says):
    path, _ = dialect_of(tmp_path, export, dialect, **options)
    result = run(tmp_path / "home", path)
    assert result.success
    assert extract_metadata(result, "opportunity")["dialect"].startswith(says)
    assert {k: v.severity.value for k, v in checks(result).items() if not v.passed and v.severity.value == "ERROR"} == {}
    assert kpi_rows(tmp_path / "home") == standard


def test_a_connector_dump_matches_on_names_and_honours_its_deleted_flag(export, tmp_path):
    """snake_case headers match the contract; records the connector marks deleted leave staging, exactly
    as the same records marked IsDeleted in a Data Export do."""
    path, report = dialect_of(tmp_path, export, "connector")
    deleted = deleted_ids(report)
    assert deleted["Opportunity.csv"] and deleted["Lead.csv"]
    result = run(tmp_path / "connector", path)
    assert result.success
    assert extract_metadata(result, "opportunity")["dialect"].startswith("connector table (snake_case names)")
    with warehouse(tmp_path / "connector") as con:
        assert con.execute("select count(*) from raw.opportunity where _connector_deleted = 'true'").fetchone()[0] \
            == len(deleted["Opportunity.csv"])
        staged = {r[0] for r in con.execute("select opportunity_id from staging.stg_opportunity").fetchall()}
        assert staged and not staged & set(deleted["Opportunity.csv"])
        assert con.execute("select count(*) from staging.stg_opportunity where stage_name is null or "
                           "close_date is null or is_won is null").fetchone()[0] == 0

    marked = tmp_path / "WE_marked_deleted"  # the same deletions, as a Data Export says them
    shutil.copytree(export, marked)
    for name, ids in deleted.items():
        header, rows = read_rows(marked / name)
        at, gone = header.index("IsDeleted"), set(ids)
        for row in rows:
            if row[0] in gone:
                row[at] = "1"
        write_rows(marked / name, header, rows)
    assert run(tmp_path / "marked", marked).success
    assert kpi_rows(tmp_path / "connector") == kpi_rows(tmp_path / "marked")


@pytest.fixture(scope="module")
def faults(export, tmp_path_factory) -> tuple[dg.ExecuteInProcessResult, Path, dict]:
    """One first run on an export with what real exports bring: a header-only ForecastingQuota.csv with
    another column set, a UserRole.csv that is not a CSV, a User.csv without a Name column (as the genuine
    Data Export writes it), and three bad deals among the rest (a negative amount, a close date that is
    no date, IsWon without IsClosed)."""
    path = tmp_path_factory.mktemp("faults") / "WE_faults"
    shutil.copytree(export, path)
    (path / "ForecastingQuota.csv").write_text('"Id","QuotaOwnerId","PeriodId"\n', encoding="utf-8")
    (path / "UserRole.csv").write_bytes(b"PK\x03\x04\x00\x00binary\x00\xff\xfe" * 50)
    header, users = read_rows(path / "User.csv")
    at = header.index("Name")
    write_rows(path / "User.csv", header[:at] + header[at + 1:], [r[:at] + r[at + 1:] for r in users])
    first, last = header.index("FirstName"), header.index("LastName")
    names = {r[0]: f"{r[first]} {r[last]}".strip() for r in users if r[first] or r[last]}
    header, deals = read_rows(path / "Opportunity.csv")
    col = {name: header.index(name) for name in ("Id", "Amount", "CloseDate", "IsWon", "IsClosed")}
    negative, undated, won_open = [r for r in deals if r[col["IsClosed"]] == "0"][:3]
    negative[col["Amount"]] = "-250"
    undated[col["CloseDate"]] = "2024-13-45"
    won_open[col["IsWon"]] = "1"
    write_rows(path / "Opportunity.csv", header, deals)
    home = path.parent / "home"
    bad = {"amount_between": negative[0], "close_date_parses": undated[0], "won_implies_closed": won_open[0]}
    return run(home, path), home, {"export": path, "names": names, "bad": bad, "deals": {r[0] for r in deals}}


def test_unusable_optional_files_are_reported_once_and_the_run_publishes(faults):
    result, home, made = faults
    assert result.success
    quota = extract_metadata(result, "forecasting_quota")
    assert quota["status"] == "unusable"
    assert quota["note"] == (
        "ForecastingQuota.csv: required column(s) StartDate missing for ForecastingQuota "
        "(header has 3 columns: Id, QuotaOwnerId, PeriodId). ForecastingQuota is optional: treated as absent "
        f"from export {made['export'].name}. KPIs without it: none; dashboard tables: mart_leaderboard_reps, "
        "mart_leaderboard_teams, mart_sotu_top_reps.")
    role = extract_metadata(result, "user_role")
    assert role["status"] == "unusable" and role["note"].startswith("UserRole.csv: ")
    with warehouse(home) as con:
        assert con.execute("select count(*) from raw.forecasting_quota").fetchone()[0] == 0


def test_a_missing_column_is_one_finding_and_names_come_from_first_and_last_name(faults):
    result, home, made = faults
    name_check = checks(result)["staging/stg_user:name_not_null"]
    assert name_check.passed
    assert name_check.metadata["note"].value == "skipped: User.csv has no Name column, so there is nothing to check"
    with warehouse(home) as con:
        found = dict(con.execute("select user_id, name from staging.stg_user where name_source = 'FirstName LastName'")
                     .fetchall())
    assert found == made["names"]


def test_one_bad_row_is_quarantined_and_the_rest_published(faults):
    result, home, made = faults
    found = checks(result)
    for name, deal in made["bad"].items():
        key = next(k for k in found if k.endswith(f":{name}"))
        assert (found[key].passed, found[key].severity.value, found[key].metadata["blocking"].value) == \
            (False, "WARN", False), key
        assert found[key].metadata["sample_ids"].value == deal
    with warehouse(home) as con:
        assert set(r[0] for r in con.execute(
            "select record_id from audit.quarantine where object = 'Opportunity' and severity = 'error'").fetchall()) \
            == set(made["bad"].values())
        published = {r[0] for r in con.execute("select opportunity_id from core.fct_opportunity").fetchall()}
    assert published == made["deals"] - set(made["bad"].values())


def test_a_whole_column_failing_blocks_and_keeps_the_last_good_warehouse(export, published_home, tmp_path):
    """Every CreatedDate in a form no dialect writes: not bad records, a format the pipeline cannot read."""
    before = (published_home / "warehouse" / "warehouse.duckdb").read_bytes()
    path = tmp_path / "WE_unreadable_dates"
    shutil.copytree(export, path)
    header, rows = read_rows(path / "Opportunity.csv")
    at = header.index("CreatedDate")
    for row in rows:
        row[at] = "22.01.2024 16:14"
    write_rows(path / "Opportunity.csv", header, rows)
    result = run(published_home, path)
    assert not result.success
    check = checks(result)["raw/opportunity:created_date_parses"]
    assert (check.severity.value, check.metadata["blocking"].value) == ("ERROR", True)
    assert check.metadata["failing_percent"].value == 100.0
    assert "More than the 5 % this rule allows" in check.description
    assert (published_home / "warehouse" / "warehouse.duckdb").read_bytes() == before


def test_a_newer_export_deletes_what_it_lacks_keeps_a_duplicate_at_its_last_version_and_distrusts_an_empty_file(
        export, standard_home, published_home, tmp_path):
    """An export is a full snapshot of each object. In the next one two deals are missing (deleted or
    purged: raw keeps them), one deal is there twice (once as before, once with another amount: both rows
    quarantined, the deal keeps its last good version) and Lead.csv is header-only (suspicious: its records
    are kept). The export after, with the two deals again unchanged, brings them back."""
    newer = tmp_path / "WE_newer"
    shutil.copytree(export, newer)
    header, rows = read_rows(newer / "Opportunity.csv")
    gone = {rows[0][0], rows[1][0]}
    at = header.index("Amount")
    twin = list(rows[2])
    twin[at] = "999999"
    write_rows(newer / "Opportunity.csv", header, [*rows[2:], twin])
    lead_header, leads = read_rows(newer / "Lead.csv")
    write_rows(newer / "Lead.csv", lead_header, [])
    result = run(published_home, newer)
    assert result.success
    meta = extract_metadata(result, "opportunity")
    assert (meta["records_in_file"], meta["records_deleted"], meta["duplicate_ids"]) == (len(rows) - 2, 2, 1)
    assert "2 Opportunity record(s) the warehouse held are not in this export" in meta["note"]
    duplicate = checks(result)["raw/opportunity:id_unique"]
    assert (duplicate.passed, duplicate.severity.value, duplicate.metadata["sample_ids"].value) == \
        (False, "WARN", rows[2][0])
    assert extract_metadata(result, "lead")["note"] == (
        f"Lead.csv has no records while the warehouse holds {len(leads):,} Lead records: suspicious (an export that "
        "failed half-way?), so they are kept as they were")
    with warehouse(published_home) as con:
        assert not gone & {r[0] for r in con.execute("select opportunity_id from core.fct_opportunity").fetchall()}
        assert con.execute("select count(*) from raw.opportunity where Id in (select unnest(?))",
                           [sorted(gone)]).fetchone()[0] == 4  # the first load's rows and the absent copies
        assert con.execute("select amount from staging.stg_opportunity where opportunity_id = ?",
                           [rows[2][0]]).fetchone()[0] == float(rows[2][at])
        assert con.execute("select count(*) from audit.quarantine where rule = 'id_unique' and record_id = ?",
                           [rows[2][0]]).fetchone()[0] == 1  # the changed twin; its unchanged twin is in raw already
        assert con.execute("select count(*) from staging.stg_lead").fetchone()[0] == len(leads)
    again = tmp_path / "WE_again"
    shutil.copytree(export, again)
    result = run(published_home, again)
    assert result.success
    assert extract_metadata(result, "opportunity")["records_restored"] == 2
    assert kpi_rows(published_home) == kpi_rows(standard_home)


def test_dialect_decisions():
    from pipeline.contracts import load_contracts
    from pipeline.dialects import canonical_header, decide_date_order, identity_columns

    opportunity = load_contracts()["Opportunity"]
    names, renamed = canonical_header(["id", "STAGE_NAME", "stagename2", "Referring_Account_c", "_fivetran_deleted",
                                       "_fivetran_synced"], opportunity)
    assert names == ["Id", "StageName", "stagename2", "Referring_Account__c", "_connector_deleted", "_fivetran_synced"]
    assert renamed == {"id": "Id", "STAGE_NAME": "StageName", "Referring_Account_c": "Referring_Account__c",
                       "_fivetran_deleted": "_connector_deleted"}
    assert identity_columns(names) == names[:5]
    assert decide_date_order({"a": (13, 5), "b": (3, 4)}) == ("dmy", "day first: a has a day above 12 first")
    assert decide_date_order({"a": (3, 28)}) == ("mdy", "month first: a has a day above 12 second")
    assert decide_date_order({"a": (12, 12)}) == (None, "no day above 12")
    assert decide_date_order({"a": (13, 1), "b": (1, 13)}) == (None, "day first in a but month first in b")
