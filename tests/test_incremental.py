"""Incremental builds give exactly the tables a full rebuild gives.

A tiny generated export A is loaded and every model built; then export B (A plus one
day of activity, some opportunities changed, one task deleted, the missing owner of a
quarantined task added) is loaded and the models brought up to date (skipped, merged
or rebuilt). Every table must then equal,
row for row, what the model's SQL gives on the same raw data from scratch.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.quarantine import write_quarantine
from assets.run_settings import write_settings
from pipeline.contracts import load_contracts
from pipeline.definitions import RAW_TABLES
from pipeline.demo_export import generate_export
from pipeline.extract import load_object
from pipeline.incremental import CHANGES, STATE, build_model, touch
from pipeline.quality import all_contract_rules
from pipeline.resources import KpiSettings
from pipeline.sql_models import load_models
from pipeline.warehouse import MACROS, SCHEMAS, catch_up

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    generate_export(root / "a", scale="tiny", seed=7)
    edit(root / "a" / "Task.csv", row=2, OwnerId=NEW_OWNER)  # an owner not in the export: quarantined
    _bench().append_one_day(root / "a", root / "b")
    # ... and one task deleted in the CRM, one open opportunity won (newer stamps), which adds a
    # row to its history, and a history row of another opportunity that is now unreadable
    # (quarantined: its opportunity's other rows are re-sequenced without it)
    edit(root / "b" / "Task.csv", IsDeleted="1", SystemModstamp="2099-01-01 00:00:00")
    opportunities, history = rows_of(root / "b" / "Opportunity.csv"), rows_of(root / "b" / "OpportunityHistory.csv")
    won = next(i for i, r in enumerate(opportunities) if r["IsClosed"] == "0" and r["Id"] in {h["OpportunityId"] for h in history})
    closed_won = next(r for r in opportunities if r["StageName"] == "Closed Won")
    edit(root / "b" / "Opportunity.csv", row=won + 1, SystemModstamp="2099-01-01 00:00:00",
         **{c: closed_won[c] for c in ("StageName", "StageSortOrder", "IsWon", "IsClosed", "Probability",
                                       "ForecastCategory", "ForecastCategoryName")})
    last = max((i for i, h in enumerate(history) if h["OpportunityId"] == opportunities[won]["Id"]),
               key=lambda i: history[i]["CreatedDate"])
    edit(root / "b" / "OpportunityHistory.csv", row=last + 1, append=True, Id=WON_HISTORY_ROW, StageName="Closed Won",
         Probability="100", ForecastCategory="Closed", SystemModstamp="2099-01-01 00:00:00")
    unreadable = next(i for i, h in enumerate(history)
                      if h["OpportunityId"] != opportunities[won]["Id"] and i > 0 and history[i - 1]["OpportunityId"] == h["OpportunityId"])
    edit(root / "b" / "OpportunityHistory.csv", row=unreadable + 1, CreatedDate="not a date")
    # ... and an event exported again with other values but an older SystemModstamp: A's version
    # stays the latest, which only a merge that reads the record's earlier versions knows
    edit(root / "b" / "Event.csv", row=3, Subject="stale copy", SystemModstamp="2000-01-01 00:00:00")
    # ... and the missing owner of a task A quarantined arrives in User.csv: the task, unchanged,
    # leaves the quarantine, which alone changes its verdict
    edit(root / "b" / "User.csv", append=True, Id=NEW_OWNER, Username="new.owner@example.com",
         Email="new.owner@example.com")
    return root


NEW_OWNER = "005000000000NEWAAA"
WON_HISTORY_ROW = "008000000000WONAAA"


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def edit(path: Path, row: int = 1, append: bool = False, **values) -> None:
    """Change a data row of a CSV file, or append a changed copy of it (a new file: B's
    files may be links to A's)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    changed = list(rows[row]) if append else rows[row]
    for column, value in values.items():
        changed[rows[0].index(column)] = value
    if append:
        rows.append(changed)
    path.unlink()
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


def load(con, export: Path, run_id: str, scratch: Path) -> None:
    for contract in load_contracts().values():
        outcome = load_object(con, contract, export, export_id=export.name, scratch=scratch)
        touch(con, f"raw.{contract.table}", run_id, changed=outcome.get("rows_loaded", 0) > 0)


def build_all(con, models, run_id: str) -> dict[str, str]:
    """Staging, then the quarantine from the row-level rules (as the quarantine asset
    does), then everything above, in dependency order."""
    builds = {}
    for layer in (("staging",), ("core", "kpi", "marts")):
        pending = [m for m in models if m.schema in layer]
        while pending:
            for model in [m for m in pending if all(r not in {(p.schema, p.name) for p in pending} for r in m.reads)]:
                builds[model.table] = build_model(con, model, run_id)["build"]
                pending.remove(model)
        if layer == ("staging",):
            write_quarantine(con, [r for r in all_contract_rules() if r.row_level], run_id)
    return builds


@pytest.fixture(scope="module")
def built(exports, tmp_path_factory):
    """The warehouse built from A, kept as `a.duckdb`, then brought up to B in `w.duckdb`:
    (the open connection to w, their folder, the B run's builds, the models)."""
    tmp_path = tmp_path_factory.mktemp("built")
    models = load_models(external_tables=RAW_TABLES)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in SCHEMAS:
        con.execute(f"create schema {schema}")
    con.execute(MACROS)
    write_settings(con, KpiSettings())
    touch(con, "raw.run_settings", "run-1", changed=True)

    load(con, exports / "a", "run-1", tmp_path / "scratch")
    assert set(build_all(con, models, "run-1").values()) == {"rebuilt"}
    # The same export again: nothing to do.
    load(con, exports / "a", "run-2", tmp_path / "scratch")
    assert set(build_all(con, models, "run-2").values()) == {"unchanged"}

    con.execute("checkpoint")
    shutil.copyfile(tmp_path / "w.duckdb", tmp_path / "a.duckdb")  # as published after A: the next standby

    load(con, exports / "b", "run-3", tmp_path / "scratch")
    builds = build_all(con, models, "run-3")
    yield con, tmp_path, builds, models
    con.close()


def test_a_delta_build_equals_a_full_rebuild(built):
    con, _, builds, models = built
    assert builds["staging.stg_task"] == builds["staging.stg_event"] == builds["staging.stg_opportunity"] == "merged"
    assert builds["staging.stg_lead"] == builds["staging.stg_account"] == "unchanged"  # same file in A and B
    assert builds["core.int_activity"] == "merged"  # by key: the as-of flags are in the view above it
    assert builds["core.fct_activity"] == "rebuilt"
    assert builds["core.int_lead"] == "merged"  # the quarantine changed, though for no lead
    assert "unchanged" in builds.values()
    # The opportunity chain: fct_opportunity is rebuilt and logs the one deal that changed; the
    # stages, rebuilt with the same rows, keep their version; so the history merges that deal and
    # the deal whose history row went to the quarantine, and the stage visits merge those two.
    assert builds["core.fct_opportunity"] == builds["core.dim_stage"] == "rebuilt"
    assert builds["core.fct_opportunity_history"] == builds["core.int_opportunity_stage_change"] == "merged"
    assert builds["core.fct_opportunity_line_item"] == "merged"
    assert con.execute(f"select count(*) from {CHANGES} where table_name = 'core.fct_opportunity'").fetchone()[0] == 1
    assert con.execute(f"select version from {STATE} where table_name = 'core.dim_stage'").fetchone()[0] == "run-1"
    changed_deals = {r[0] for r in con.execute("""select opportunity_id from staging.stg_opportunity_history
        where opportunity_history_id = ? or created_date is null""", [WON_HISTORY_ROW]).fetchall()}
    assert len(changed_deals) == 2 and changed_deals == {r[0] for r in con.execute(
        f"select key from {CHANGES} where table_name = 'core.fct_opportunity_history'").fetchall()}

    # The task whose owner arrived is back in the activities, through the quarantine's change log alone.
    released = con.execute(f"""select count(*) from {CHANGES} as c
        join core.int_activity as a on a.activity_id = c.key and a.owner_id = ?
        where c.table_name = 'audit.quarantine'
          and c.key not in (select key from {CHANGES} where table_name = 'staging.stg_task')""",
                           [NEW_OWNER]).fetchone()[0]
    assert released == 1
    assert con.execute("""select count(*) from audit.quarantine as q join core.int_activity as a on a.activity_id = q.record_id
        where q.severity = 'error'""").fetchone()[0] == 0

    deleted = con.execute("select count(*) from raw.task where IsDeleted = '1'").fetchone()[0]
    assert deleted >= 1
    for model in models:
        if model.materialized == "view":
            continue
        # Doubles summed by parallel threads differ in the last bits from run to run: compare them rounded.
        schema, name = model.table.split(".")
        columns = ", ".join(f'round("{c}", 6)' if t in ("DOUBLE", "FLOAT") else f'"{c}"' for c, t in con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, name]).fetchall())
        differ = con.execute(f"""select count(*) from (
            (select {columns} from {model.table} except all select {columns} from ({model.select}))
            union all
            (select {columns} from ({model.select}) except all select {columns} from {model.table}))""").fetchone()[0]
        assert differ == 0, f"{model.table} ({builds[model.table]}) differs from a full rebuild in {differ} rows"
    # the merge really dropped the deleted task and kept the new day's tasks
    assert con.execute("select count(*) from staging.stg_task where system_modstamp >= '2099-01-01'").fetchone()[0] == 0
    assert con.execute(f"select count(*) from {STATE} where watermark is not null").fetchone()[0] >= 15


