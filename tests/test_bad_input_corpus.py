"""The bad-input corpus: real export quirks, each with its exact outcome, and no good
row lost.

File-level quirks (encoding, BOM, CRLF, quoted newlines, truncated or repeated lines,
empty files, missing columns, zips) are decided by extract: they run against
pipeline.extract directly with tests/test_extract.py's helpers. Data-level quirks
(duplicate ids, unknown stage, IsWon without IsClosed, unknown currency, hire dates,
negative amounts, orphan owners) need the checks, so they run the real nightly job
on a small export written here; a blocking failure must leave the published
warehouse byte-identical. The job runs on an in-memory Dagster instance (the
sqlite event log's commits dominate a run's time otherwise).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.archive import resolve_export
from pipeline.extract import ExportError
from tests.test_extract import OPP_HEADER, con, load, opp_row, write  # noqa: F401  (con: fixture)

# --- file-level quirks ---------------------------------------------------------------------

GOOD = [f"006{i:015d}" for i in (1, 2, 3)]


def good_ids(con) -> list[str]:
    return [r[0] for r in con.execute("select Id from raw.opportunity where Id like '006%' order by Id").fetchall()]


def test_latin1_declared_utf8(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1, "Negociación") + opp_row(2) + opp_row(3),
          "latin-1")
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path, encoding="utf-8")
    assert outcome["encoding"] == "latin-1"
    assert "Opportunity.csv: declared utf-8 but byte" in outcome["note"]
    assert good_ids(con) == GOOD
    assert con.execute("select StageName from raw.opportunity where Id = ?", [GOOD[0]]).fetchone()[0] == "Negociación"


def test_bom_crlf_and_a_quoted_field_with_newlines(con, tmp_path):
    text = "\ufeff" + (OPP_HEADER + opp_row(1) + opp_row(2) + opp_row(3)).replace("\n", "\r\n")
    text = text.replace('"Deal 2"', '"Deal 2\r\nsecond line"')
    write(tmp_path / "e" / "Opportunity.csv", text)
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert (outcome["rows_loaded"], outcome["rows_rejected"]) == (3, 0)
    assert good_ids(con) == GOOD  # the BOM is not part of the first column's name or value
    assert con.execute("select Name from raw.opportunity where Id = ?", [GOOD[1]]).fetchone()[0] == "Deal 2\r\nsecond line"


def test_truncated_last_line_is_rejected_with_its_line_number(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2) + opp_row(3) + opp_row(4)[:40])
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert (outcome["rows_loaded"], outcome["rows_rejected"]) == (3, 1)
    assert con.execute("select source_file, line from audit.rejected_lines").fetchall() == [("Opportunity.csv", 5)]
    assert "line 5" in outcome["note"]
    assert good_ids(con) == GOOD


def test_duplicated_header_is_rejected_not_loaded(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2) + OPP_HEADER + opp_row(3))
    outcome = load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert (outcome["rows_loaded"], outcome["rows_rejected"]) == (3, 1)
    assert con.execute("select error_type, line from audit.rejected_lines").fetchall() == [("REPEATED HEADER", 4)]
    assert good_ids(con) == GOOD


def test_empty_file(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", "")
    with pytest.raises(ExportError, match=r"^Opportunity\.csv: file is empty \(no header row\); Opportunity is required$"):
        load(con, tmp_path / "e", "Opportunity", tmp_path)
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER + opp_row(1))
    write(tmp_path / "e" / "Lead.csv", "")
    outcome = load(con, tmp_path / "e", "Lead", tmp_path)
    assert outcome["status"] == "empty file" and outcome["note"] == "Lead.csv is empty (no header row)"


def test_missing_required_column(con, tmp_path):
    write(tmp_path / "e" / "Opportunity.csv", OPP_HEADER.replace('"CloseDate",', "") + opp_row(1))
    with pytest.raises(ExportError, match=r"^Opportunity\.csv: required column\(s\) CloseDate missing for Opportunity"):
        load(con, tmp_path / "e", "Opportunity", tmp_path)
    assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == 0  # nothing half-loaded


def test_zip_with_a_nested_folder(con, tmp_path):
    archive = tmp_path / "WE_00D_1.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("WE_00D_1/export/Opportunity.csv", OPP_HEADER + opp_row(1) + opp_row(2) + opp_row(3))
    load(con, resolve_export(archive, tmp_path / "scratch"), "Opportunity", tmp_path)
    assert good_ids(con) == GOOD
    assert con.execute("select distinct _source_file from raw.opportunity").fetchall() == [("WE_00D_1/export/Opportunity.csv",)]


def test_zip_entry_escaping_the_folder(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Opportunity.csv", OPP_HEADER + opp_row(1))
        z.writestr("../../escape.csv", "x")
    with pytest.raises(ExportError, match=r"^bad\.zip: entry '\.\./\.\./escape\.csv' points outside the export; refusing the zip$"):
        resolve_export(archive, tmp_path / "scratch" / "deep")
    assert not list(tmp_path.rglob("escape.csv"))


# --- data-level quirks: real pipeline runs ------------------------------------------------------

STAMP = "2024-06-30 12:00:00"  # newest SystemModstamp: the as-of date is 2024-06-30
U1, U2, U3 = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA"
A1 = "001000000000001AAA"


def q(*values) -> str:
    return ",".join('"' + str(v).replace('"', '""') + '"' for v in values) + "\n"


def opp(i, stage="Prospecting", amount="1000", closed="0", won="0", owner=U1, currency="USD", close="2024-05-31"):
    return dict(Id=f"006{i:015d}", IsDeleted="0", AccountId=A1, Name=f"Deal {i}", StageName=stage, Amount=amount,
                Probability="10", CloseDate=f"{close} 00:00:00", IsClosed=closed, IsWon=won, OwnerId=owner,
                CurrencyIsoCode=currency, CreatedDate="2024-01-15 09:00:00", SystemModstamp=STAMP)


def user(uid, name, hire="2020-01-01", term=""):
    return dict(Id=uid, Name=name, UserType="Standard", IsActive="1", Hire_Date__c=hire, Termination_Date__c=term,
                SystemModstamp="2024-01-01 00:00:00")


def csv_text(rows: list[dict]) -> str:
    return q(*rows[0].keys()) + "".join(q(*r.values()) for r in rows)


def small_export(path: Path, *, opps=None, users=None) -> Path:
    opps = opps or [opp(1), opp(2, "Closed Won", closed="1", won="1"), opp(3, "Closed Lost", closed="1"),
                    opp(4, owner=U2, currency="EUR"), opp(5, "Qualification", owner=U2)]
    users = users or [user(U1, "Ann"), user(U2, "Bob", hire="2021-03-01")]
    stages = [("01J000000000001AAA", "Prospecting", "1", "0", "0"), ("01J000000000002AAA", "Qualification", "2", "0", "0"),
              ("01J000000000003AAA", "Closed Won", "3", "1", "1"), ("01J000000000004AAA", "Closed Lost", "4", "1", "0")]
    files = {
        "Opportunity.csv": csv_text(opps),
        "User.csv": csv_text(users),
        "Account.csv": q("Id", "Name", "OwnerId", "CurrencyIsoCode", "CreatedDate", "SystemModstamp")
        + q(A1, "Acme", U1, "USD", "2023-01-01 00:00:00", "2024-01-01 00:00:00"),
        "CurrencyType.csv": q("Id", "IsoCode", "ConversionRate", "IsCorporate", "SystemModstamp")
        + q("01L000000000001AAA", "USD", "1", "1", "2024-01-01 00:00:00")
        + q("01L000000000002AAA", "EUR", "0.9", "0", "2024-01-01 00:00:00"),
        "OpportunityStage.csv": q("Id", "MasterLabel", "ApiName", "SortOrder", "IsClosed", "IsWon")
        + "".join(q(*s[:2], s[1], *s[2:]) for s in stages),
    }
    for name, text in files.items():
        write(path / name, text)
    return path


def run(export: Path) -> dg.ExecuteInProcessResult:
    from pipeline.definitions import defs

    return defs.resolve_job_def("nightly").execute_in_process(
        run_config={"resources": {"export": {"config": {"path": str(export)}}}},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def check_results(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name): e.event_specific_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def failed(result) -> dict[tuple[str, str], tuple[str, int, str]]:
    return {key: (c.severity.value, c.metadata["failing_rows"].value, c.metadata["sample_ids"].value)
            for key, c in check_results(result).items() if not c.passed}


def materialized(result) -> set[str]:
    return {e.event_specific_data.materialization.asset_key.to_user_string()
            for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One PIPELINE_HOME for the module, published once from the good small export."""
    root = tmp_path_factory.mktemp("corpus_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_HOME", str(root))
        mp.setenv("DAGSTER_HOME", str(root))
        for name in ("WAREHOUSE_PATH", "SF_EXPORT_PATH", "SF_INBOX_PATH", "KPI_AS_OF_DATE"):
            mp.delenv(name, raising=False)
        result = run(small_export(root / "good"))
        yield root, result


