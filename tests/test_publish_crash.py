"""Crash safety of `Warehouse.publish` and of the start of a run, and the kept work copy of
the last failed run.

Every step of publish (and the claim and catch-up of the standby at a run's start) is made
to fail at the Nth call of the system call it makes: in-process with an OSError ("raise":
the error paths run, then teardown as Dagster calls it), or in a forked child that dies right
there with `os._exit` ("kill": no cleanup at all, as after a power cut of the process).
Afterwards the published file is byte-identical (a crash before the final rename) or the
crashed run's build (after it), no name a run could take as its work copy shares the published
inode, and what is left on disk is exactly the state the case's group names (`STATES`): the
crash points are grouped by the state they leave, and each case asserts its own.

Then, for every case, the next run and a run that fails after it go through the warehouse
resource (take the work copy, write, stage a page, then publish or fail): the next run must not
change the published file before its own rename, must build on what was published, clear what
the crash left and leave a safe standby; the failing run must leave what it published
byte-identical. What a crash leaves is dealt with where a run starts (which names in .work it
deletes, whether it takes the standby) and in publish; the rest of the nightly job only sees the
work copy it is given. After every crash that copy is a byte copy of the published file, or the
standby caught up as after any run that published, so the job cannot tell the next run from any
other; except that a crash mid-way through swapping the dashboard pages leaves no published pages
(the old ones renamed aside), which the job's own page rendering then has to fill. That state
alone gets real nightly runs (a changed export, then one whose Opportunity.csv lacks the required
CloseDate).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from pipeline import warehouse as wh_mod
from pipeline.cli import failure_text
from pipeline.warehouse import STANDBY, StandbyMismatch, Warehouse, last_failed_work_copy
from tests.test_bad_input_corpus import U2, opp, published, run, small_export

CRASHED = 86  # the exit status of a child killed at its crash point
NOT_REACHED = 87  # the exit status of a child that returned or raised before its crash point
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


def facts(root: Path) -> dict[str, str | int | None]:
    """What the published warehouse holds (None: no such table): the markers the crash run and the
    direct runs write, and the opportunities the real runs load."""
    with duckdb.connect(str(published(root)), read_only=True) as con:
        tables = {t for (t,) in con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()}

        def value(table: str, sql: str):
            return con.execute(sql.format(table)).fetchone()[0] if table in tables else None

        return {"crash marker": value("audit.crash_marker", "select run_id from {}"),
                "direct marker": value("audit.direct_marker", "select run_id from {}"),
                "opportunities": value("core.fct_opportunity", "select count(*) from {}")}


def marker(root: Path) -> str | None:
    """The run id of the crash run's marker, when its build is the published one."""
    return facts(root)["crash marker"]


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


def published_bytes(root: Path) -> bytes | None:
    return published(root).read_bytes() if published(root).exists() else None


class Snapshot(NamedTuple):
    """The published file before a crash: its inode and its bytes (None: there was none)."""
    inode: int | None
    data: bytes | None

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        pub = published(root)
        return cls(pub.stat().st_ino, pub.read_bytes()) if pub.exists() else cls(None, None)


def pages(folder: Path) -> str:
    index = folder / "index.html"
    text = index.read_text() if index.exists() else ""
    return ("rendered pages" if text.startswith("<!doctype html>")
            else "the crash run's pages" if text == "the crash run's pages" else f"other: {text[:40]!r}")


def leftovers(root: Path, before: Snapshot) -> dict[str, str]:
    """What is on disk, in the terms the next run's start goes by: the published file, every name
    in .work (and .work/failed) with what file it is, and the dashboard pages (with any set of
    old ones a swap left aside). Names that are absent are not listed."""
    warehouse, pub = root / "warehouse", published(root)

    def what(path: Path) -> str:
        if path.is_dir():
            return "a folder"
        if pub.exists() and os.path.samefile(path, pub):
            return "the published file"
        if path.stat().st_ino == before.inode and path.read_bytes() == before.data:
            return "the replaced file"
        return "a file of its own"

    found = {"warehouse.duckdb": "absent" if not pub.exists() else
             "unchanged" if pub.read_bytes() == before.data else f"the build of {marker(root)}"}
    for path in [*work_dir(root).glob("*"), *(work_dir(root) / "failed").glob("*")]:
        if path.name not in ("spill", "failed"):
            found[str(path.relative_to(warehouse))] = what(path)
    for path in [warehouse / "dashboards", *warehouse.glob(".dashboards.old-*")]:
        if path.exists():
            found[".dashboards.old-*" if path.name.startswith(".") else "dashboards"] = pages(path)
    return found


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
    """`crash_publish` in this process ("raise"), or in a forked child that dies at the crash point
    ("kill"): it runs no finally block, no teardown, no atexit, and its open files just close."""
    if mode == "raise":
        return crash_publish(root, target, nth, mode)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: it must never return into pytest
        try:
            crash_publish(root, target, nth, "kill")
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(NOT_REACHED)
    deadline = time.monotonic() + 120
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the child crashing at {target} #{nth} hung")
        time.sleep(0.01)
    code = os.waitstatus_to_exitcode(waited[1])
    assert code == CRASHED, f"never reached {target} #{nth}: exit status {code} (its traceback is in the captured stderr)"
    return {"hit": True, "raised": None, "prepared": None}