def test_the_standby_catches_up_with_the_warehouse_published_after_it(built):
    """The warehouse as published after A, caught up with the one published after B (merged
    staging, appended raw loads, rebuilt models, the views), holds exactly its tables."""
    con, tmp_path, _, _ = built
    con.execute("checkpoint")
    shutil.copyfile(tmp_path / "w.duckdb", tmp_path / "published.duckdb")
    standby = duckdb.connect(str(tmp_path / "a.duckdb"))
    done = catch_up(standby, tmp_path / "published.duckdb")
    assert min(done.values()) >= 1, done  # some tables of each kind: unchanged, merged, appended, copied
    standby.execute(f"attach '{tmp_path / 'published.duckdb'}' as published (read_only)")
    objects = standby.execute("""select schema_name, table_name, 'table' from duckdb_tables() where database_name = 'published'
        union all select schema_name, view_name, 'view' from duckdb_views() where database_name = 'published' and not internal
        order by all""").fetchall()
    assert objects == standby.execute("""select schema_name, table_name, 'table' from duckdb_tables() where database_name = 'a'
        union all select schema_name, view_name, 'view' from duckdb_views() where database_name = 'a' and not internal
        order by all""").fetchall()
    for schema, name, _ in objects:
        table = f'"{schema}"."{name}"'
        differ = standby.execute(f"""select count(*) from (
            (select * from {table} except all select * from published.{table})
            union all
            (select * from published.{table} except all select * from {table}))""").fetchone()[0]
        assert differ == 0, f"{schema}.{name} differs from the published one in {differ} rows after catching up"
    standby.close()
