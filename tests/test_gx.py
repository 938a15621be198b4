"""The GX-on-DuckDB fix (GX #10738, #11579) still works with the installed GX.

These tests FAIL when a GX upgrade breaks the fix: they run real expectations on a
real DuckDB file with a known number of bad rows and assert the unexpected count
and the sample. GX is imported once per test session (pipeline.gx caches it).
"""

from __future__ import annotations

import duckdb
import pytest

from pipeline import gx as gxmod

BAD_IDS = [f"006{i:015d}" for i in (3, 17, 42)]


@pytest.fixture
def con(tmp_path):
    # Same configuration shape as a run's connection (Warehouse.connect): GX must reuse
    # this connection, not open the file a second time.
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"threads": 2, "memory_limit": "500MB"})
    con.execute("create schema staging")
    con.execute("""create table staging.stg_deal as
        select '006' || lpad(cast(i as varchar), 15, '0') as opportunity_id,
               case when i in (3, 17, 42) then -1.0 else i * 10.0 end as amount
        from range(1000) r(i)""")
    yield con
    con.close()


QUERY = "select opportunity_id as record_id from {batch} where amount < 0"


def test_unexpected_rows_are_counted_and_sampled_on_a_real_duckdb_file(con):
    outcomes = gxmod.validate(con, "staging.stg_deal", {"amount_not_negative": QUERY})
    outcome = outcomes["amount_not_negative"]
    assert outcome.error is None, outcome.error
    assert outcome.success is False
    assert outcome.unexpected_count == 3
    assert sorted(outcome.sample) == BAD_IDS


def test_a_passing_rule_and_several_rules_in_one_validation(con):
    outcomes = gxmod.validate(con, "staging.stg_deal", {
        "bad": QUERY,
        "good": "select opportunity_id as record_id from {batch} where amount > 1e9",
        "ten": "select opportunity_id as record_id from {batch} where amount >= 9800",
    })
    assert (outcomes["bad"].success, outcomes["bad"].unexpected_count) == (False, 3)
    assert (outcomes["good"].success, outcomes["good"].unexpected_count, outcomes["good"].sample) == (True, 0, [])
    assert outcomes["ten"].unexpected_count == 20 and len(outcomes["ten"].sample) == gxmod.SAMPLE_SIZE


def test_a_broken_query_is_an_error_not_a_pass(con):
    outcome = gxmod.validate(con, "staging.stg_deal", {"typo": "select nope as record_id from {batch}"})["typo"]
    assert outcome.success is False and outcome.unexpected_count is None
    assert "nope" in outcome.error


def test_gx_leaves_no_transaction_or_connection_behind(con, tmp_path):
    gxmod.validate(con, "staging.stg_deal", {"bad": QUERY})
    # The run's connection still writes and checkpoints (an open GX transaction would block it).
    con.execute("create table staging.after as select 1 as x")
    con.execute("checkpoint")
    # The next validation on the same (cached) data source sees rows written since.
    con.execute("update staging.stg_deal set amount = -2 where opportunity_id = '006000000000000005'")
    assert gxmod.validate(con, "staging.stg_deal", {"bad": QUERY})["bad"].unexpected_count == 4
    gxmod.release(con)  # as Warehouse does before closing the run's connection
    con.close()
    # ... and the file is free: another connection with another configuration opens it.
    other = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert other.execute("select count(*) from staging.stg_deal").fetchone()[0] == 1000
    other.close()


def test_without_the_fix_gx_returns_nothing_so_the_fix_is_still_needed(con):
    """Documents the GX bug itself: if this starts failing, GX fixed #10738/#11579 and
    apply_duckdb_persisted_connection_fix can go."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    gxmod.validate(con, "staging.stg_deal", {"warm": QUERY})  # import + fix applied
    patched = engine_module._PERSISTED_CONNECTION_DIALECTS
    engine_module._PERSISTED_CONNECTION_DIALECTS = tuple(d for d in patched if str(getattr(d, "value", d)) != "duckdb")
    try:
        outcome = gxmod.validate(con, "staging.stg_deal", {"bad": QUERY})["bad"]
    finally:
        engine_module._PERSISTED_CONNECTION_DIALECTS = patched
    assert outcome.unexpected_count != 3


def test_the_fix_refuses_to_run_when_gx_internals_moved(monkeypatch):
    gxmod._gx()
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    monkeypatch.delattr(engine_module, "_PERSISTED_CONNECTION_DIALECTS")
    with pytest.raises(gxmod.GXFixBroken, match="10738"):
        gxmod.apply_duckdb_persisted_connection_fix()


def test_the_prefetch_lists_the_compiled_modules_gx_imports_and_skips_those_loaded():
    files = gxmod._files_to_import({"duckdb", "_duckdb"})
    folders = {f.split("site-packages/")[-1].split("/")[0] for f in files}
    # GX itself, what it requires (jsonschema), what that requires in turn (rpds, through
    # referencing), and duckdb_engine's SQLAlchemy; not duckdb, as if this process had imported it.
    assert {"great_expectations", "jsonschema", "rpds", "sqlalchemy", "duckdb_engine"} <= folders
    assert "duckdb" not in folders and not any(f.split("/")[-1].startswith("_duckdb") for f in files)
    assert all(f.endswith((".pyc", ".so")) for f in files)