def direct_run(root: Path, run_id: str, fail: bool = False) -> dict | None:
    """A run through the warehouse resource alone: takes its work copy (the start of a run), writes a
    marker and checkpoints it into the work copy, stages a dashboard page, then publishes or fails
    (teardown as after a failed step). Until it publishes, the published file must not change: a
    work copy that shared its inode would show the marker's checkpoint there."""
    before = published_bytes(root)
    warehouse = Warehouse(path=str(published(root)))
    warehouse._run_id = run_id
    try:
        con = warehouse.connect()
        con.execute("create or replace table audit.direct_marker as select ? as run_id", [run_id])
        con.execute("checkpoint")
        assert published_bytes(root) == before, f"run {run_id} wrote into the published file"
        warehouse.staged_dashboards_path.mkdir(parents=True, exist_ok=True)
        (warehouse.staged_dashboards_path / "index.html").write_text(f"{run_id}'s pages")
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
    """A warehouse published once from the small export (with its pages and first-build standby):
    the module's one first build through the nightly job, copied by every test that needs one."""
    root = tmp_path_factory.mktemp("publish_base")
    with home_env(root):
        result = run(small_export(root / "export"))
    assert result.success
    return root


@contextlib.contextmanager
def private_home(base: Path, tmp_path: Path, first_build: bool = False):
    """PIPELINE_HOME: a private copy of the base warehouse, or (first_build) an empty one."""
    root = tmp_path / ("empty" if first_build else "home")
    if first_build:
        root.mkdir()
    else:
        shutil.copytree(base / "warehouse", root / "warehouse")
    with home_env(root):
        yield root


@pytest.fixture
def home(base, tmp_path):
    """A private copy of the base warehouse, as PIPELINE_HOME."""
    with private_home(base, tmp_path) as root:
        yield root


def step_failures(result) -> str:
    return "\n".join(f"{e.step_key}: {failure_text(e)}" for e in result.all_events if e.event_type_value == "STEP_FAILURE")


# --- every crash point --------------------------------------------------------------------------

OWN, FOLDER, REPLACED, PUBLISHED_FILE = "a file of its own", "a folder", "the replaced file", "the published file"
CRASH_BUILD, RENDERED, CRASH_PAGES = "the build of crashrun", "rendered pages", "the crash run's pages"
PAGES_SWAPPED_OUT = "published; the old pages renamed away, the new ones not in"

# What each kind of crash leaves (see `leftovers`); the base warehouse had its published file, a
# standby (the first build's copy) and rendered pages. "The replaced file" is the inode that was
# published before the crash run, with its bytes.
STATES = {
    "the crash run's work copy left": {
        "warehouse.duckdb": "unchanged", ".work/crashrun.duckdb": OWN, ".work/crashrun-dashboards": FOLDER,
        "dashboards": RENDERED},
    "the crash run's work copy left, and standby.linking naming the published file": {
        "warehouse.duckdb": "unchanged", ".work/crashrun.duckdb": OWN, ".work/crashrun-dashboards": FOLDER,
        ".work/standby.linking": PUBLISHED_FILE, "dashboards": RENDERED},
    "the claimed standby left half caught up": {
        "warehouse.duckdb": "unchanged", ".work/crashrun.duckdb": OWN, ".work/crashrun.duckdb.wal": OWN,
        "dashboards": RENDERED},
    "the work copy kept as the last failed one": {
        "warehouse.duckdb": "unchanged", ".work/failed/crashrun.duckdb": OWN, "dashboards": RENDERED},
    "published; standby.linking naming the replaced file": {
        "warehouse.duckdb": CRASH_BUILD, ".work/standby.linking": REPLACED, ".work/crashrun-dashboards": FOLDER,
        "dashboards": RENDERED},
    PAGES_SWAPPED_OUT: {
        "warehouse.duckdb": CRASH_BUILD, ".work/standby.duckdb": REPLACED, ".work/crashrun-dashboards": FOLDER,
        ".dashboards.old-*": RENDERED},
    "a first build published; its standby copy unfinished": {
        "warehouse.duckdb": CRASH_BUILD, ".work/standby.copying": OWN, ".work/crashrun-dashboards": FOLDER},
    "published, without a standby": {"warehouse.duckdb": CRASH_BUILD, "dashboards": CRASH_PAGES},
    "published, as by a run that did not crash": {
        "warehouse.duckdb": CRASH_BUILD, ".work/standby.duckdb": REPLACED, "dashboards": CRASH_PAGES},
}


