"""Crash safety of `Warehouse.publish` and of the start of a run, and the kept work copy of
the last failed run.

Every step of publish (and the claim and catch-up of the standby at a run's start) is made
to fail at the Nth call of the system call it makes: in-process with an OSError ("raise":
the error paths run, then teardown as Dagster calls it), or in a child process that dies
right there with `os._exit` ("kill": no cleanup at all, as after a power cut of the process).
Afterwards the published file is byte-identical (a crash before the final rename) or the
crashed run's build (after it), and no name a run could take as its work copy shares the
published inode. Then the next run must succeed and publish, and a run that fails on purpose
must leave what it published byte-identical. For the crash points that leave a distinct state
on disk the next runs are real nightly runs (a changed export, then one whose Opportunity.csv
lacks the required CloseDate); for the others, which leave one of those same states, they are
direct runs of the warehouse resource (connect, write, publish or fail), a second apiece.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse as wh_mod
from pipeline.cli import failure_text
from pipeline.warehouse import STANDBY, StandbyMismatch, Warehouse, last_failed_work_copy
from tests.test_bad_input_corpus import U2, opp, published, run, small_export

REPO = Path(__file__).resolve().parents[1]
CRASHED = 86  # the exit status of a child killed at its crash point
BASE_OPPS = [opp(1), opp(2, "Closed Won", closed="1", won="1"), opp(3, "Closed Lost", closed="1"),
             opp(4, owner=U2, currency="EUR"), opp(5, "Qualification", owner=U2)]  # small_export's default


def work_dir(root: Path) -> Path:
    return root / "warehouse" / ".work"


def next_export(path: Path) -> Path:
    """The base export and one opportunity more."""
    return small_export(path, opps=BASE_OPPS + [opp(6, "Qualification")])


def bad_export(path: Path) -> Path:
    """A blocking problem: Opportunity.csv without its required CloseDate column."""
    small_export(path)
    csv = path / "Opportunity.csv"
    header, rest = csv.read_text().split("\n", 1)
    csv.write_text(header.replace('"CloseDate",', "") + "\n" + rest)
    return path


def opportunities(root: Path) -> int:
    with duckdb.connect(str(published(root)), read_only=True) as con:
        return con.execute("select count(*) from core.fct_opportunity").fetchone()[0]


def marker(root: Path, table: str = "crash_marker") -> str | None:
    with duckdb.connect(str(published(root)), read_only=True) as con:
        if not con.execute("select count(*) from duckdb_tables() where schema_name = 'audit' and table_name = ?",
                           [table]).fetchone()[0]:
            return None
        return con.execute(f"select run_id from audit.{table}").fetchone()[0]


def second_names(root: Path) -> list[str]:
    """Every other name of the published file's inode under the warehouse folder."""
    pub = published(root)
    return sorted(str(p.relative_to(root / "warehouse")) for p in (root / "warehouse").rglob("*")
                  if p != pub and p.is_file() and os.path.samefile(p, pub))


def assert_standby_safe(root: Path) -> None:
    standby = work_dir(root) / STANDBY
    if os.path.lexists(standby):
        assert not standby.is_symlink()
        assert not os.path.samefile(standby, published(root)), "the standby is the published file"
        assert standby.stat().st_nlink == 1


# --- crash injection ----------------------------------------------------------------------------


