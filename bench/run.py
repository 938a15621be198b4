"""Benchmark: the pipeline against DuckDB itself, measured side by side in one run.

    .venv/bin/python bench/run.py                      # enterprise scale (~14 GB export)
    .venv/bin/python bench/run.py --scale 0.1 0.01     # growth at smaller scales
    .venv/bin/python bench/run.py --scale tiny         # smoke run (the test suite does this)

For each scale it generates (or reuses) a demo export, then runs, each in its own
process so peak RSS is that process's own, and each after reading its export into the
page cache:

- baseline_ingest: bare `CREATE TABLE AS SELECT * FROM read_csv(...)` of every file
- baseline_sql: the same load plus every SQL model, in one DuckDB connection, no
  Dagster, no checks
- nightly: the real nightly job (extract, models, KPIs, marts, checks, publish) on an
  empty warehouse
- delta: the nightly job again, on a copy of what that run left (its warehouse and
  standby), with an export that differs by one more day of activity

and prints the ratios the goals are stated in; raw figures go to bench/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {
    "orchestration_overhead": ("nightly ÷ baseline_sql", 1.25),
    "ingest": ("extract steps ÷ baseline_ingest", 1.25),
    "checks_share": ("check steps ÷ nightly", 0.2),
    "nightly_delta": ("delta ÷ nightly", 0.3),
}
GIB = 1 << 30


# --- workers: each runs in its own process -------------------------------------------


def worker_baseline(export: Path, db: Path, with_models: bool) -> dict:
    import duckdb

    from pipeline.contracts import load_contracts
    from pipeline.extract import LOAD_COLUMNS, find_object_file, quote, read_header
    from pipeline.resources import KpiSettings
    from pipeline.warehouse import MACROS, SCHEMAS, Warehouse
    from assets.quarantine import COLUMNS as QUARANTINE_COLUMNS
    from assets.run_settings import write_settings
    from pipeline.definitions import RAW_TABLES
    from pipeline.sql_models import load_models, run_models

    # The same DuckDB settings as the pipeline's Warehouse resource, so only orchestration differs.
    settings = Warehouse()
    con = duckdb.connect(str(db), config=settings.duckdb_config(db.parent / "spill"))
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute(MACROS)
    started = time.perf_counter()
    for contract in load_contracts().values():
        path = find_object_file(export, contract)
        table = f"raw.{contract.table}"
        if path is None:
            columns = ", ".join(f"{quote(f.name)} varchar" for f in contract.fields)
            con.execute(f"create table {table} ({columns}, " + ", ".join(f"{c} {t}" for c, t in LOAD_COLUMNS.items()) + ")")
            continue
        # The demo export is UTF-8: read as it is, as the extract reads a new UTF-8 file (in one read).
        if not with_models:  # the bare reference load
            con.execute(f"create table {table} as select * from read_csv(?, all_varchar = true)", [str(path)])
            continue
        header = read_header(path)
        known = {h.lower() for h in header}
        missing = ", ".join(f"null::varchar as {quote(f.name)}" for f in contract.fields if f.name.lower() not in known)
        # Rows numbered as the extract numbers a first load: by their position, after a parallel insert.
        con.execute(
            f"""create table {table} as select *, {missing + ',' if missing else ''}
                'bench' as _export_id, ? as _source_file, cast(null as bigint) as _row_number,
                now()::timestamp as _loaded_at, null::varchar as _date_order, null::varchar as _connector_deleted,
                null::boolean as _duplicate_id
                from read_csv(?, all_varchar = true, header = true)""", [path.name, str(path)])
        con.execute(f"update {table} set _row_number = rowid + 1")
    ingest = time.perf_counter() - started
    result = {"ingest_seconds": ingest}
    if with_models:
        write_settings(con, KpiSettings())
        # no checks here: nothing is quarantined
        con.execute("create table audit.quarantine (" + ", ".join(f"{c} {t}" for c, t in QUARANTINE_COLUMNS.items()) + ")")
        models = load_models(external_tables=RAW_TABLES)
        result["model_seconds"] = {}
        run_models(con, models, seconds=result["model_seconds"])
        result["models_seconds"] = time.perf_counter() - started - ingest
    con.close()
    result["seconds"] = time.perf_counter() - started
    return result


class RssSampler:
    """This process's resident memory every quarter second, so the peak can be placed in
    the step that ran at the time (ru_maxrss gives only its size)."""

    def __init__(self):
        self.peak, self.peak_at, self._stop = 0, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.25):
            rss = int(Path("/proc/self/statm").read_text().split()[1]) * page
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.time()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def worker_nightly(export: Path) -> dict:
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.warehouse import Warehouse

    started = time.perf_counter()
    # As `pipeline run` does: runs recorded in DAGSTER_HOME (sqlite); --ephemeral-instance keeps them in memory.
    instance = dg.DagsterInstance.ephemeral() if os.environ.get("BENCH_EPHEMERAL") else dg.DagsterInstance.get()
    with instance, RssSampler() as sampler:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={
                "resources": {"export": {"config": {"path": str(export)}}},
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
            })
        seconds = time.perf_counter() - started
        stats = instance.get_run_step_stats(result.run_id)
    steps = {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in stats}
    failed = [s.step_key for s in stats if s.status and s.status.value != "SUCCESS"]
    peak_step = next((s.step_key for s in stats if (s.start_time or 0) <= sampler.peak_at <= (s.end_time or 0)),
                     "between steps")
    published = result.asset_materializations_for_node("publish__warehouse") if result.success else []
    return {"seconds": seconds, "success": result.success, "failed_steps": failed, "steps": steps,
            "peak_rss_step": peak_step, "sampled_peak_rss_bytes": sampler.peak,
            "memory_limit": Warehouse().memory_limit,
            "work_copy": published[-1].metadata["work_copy"].value if published else None}


# --- the driver ----------------------------------------------------------------------


def warm_page_cache(export: Path) -> None:
    """Read every file of the export once, so each measured run starts with its input in
    the OS page cache, not with whatever part of a 14 GB export the run before it left there."""
    for path in sorted(p for p in export.rglob("*") if p.is_file()):
        with open(path, "rb") as f:
            while f.read(64 << 20):
                pass


def run_worker(args: list[str], env: dict) -> tuple[dict, float]:
    """Run a worker in a child process, its export read into the page cache first;
    return its JSON and its own peak RSS (bytes)."""
    warm_page_cache(Path(args[1]))
    out = Path(env["BENCH_OUT"])
    process = subprocess.Popen([sys.executable, __file__, *args], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"worker {args} failed with status {status}")
    return json.loads(out.read_text()), usage.ru_maxrss * 1024


DELTA_MARK = "bench_delta.txt"  # what export B holds (append_one_day's docstring); no object file has this name


def append_one_day(src: Path, dst: Path) -> None:
    """Export B: export A plus one more day of activity (new tasks and events, 0.2 % of the
    opportunities, not deleted ones, given a new amount, with their history rows), everything
    else byte-identical."""
    import duckdb

    shutil.copytree(src, dst, copy_function=os.link)  # unchanged files: hard links, no copy
    con = duckdb.connect()
    for name, prefix in [("Task.csv", "00T"), ("Event.csv", "00U")]:
        path = dst / name
        if not path.exists():
            continue
        con.execute(f"""
            create or replace table t as select * from read_csv('{path}', all_varchar = true, header = true)""")
        n = con.execute("select count(*) // 365 + 1 from t").fetchone()[0]  # ~ one day of activity
        con.execute(f"""
            create or replace table extra as
            select * replace (
                '{prefix}' || lpad(cast(100000000000000 + row_number() over () as varchar), 15, '0') as Id,
                strftime(cast(SystemModstamp as timestamp) + interval 1 day, '%Y-%m-%d %H:%M:%S') as SystemModstamp,
                strftime(cast(CreatedDate as timestamp) + interval 1 day, '%Y-%m-%d %H:%M:%S') as CreatedDate)
            from (select * from t order by SystemModstamp desc limit {n})""")
        path.unlink()  # a hard link to export A's file: write a new file, leave A's alone
        con.execute(f"copy (select * from t union all select * from extra) to '{path}' (header, force_quote *)")
    # ... and 0.2 % of the opportunities changed: their amount, as a rep would, which Salesforce
    # records as a new OpportunityHistory row.
    path = dst / "Opportunity.csv"
    con.execute(f"create or replace table o as select * from read_csv('{path}', all_varchar = true, header = true)")
    con.execute("""update o set
        Amount = cast(round(try_cast(Amount as double) * 1.1) as bigint)::varchar,
        LastModifiedDate = strftime(cast(SystemModstamp as timestamp) + interval 1 day, '%Y-%m-%d %H:%M:%S'),
        SystemModstamp = strftime(cast(SystemModstamp as timestamp) + interval 1 day, '%Y-%m-%d %H:%M:%S')
        where hash(Id) % 500 = 0 and IsDeleted = '0'""")
    path.unlink()
    con.execute(f"copy o to '{path}' (header, force_quote *)")
    path = dst / "OpportunityHistory.csv"
    if path.exists():
        con.execute(f"create or replace table h as select * from read_csv('{path}', all_varchar = true, header = true)")
        con.execute("""create or replace table new_rows as
            select '008' || lpad(cast(100000000000000 + row_number() over (order by Id) as varchar), 15, '0') as Id,
                   Id as OpportunityId, OwnerId as CreatedById, SystemModstamp as CreatedDate, StageName, Amount,
                   ExpectedRevenue, CloseDate, Probability, ForecastCategory, SystemModstamp, '0' as IsDeleted
            from o where hash(Id) % 500 = 0 and IsDeleted = '0'""")
        path.unlink()
        con.execute(f"copy (select * from h union all by name select * from new_rows) to '{path}' (header, force_quote *)")


def in_child(*argv: str) -> None:
    """Make an export in a child process. The DuckDB that makes it holds gigabytes at enterprise
    scale, and Linux keeps a process's peak RSS across fork and exec: made here, it would be the
    peak RSS of every worker started after it."""
    subprocess.run([sys.executable, __file__, *argv], check=True)


def bench_scale(scale: str, workdir: Path, resume: bool = False) -> dict:
    data = workdir / f"export-{scale}"
    export_a, export_b = data / "a", data / "b"
    if not (export_a / "Opportunity.csv").exists():
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        partial = data / "a.partial"  # renamed when complete: a half-written export is never reused
        in_child("_generate", scale, str(partial))
        partial.rename(export_a)
        print(f"[{scale}] generated export in {time.perf_counter() - started:.1f} s", flush=True)
    if not (export_b / DELTA_MARK).exists() or (export_b / DELTA_MARK).read_text() != append_one_day.__doc__:
        shutil.rmtree(export_b, ignore_errors=True)  # made by an earlier version of append_one_day
        partial = data / "b.partial"
        shutil.rmtree(partial, ignore_errors=True)
        in_child("_append_one_day", str(export_a), str(partial))
        (partial / DELTA_MARK).write_text(append_one_day.__doc__)
        partial.rename(export_b)
    export_bytes = sum(p.stat().st_size for p in export_a.rglob("*") if p.is_file())

    runs = workdir / f"runs-{scale}"
    if not resume:
        shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True, exist_ok=True)
    figures: dict = {"scale": scale, "export_bytes": export_bytes}

    def env_for(name: str) -> dict:
        home = runs / name
        (home / "dagster_home").mkdir(parents=True, exist_ok=True)
        (home / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        return {**os.environ, "PIPELINE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
                "BENCH_OUT": str(home / "result.json")}

    for name, args in [
        ("baseline_ingest", ["_baseline", str(export_a), str(runs / "baseline_ingest" / "bare.duckdb")]),
        ("baseline_sql", ["_baseline", str(export_a), str(runs / "baseline_sql" / "sql.duckdb"), "--models"]),
        ("nightly", ["_nightly", str(export_a)]),
    ]:
        done = runs / name / "figures.json"
        if resume and done.exists():  # a baseline measured by an earlier, interrupted run of this script
            figures[name] = json.loads(done.read_text())
            print(f"[{scale}] {name}: {figures[name]['seconds']:.1f} s (from {done})", flush=True)
            continue
        shutil.rmtree(runs / name, ignore_errors=True)
        env = env_for(name)
        result, rss = run_worker(args, env)
        figures[name] = {**result, "peak_rss_bytes": rss, "measured_at": datetime.now(timezone.utc).isoformat()}
        done.write_text(json.dumps(figures[name]))
        print(f"[{scale}] {name}: {result['seconds']:.1f} s, peak RSS {rss / GIB:.2f} GiB{peak_step(result)}", flush=True)
        if name.startswith("baseline"):  # timing references only: free the disk for the runs that follow
            for leftover in (runs / name).glob("*"):
                if leftover.name not in ("figures.json", "result.json", "dagster_home"):
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()

    # The delta run starts from what the nightly run left (yesterday's): its published warehouse and the
    # standby it keeps for the next run, not its spill files or lock.
    shutil.rmtree(runs / "delta", ignore_errors=True)
    env = env_for("delta")
    shutil.copytree(runs / "nightly" / "warehouse", runs / "delta" / "warehouse",
                    ignore=lambda folder, names: [n for n in names if n == ".build.lock" or (
                        Path(folder).name == ".work" and n != "standby.duckdb")])
    result, rss = run_worker(["_nightly", str(export_b)], env)
    figures["delta"] = {**result, "peak_rss_bytes": rss}
    print(f"[{scale}] delta: {result['seconds']:.1f} s, peak RSS {rss / GIB:.2f} GiB{peak_step(result)}; "
          f"work copy: {result['work_copy']}", flush=True)

    nightly = figures["nightly"]
    figures["overhead_breakdown"] = parts = overhead_breakdown(nightly, figures["baseline_sql"])
    extract, checks = parts["extract"][0], parts["checks"][0]
    figures["ratios"] = {
        "orchestration_overhead": nightly["seconds"] / figures["baseline_sql"]["seconds"],
        "ingest": extract / figures["baseline_ingest"]["seconds"],
        "checks_share": checks / nightly["seconds"],
        "nightly_delta": figures["delta"]["seconds"] / nightly["seconds"],
    }
    figures["peak_rss_gib"] = max(figures[k]["peak_rss_bytes"] for k in ("nightly", "delta")) / GIB
    figures["success"] = nightly["success"] and figures["delta"]["success"]
    return figures


def peak_step(result: dict) -> str:
    return f" (during {result['peak_rss_step']})" if "peak_rss_step" in result else ""


def step_part(step: str) -> str:
    """The part of the nightly run a step belongs to: checks (with the quarantine), extract
    (the export's files), run settings, or its layer (staging, core, kpi, marts, ...)."""
    prefix = step.split("__")[0]
    if "check" in step or prefix == "audit":
        return "checks"
    if step == "raw__run_settings":
        return "run settings"
    return "extract" if prefix == "raw" else prefix


def overhead_breakdown(nightly: dict, baseline: dict) -> dict[str, list[float]]:
    """Where the nightly run's time goes, beside the baseline's time for the same part:
    part -> [nightly seconds, baseline seconds]."""
    parts: dict[str, list[float]] = {"extract": [0.0, 0.0], "checks": [0.0, 0.0]}
    for step, seconds in nightly["steps"].items():
        parts.setdefault(step_part(step), [0.0, 0.0])[0] += seconds
    parts["extract"][1] = baseline["ingest_seconds"]
    for table, seconds in baseline.get("model_seconds", {}).items():
        parts.setdefault(table.split(".")[0], [0.0, 0.0])[1] += seconds
    parts["outside steps"] = [nightly["seconds"] - sum(nightly["steps"].values()),
                              baseline["seconds"] - baseline["ingest_seconds"] - baseline["models_seconds"]]
    return parts


def print_report(all_figures: list[dict]) -> None:
    print()
    print(f"{'scale':<12}{'export':>10}{'nightly s':>11}{'base sql s':>11}{'overhead':>10}"
          f"{'ingest':>8}{'checks':>8}{'delta':>8}{'RSS GiB':>9}")
    for f in all_figures:
        r = f["ratios"]
        print(f"{f['scale']:<12}{f['export_bytes'] / GIB:>8.2f}GB{f['nightly']['seconds']:>11.1f}"
              f"{f['baseline_sql']['seconds']:>11.1f}{r['orchestration_overhead']:>10.2f}{r['ingest']:>8.2f}"
              f"{r['checks_share']:>8.2f}{r['nightly_delta']:>8.2f}{f['peak_rss_gib']:>9.2f}")
    for f in all_figures:
        print(f"\n{f['scale']}: where the nightly run's time goes (s), beside DuckDB alone")
        for part, (pipeline, alone) in sorted(f["overhead_breakdown"].items(), key=lambda kv: kv[1][1] - kv[1][0]):
            print(f"  {part:<15}{pipeline:>9.1f}{alone:>9.1f}{pipeline - alone:>+9.1f}")
    print("\ngoals: " + "; ".join(f"{k} ({what}) <= {goal}" for k, (what, goal) in GOALS.items())
          + "; peak RSS <= 2 GiB")
    for f in all_figures:
        missed = [k for k, (_, goal) in GOALS.items() if f["ratios"][k] > goal]
        if f["peak_rss_gib"] > 2:
            missed.append("memory")
        print(f"  {f['scale']} (DuckDB memory limit {f['nightly'].get('memory_limit', '?')}): "
              + ("all goals met" if not missed else "missed: " + ", ".join(missed))
              + ("" if f["success"] else "  (a run FAILED: " + ", ".join(f["nightly"]["failed_steps"]) + ")"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_baseline":
        out = worker_baseline(Path(argv[1]), Path(argv[2]), "--models" in argv)
        Path(os.environ["BENCH_OUT"]).write_text(json.dumps(out))
        return 0
    if argv and argv[0] == "_generate":
        from pipeline.demo_export import generate_export

        generate_export(Path(argv[2]), scale=float(argv[1]) if argv[1][0].isdigit() else argv[1], seed=42)
        return 0
    if argv and argv[0] == "_append_one_day":
        append_one_day(Path(argv[1]), Path(argv[2]))
        return 0
    if argv and argv[0] == "_nightly":
        out = worker_nightly(Path(argv[1]))
        Path(os.environ["BENCH_OUT"]).write_text(json.dumps(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", nargs="+", default=["enterprise"],
                        help="tiny | small | demo | enterprise | fractions of enterprise (0.1 0.01)")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "data"), help="exports and runs (large)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--ephemeral-instance", action="store_true",
                        help="record Dagster runs in memory instead of DAGSTER_HOME (smoke tests)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the baselines (and nightly) an interrupted run already measured for a scale; "
                             "the pipeline runs that follow are measured again")
    args = parser.parse_args(argv)
    if args.ephemeral_instance:
        os.environ["BENCH_EPHEMERAL"] = "1"
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    all_figures = [bench_scale(scale, workdir, args.resume) for scale in args.scale]
    print_report(all_figures)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
              "measured_at": stamp, "figures": all_figures}
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nraw figures: {path}")
    return 0 if all(f["success"] for f in all_figures) else 1


if __name__ == "__main__":
    sys.exit(main())