class Case(NamedTuple):
    name: str
    target: str  # the call made to fail (see `injected`)
    nth: int  # its nth call in the run
    mode: str  # "kill" or "raise"
    first_build: bool  # no warehouse published before the crash run
    state: str  # what it leaves: a key of STATES

    @property
    def published(self) -> bool:
        """Whether the crash came after the final rename (the crash run's build is published)."""
        return STATES[self.state]["warehouse.duckdb"] == CRASH_BUILD


CASES = [
    # kill: the process dies at that point
    Case("kill_after_checkpoint", "os.fsync", 1, "kill", False, "the crash run's work copy left"),
    Case("kill_after_fsync", "os.link", 1, "kill", False, "the crash run's work copy left"),
    Case("kill_after_link", "os.replace", 1, "kill", False,
         "the crash run's work copy left, and standby.linking naming the published file"),
    Case("kill_after_replace", "os.fsync", 2, "kill", False, "published; standby.linking naming the replaced file"),
    Case("kill_before_standby_rename", "os.replace", 2, "kill", False,
         "published; standby.linking naming the replaced file"),
    Case("kill_mid_dashboards_swap", "swap", 4, "kill", False, PAGES_SWAPPED_OUT),
    Case("kill_mid_first_standby_copy", "shutil.copyfile", 1, "kill", True,
         "a first build published; its standby copy unfinished"),
    Case("kill_before_first_standby_rename", "os.replace", 2, "kill", True,
         "a first build published; its standby copy unfinished"),
    Case("kill_mid_catch_up", "catch_up", 1, "kill", False, "the claimed standby left half caught up"),  # a run's start
    # raise: the step fails, the error paths and teardown run
    Case("fsync_fails", "os.fsync", 1, "raise", False, "the work copy kept as the last failed one"),
    Case("final_replace_fails", "os.replace", 1, "raise", False, "the work copy kept as the last failed one"),
    Case("no_hard_links", "os.link", 1, "raise", False, "published, without a standby"),
    Case("standby_rename_fails", "os.replace", 2, "raise", False, "published, without a standby"),
    Case("no_room_for_first_standby", "shutil.copyfile", 1, "raise", True, "published, without a standby"),
    Case("catch_up_fails_half_way", "catch_up", 1, "raise", False,  # a run's start: it copies instead
         "published, as by a run that did not crash"),
]


def work_names(root: Path) -> set[str]:
    return {p.name for p in work_dir(root).iterdir()} - {"spill", "failed"}


def assert_next_runs_are_correct(root: Path, case: Case) -> None:
    """The next run (through the warehouse resource; `direct_run` asserts it leaves the published
    file alone until its rename) publishes on top of what was published and clears what the crash
    left; a run that fails after it changes nothing."""
    assert direct_run(root, "next") is not None
    assert facts(root) == {"direct marker": "next",  # on top of what was published, with the base's opportunities
                           "crash marker": "crashrun" if case.published else None,
                           "opportunities": None if case.first_build else 5}
    assert (root / "warehouse" / "dashboards" / "index.html").read_text() == "next's pages"
    assert not list((root / "warehouse").glob(".dashboards.old-*"))
    assert work_names(root) == {STANDBY}, "the crashed run's leftovers are gone and the next publish leaves a standby"
    assert second_names(root) == []
    assert_standby_safe(root)

    before = published(root).read_bytes()
    direct_run(root, "failing", fail=True)
    assert published(root).read_bytes() == before
    assert second_names(root) == []
    assert_standby_safe(root)
    kept = last_failed_work_copy(published(root))
    assert kept == work_dir(root) / "failed" / "failing.duckdb"
    assert not os.path.samefile(kept, published(root))