@contextlib.contextmanager
def injected(target: str, nth: int, mode: str):
    """Make the nth call of `target` fail: raise (an OSError, or StandbyMismatch for catch_up) or
    kill the process (os._exit). shutil.copyfile and catch_up do half their work first."""
    state = {"calls": 0, "hit": False}

    def fail(error: BaseException):
        state["hit"] = True
        if mode == "kill":
            os._exit(CRASHED)
        raise error

    def due() -> bool:
        state["calls"] += 1
        return state["calls"] == nth

    def syscall(real):
        def wrapper(*args, **kwargs):
            if due():
                fail(OSError(errno.EIO, f"injected failure of {target} #{nth}"))
            return real(*args, **kwargs)
        return wrapper

    def copyfile(real):
        def wrapper(src, dst, *args, **kwargs):
            if due():
                data = Path(src).read_bytes()
                Path(dst).write_bytes(data[: len(data) // 2])  # half written when it stops
                fail(OSError(errno.ENOSPC, "injected: no space left on device"))
            return real(src, dst, *args, **kwargs)
        return wrapper

    def catch_up(real):
        def wrapper(con, published_file):
            if due():
                con.execute("delete from raw.opportunity")  # catching up, half-way
                fail(StandbyMismatch("injected: raw.opportunity: 0 rows after catching up"))
            return real(con, published_file)
        return wrapper

    from pipeline import dashboards

    patches = {"os.fsync": (os, "fsync", syscall), "os.link": (os, "link", syscall),
               "os.replace": (os, "replace", syscall), "swap": (os, "replace", syscall),
               "shutil.copyfile": (wh_mod.shutil, "copyfile", copyfile),
               "catch_up": (wh_mod, "catch_up", catch_up)}
    owner, name, wrap = patches[target]
    real = getattr(owner, name)
    real_exchange = dashboards._exchange
    setattr(owner, name, wrap(real))
    if target == "swap":  # swap_into's fallback, two renames: the crash falls between them
        dashboards._exchange = lambda a, b: False
    try:
        yield state
    finally:
        setattr(owner, name, real)
        dashboards._exchange = real_exchange


def crash_publish(root: str | Path, target: str, nth: int, mode: str) -> dict:
    """One run, straight through the warehouse resource: connect (take the standby and catch it
    up, or copy), write a marker, stage dashboard pages, publish; `target`'s nth call fails."""
    warehouse = Warehouse(path=str(published(Path(root))))
    warehouse._run_id = "crashrun"
    outcome = {"raised": None}
    at_start = target == "catch_up"
    with injected(target, nth, mode) if at_start else contextlib.nullcontext({}) as state:
        con = warehouse.connect()
    outcome["prepared"] = wh_mod._OPEN[str(warehouse.work_path)].prepared
    con.execute("create or replace table audit.crash_marker as select 'crashrun' as run_id")
    warehouse.staged_dashboards_path.mkdir(parents=True, exist_ok=True)
    (warehouse.staged_dashboards_path / "index.html").write_text("the crash run's pages")
    try:
        with contextlib.nullcontext(state) if at_start else injected(target, nth, mode) as state:
            try:
                warehouse.publish()
            except OSError as e:
                outcome["raised"] = str(e)
    finally:
        warehouse.teardown_after_execution(None)  # as Dagster does after the step failed
    outcome["hit"] = state["hit"]
    return outcome


def crash(root: Path, target: str, nth: int, mode: str) -> dict:
    if mode == "raise":
        return crash_publish(root, target, nth, mode)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tests.test_publish_crash import crash_publish; "
            "crash_publish(sys.argv[2], sys.argv[3], int(sys.argv[4]), 'kill')")
    env = os.environ | {"PIPELINE_HOME": str(root), "DAGSTER_HOME": str(root)}
    child = subprocess.run([sys.executable, "-c", code, str(REPO), str(root), target, str(nth)],
                           env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert child.returncode == CRASHED, f"never reached {target} #{nth}: {child.returncode}\n{child.stderr[-3000:]}"
    return {"hit": True, "raised": None, "prepared": None}


def direct_run(root: Path, run_id: str, fail: bool = False) -> dict | None:
    """A run through the warehouse resource alone: takes its work copy, writes, then publishes or fails."""
    warehouse = Warehouse(path=str(published(root)))
    warehouse._run_id = run_id
    con = warehouse.connect()
    con.execute("create or replace table audit.direct_marker as select ? as run_id", [run_id])
    try:
        return None if fail else warehouse.publish()
    finally:
        warehouse.teardown_after_execution(None)


# --- homes --------------------------------------------------------------------------------------


@contextlib.contextmanager
def home_env(root: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_HOME", str(root))
        mp.setenv("DAGSTER_HOME", str(root))
        for name in ("WAREHOUSE_PATH", "SF_EXPORT_PATH", "SF_INBOX_PATH", "KPI_AS_OF_DATE"):
            mp.delenv(name, raising=False)
        yield root


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A warehouse published once from the small export (with its pages and first-build standby)."""
    root = tmp_path_factory.mktemp("publish_base")
    with home_env(root):
        result = run(small_export(root / "export"))
    assert result.success
    return root


@pytest.fixture
def home(base, tmp_path):
    """A private copy of the base warehouse, as PIPELINE_HOME."""
    root = tmp_path / "home"
    shutil.copytree(base / "warehouse", root / "warehouse")
    with home_env(root):
        yield root


@pytest.fixture
def empty_home(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    with home_env(root):
        yield root


def step_failures(result) -> str:
    return "\n".join(f"{e.step_key}: {failure_text(e)}" for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def assert_next_runs_are_correct(root: Path, tmp_path: Path, full: bool, crashed_opportunities: int | None) -> None:
    """The next run publishes; a failing run after it changes nothing."""
    if full:
        result = run(next_export(tmp_path / "next"))
        assert result.success, step_failures(result)
        assert opportunities(root) == 6
        assert (root / "warehouse" / "dashboards" / "index.html").read_text().startswith("<!doctype html>")
    else:
        direct_run(root, "next")
        assert marker(root, "direct_marker") == "next"
        if crashed_opportunities is not None:
            assert opportunities(root) == crashed_opportunities
    assert second_names(root) == []
    assert (work_dir(root) / STANDBY).exists(), "the next publish leaves a standby"
    assert_standby_safe(root)
    assert not list((root / "warehouse").glob(".dashboards.old-*"))
    before = published(root).read_bytes()
    if full:
        result = run(bad_export(tmp_path / "bad"))
        assert not result.success
        assert "required column(s) CloseDate missing" in step_failures(result)
    else:
        direct_run(root, "failing", fail=True)
    assert published(root).read_bytes() == before
    assert second_names(root) == []
    assert_standby_safe(root)
    kept = last_failed_work_copy(published(root))
    assert kept is not None and kept.parent == work_dir(root) / "failed"
    assert not os.path.samefile(kept, published(root))


# (name, target, nth call, mode, first build, the crash run published, full next runs)
CASES = [
    # kill: the process dies at that point
    ("kill_after_checkpoint", "os.fsync", 1, "kill", False, False, False),
    ("kill_after_fsync", "os.link", 1, "kill", False, False, True),
    ("kill_after_link", "os.replace", 1, "kill", False, False, True),  # standby.linking = the published file
    ("kill_after_replace", "os.fsync", 2, "kill", False, True, False),
    ("kill_before_standby_rename", "os.replace", 2, "kill", False, True, True),
    ("kill_mid_dashboards_swap", "swap", 4, "kill", False, True, True),  # old pages renamed away, new not in
    ("kill_mid_first_standby_copy", "shutil.copyfile", 1, "kill", True, True, True),
    ("kill_before_first_standby_rename", "os.replace", 2, "kill", True, True, False),
    ("kill_mid_catch_up", "catch_up", 1, "kill", False, False, False),  # the start of a run
    # raise: the step fails, the error paths and teardown run
    ("fsync_fails", "os.fsync", 1, "raise", False, False, False),
    ("final_replace_fails", "os.replace", 1, "raise", False, False, True),
    ("no_hard_links", "os.link", 1, "raise", False, True, True),
    ("standby_rename_fails", "os.replace", 2, "raise", False, True, False),
    ("no_room_for_first_standby", "shutil.copyfile", 1, "raise", True, True, False),
    ("catch_up_fails_half_way", "catch_up", 1, "raise", False, True, False),  # the run copies instead
]


@pytest.mark.parametrize("name, target, nth, mode, first_build, replaced, full", CASES, ids=[c[0] for c in CASES])
def test_a_crash_at_every_step_of_publish_leaves_the_warehouse_whole(
        request, tmp_path, name, target, nth, mode, first_build, replaced, full):
    root = request.getfixturevalue("empty_home" if first_build else "home")
    before = None if first_build else published(root).read_bytes()
    outcome = crash(root, target, nth, mode)
    assert outcome["hit"], f"{target} #{nth} was never called"

    if replaced:
        assert marker(root) == "crashrun", "the crash run's build is published"
    elif first_build:
        assert not published(root).exists()
    else:
        assert published(root).read_bytes() == before, "the published file changed before the final rename"
    assert_standby_safe(root)
    # The one other name of the published file a crash may leave is `standby.linking`, which no run takes.
    assert set(second_names(root)) <= ({".work/standby.linking"} if mode == "kill" else set())
    if name == "kill_after_link":
        assert second_names(root) == [".work/standby.linking"]
    if mode == "raise" and not replaced and target != "catch_up":
        assert outcome["raised"] and last_failed_work_copy(published(root)) == work_dir(root) / "failed" / "crashrun.duckdb"
    if name == "catch_up_fails_half_way":
        assert outcome["prepared"].startswith("copied: the standby could not be used (injected")
    if name == "kill_mid_dashboards_swap":
        assert not (root / "warehouse" / "dashboards").exists() and list((root / "warehouse").glob(".dashboards.old-*"))

    assert_next_runs_are_correct(root, tmp_path, full, None if first_build else 5)


def test_a_standby_that_is_the_published_file_is_dropped_and_never_built_in(home, tmp_path):
    """The state a crash between hard-linking the standby and renaming the work copy left before
    the fix: standby.duckdb and the published file one inode."""
    standby = work_dir(home) / STANDBY

    def make_bad_state():
        standby.unlink(missing_ok=True)
        os.link(published(home), standby)
        assert os.path.samefile(standby, published(home)) and published(home).stat().st_nlink == 2

    make_bad_state()
    before = published(home).read_bytes()
    result = run(bad_export(tmp_path / "bad"))  # loads other objects into its work copy, then fails
    assert not result.success
    assert published(home).read_bytes() == before
    assert published(home).stat().st_nlink == 1 and second_names(home) == []
    kept = last_failed_work_copy(published(home))
    assert kept is not None and not os.path.samefile(kept, published(home))

    make_bad_state()
    result = run(next_export(tmp_path / "next"))
    assert result.success, step_failures(result)
    prepared = result.asset_materializations_for_node("publish__warehouse")[-1].metadata["work_copy"].value
    assert prepared == "copied: the standby was dropped (the published file itself, under a second name)"
    assert opportunities(home) == 6
    assert second_names(home) == []
    assert standby.exists()
    assert_standby_safe(home)


def test_a_standby_with_another_name_is_not_built_in(home):
    """A standby hard-linked elsewhere (a backup made with hard links, say) is dropped by name."""
    standby = work_dir(home) / STANDBY
    backup = home / "backup.duckdb"
    os.link(standby, backup)
    kept = backup.read_bytes()
    assert direct_run(home, "r1")["work_copy"] == "copied: the standby was dropped (a file with 2 names)"
    assert backup.read_bytes() == kept and backup.stat().st_nlink == 1
    assert_standby_safe(home)


def test_the_last_failed_runs_work_copy_is_kept_and_only_that(home, tmp_path):
    assert last_failed_work_copy(published(home)) is None
    before = published(home).read_bytes()
    first = run(bad_export(tmp_path / "bad1"))
    assert not first.success
    kept = work_dir(home) / "failed" / f"{first.run_id}.duckdb"
    assert last_failed_work_copy(published(home)) == kept
    assert last_failed_work_copy() == kept  # default: WAREHOUSE_PATH
    with duckdb.connect(str(kept), read_only=True) as con:  # what the run loaded before it failed
        assert con.execute("select count(*) from raw.user").fetchone()[0] == 2
        assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == 5  # the earlier load
    kept_bytes = kept.read_bytes()

    # Runs that do not fail leave it: not stale, not a standby.
    assert direct_run(home, "ok")["work_copy"] == "copied: no standby"  # the failed run used up the standby
    assert kept.read_bytes() == kept_bytes and last_failed_work_copy(published(home)) == kept
    direct_run(home, "ok2")
    assert kept.read_bytes() == kept_bytes
    before = published(home).read_bytes()

    second = run(bad_export(tmp_path / "bad2"))
    assert not second.success
    assert sorted(p.name for p in (work_dir(home) / "failed").iterdir()) == [f"{second.run_id}.duckdb"]
    assert last_failed_work_copy(published(home)) == work_dir(home) / "failed" / f"{second.run_id}.duckdb"
    assert published(home).read_bytes() == before
    assert not [p for p in work_dir(home).glob("*.duckdb") if p.name != STANDBY]


def test_a_run_that_did_not_fail_but_did_not_publish_discards_its_work_copy(home):
    class Instance:
        def all_logs(self, run_id, of_type=None):
            return []

    class Run:
        run_id = "subset"

    class Context:
        instance, run = Instance(), Run()

    warehouse = Warehouse(path=str(published(home)))
    warehouse._run_id = "subset"
    warehouse.connect()
    warehouse.teardown_after_execution(Context())
    assert last_failed_work_copy(published(home)) is None
    assert not warehouse.work_path.exists()