def published(root: Path) -> Path:
    return root / "warehouse" / "warehouse.duckdb"


def test_the_good_export_passes_every_blocking_check_and_publishes(home):
    root, result = home
    assert result.success
    errors = {k: v for k, v in failed(result).items() if v[0] == "ERROR"}
    assert errors == {}
    from pipeline.definitions import defs

    assert len(check_results(result)) == len(list(defs.resolve_asset_graph().asset_check_keys))
    with duckdb.connect(str(published(root)), read_only=True) as wh:
        assert wh.execute("select count(*) from core.fct_opportunity").fetchone()[0] == 5
        assert wh.execute("select count(*) from audit.quarantine where severity = 'error'").fetchone()[0] == 0


def test_staging_error_rules_block_and_the_published_warehouse_stays(home, tmp_path):
    root, _ = home
    before = published(root).read_bytes()
    opps = [opp(1), opp(2, "Closed Won", closed="1", won="1"),
            opp(3, amount="-250"),                                   # negative amount
            opp(4, "Closed Won", closed="0", won="1"),               # IsWon without IsClosed
            opp(5, owner="005000000000099AAA"),                      # orphan OwnerId
            opp(6, currency="XYZ"),                                  # unknown currency
            opp(7, owner=U2)]
    users = [user(U1, "Ann"), user(U2, "Bob", hire="2023-05-01", term="2022-12-31"),  # hire after termination
             user(U3, "Cy", hire="2025-01-02")]                                      # hire after the as-of date
    result = run(small_export(tmp_path / "bad", opps=opps, users=users))
    assert not result.success
    ids = {i: f"006{i:015d}" for i in range(1, 8)}
    assert {k: v for k, v in failed(result).items() if v[0] == "ERROR"} == {
        ("staging/stg_opportunity", "amount_between"): ("ERROR", 1, ids[3]),
        ("staging/stg_opportunity", "won_implies_closed"): ("ERROR", 1, ids[4]),
        ("staging/stg_opportunity", "owner_id_references"): ("ERROR", 1, ids[5]),
        ("staging/stg_opportunity", "currency_iso_code_references"): ("ERROR", 1, ids[6]),
        ("staging/stg_user", "hire_not_after_termination"): ("ERROR", 1, U2),
        ("staging/stg_user", "hire_not_in_future"): ("ERROR", 1, U3),
    }
    checks = check_results(result)
    # no good row lost: every row reached staging and was checked
    assert checks[("staging/stg_opportunity", "amount_between")].metadata["rows_checked"].value == 7
    assert "Correct Amount on the opportunity" in checks[("staging/stg_opportunity", "amount_between")].description
    # exactly the assets downstream of the bad input did not run
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    bad_inputs = {dg.AssetKey(["staging", "stg_opportunity"]), dg.AssetKey(["staging", "stg_user"])}
    downstream = {k.to_user_string() for k in graph.get_all_asset_keys()
                  if any(k != b and b in graph.get_ancestor_asset_keys(k) for b in bad_inputs)}
    done = materialized(result)
    assert {"raw/opportunity", "raw/user", "staging/stg_opportunity", "staging/stg_user"} <= done
    assert "publish/warehouse" in downstream and "core/fct_opportunity" in downstream
    assert done & downstream == set()
    assert "core/dim_account" in done  # not downstream of the bad input: built, though never published
    assert published(root).read_bytes() == before
    assert not list((root / "warehouse" / ".work").glob("*.duckdb"))