def test_every_state_a_crash_leaves_is_named_once():
    """Every state in STATES is left by some crash point (no stale entry)."""
    assert sorted({case.state for case in CASES}) == sorted(STATES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_crash_at_every_step_of_publish_leaves_the_warehouse_whole(base, tmp_path, case):
    """The published file byte-identical or replaced, no second name a run could take, exactly the
    leftovers of the case's state; then the next run and a failing one (`assert_next_runs_are_correct`)."""
    with private_home(base, tmp_path, case.first_build) as root:
        before = Snapshot.of(root)
        outcome = crash(root, case.target, case.nth, case.mode)
        assert outcome["hit"], f"{case.target} #{case.nth} was never called"

        left = leftovers(root, before)
        if case.published:
            assert left["warehouse.duckdb"] == CRASH_BUILD, "the crash run's build is published"
        else:
            assert published_bytes(root) == before.data, "the published file changed before the final rename"
        assert_standby_safe(root)
        # The one other name of the published file a crash may leave is `standby.linking`, which no run takes.
        assert set(second_names(root)) <= ({".work/standby.linking"} if case.mode == "kill" else set())
        assert left == STATES[case.state]
        if case.mode == "raise" and not case.published:
            assert outcome["raised"]
            assert last_failed_work_copy(published(root)) == work_dir(root) / "failed" / "crashrun.duckdb"
        if case.target == "catch_up" and case.mode == "raise":
            assert outcome["prepared"].startswith("copied: the standby could not be used (injected")

        assert_next_runs_are_correct(root, case)


def test_the_nightly_job_recovers_from_a_crash_mid_dashboards_swap(home, tmp_path):
    """Real nightly runs after the one crash whose state reaches past the work copy the job is given:
    the crashed run had published its build and renamed the old pages aside when it died, leaving no
    published pages. The next run catches the standby (the file the crash replaced) up with that
    build, loads a changed export, renders its pages into the place left empty and deletes the old
    ones; then a run that fails changes nothing and keeps its work copy."""
    before = Snapshot.of(home)
    crash(home, "swap", 4, "kill")
    assert leftovers(home, before) == STATES[PAGES_SWAPPED_OUT]

    result = run(next_export(tmp_path / "next"))
    assert result.success, step_failures(result)
    prepared = result.asset_materializations_for_node("publish__warehouse")[-1].metadata["work_copy"].value
    assert prepared.startswith("standby caught up"), prepared
    # the changed export's opportunities, on top of the crashed run's build
    assert facts(home) == {"crash marker": "crashrun", "direct marker": None, "opportunities": 6}
    assert pages(home / "warehouse" / "dashboards") == RENDERED
    assert not list((home / "warehouse").glob(".dashboards.old-*"))
    assert work_names(home) == {STANDBY}
    assert second_names(home) == []
    assert_standby_safe(home)

    before_bytes = published(home).read_bytes()
    result = run(bad_export(tmp_path / "bad"))
    assert not result.success
    assert "required column(s) CloseDate missing" in step_failures(result)
    assert published(home).read_bytes() == before_bytes
    assert second_names(home) == []
    assert_standby_safe(home)
    kept = last_failed_work_copy(published(home))
    assert kept == work_dir(home) / "failed" / f"{result.run_id}.duckdb"
    assert not os.path.samefile(kept, published(home))


# --- standbys a run must not take ---------------------------------------------------------------


def test_a_standby_that_is_the_published_file_is_dropped_and_never_built_in(home):
    """The state a crash between hard-linking the standby and renaming the work copy left before
    the fix: standby.duckdb and the published file one inode. A run that fails, then one that
    publishes, through the warehouse resource (a run takes or drops the standby as it starts:
    the job adds nothing); `direct_run` asserts that neither writes into the published file."""
    standby = work_dir(home) / STANDBY

    def make_bad_state():
        standby.unlink(missing_ok=True)
        os.link(published(home), standby)
        assert os.path.samefile(standby, published(home)) and published(home).stat().st_nlink == 2

    make_bad_state()
    before = published(home).read_bytes()
    direct_run(home, "failing", fail=True)
    assert published(home).read_bytes() == before
    assert published(home).stat().st_nlink == 1 and second_names(home) == []
    kept = last_failed_work_copy(published(home))
    assert kept == work_dir(home) / "failed" / "failing.duckdb" and not os.path.samefile(kept, published(home))

    make_bad_state()
    outcome = direct_run(home, "next")
    assert outcome["work_copy"] == "copied: the standby was dropped (the published file itself, under a second name)"
    assert facts(home) == {"direct marker": "next", "crash marker": None, "opportunities": 5}
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


# --- the last failed run's work copy ------------------------------------------------------------


def test_the_last_failed_runs_work_copy_is_kept_and_only_that(home, tmp_path):
    """A real failed run's work copy is kept with what it loaded; runs that succeed leave it; the
    next failed run (through the resource: the same teardown) replaces it."""
    assert last_failed_work_copy(published(home)) is None
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

    direct_run(home, "failing2", fail=True)
    assert sorted(p.name for p in (work_dir(home) / "failed").iterdir()) == ["failing2.duckdb"]
    assert last_failed_work_copy(published(home)) == work_dir(home) / "failed" / "failing2.duckdb"
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