def test_an_id_twice_in_one_export_keeps_its_last_good_version(home, tmp_path):
    """Deal 2 twice, both rows changed since the published export (Closed Won there): both are quarantined
    (a warning) and the deal keeps its last good version; deals 4 and 5, not in this export, were deleted."""
    root, _ = home
    opps = [opp(1), opp(2), opp(2, "Qualification"), opp(3)]
    result = run(small_export(tmp_path / "dup", opps=opps))
    assert result.success
    assert failed(result)[("raw/opportunity", "id_unique")] == ("WARN", 2, f"006{2:015d}")
    with duckdb.connect(str(published(root)), read_only=True) as wh:
        assert wh.execute("select opportunity_id, stage_name from core.fct_opportunity order by 1").fetchall() == [
            (f"006{1:015d}", "Prospecting"), (f"006{2:015d}", "Closed Won"), (f"006{3:015d}", "Prospecting")]
        assert wh.execute("select record_id, rule, severity from audit.quarantine where rule = 'id_unique'"
                          ).fetchall() == [(f"006{2:015d}", "id_unique", "warn")] * 2


def test_unknown_stage_is_a_warning_quarantined_and_kept(home, tmp_path):
    root, _ = home
    opps = [opp(1), opp(2, "Negotiation Limbo"), opp(3, "Closed Won", closed="1", won="1")]
    result = run(small_export(tmp_path / "stage", opps=opps))
    assert result.success
    bad = failed(result)
    assert bad[("staging/stg_opportunity", "stage_name_references")] == ("WARN", 1, f"006{2:015d}")
    assert not [v for v in bad.values() if v[0] == "ERROR"]
    with duckdb.connect(str(published(root)), read_only=True) as wh:
        assert wh.execute("select object, record_id, rule, severity, reason from audit.quarantine "
                          "where rule = 'stage_name_references'").fetchall() == [
            ("Opportunity", f"006{2:015d}", "stage_name_references", "warn",
             "StageName = 'Negotiation Limbo' matches no OpportunityStage MasterLabel/ApiName in the export")]
        # a warning drops nothing: the deal is in the facts, the unknown stage in the dimension (deals 4 and
        # 5 of the earlier export are not in this one: deleted)
        assert wh.execute("select opportunity_id, stage_name from core.fct_opportunity order by 1").fetchall() == [
            (f"006{1:015d}", "Prospecting"), (f"006{2:015d}", "Negotiation Limbo"), (f"006{3:015d}", "Closed Won")]
        assert wh.execute("select count(*) from core.dim_stage where stage_name = 'Negotiation Limbo'").fetchone()[0] == 1
