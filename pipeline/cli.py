"""`pipeline`: generate a demo export, run the nightly job, summarize, start the UI."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from pipeline import settings


def dagster_home() -> Path:
    """Runs are recorded in DAGSTER_HOME (default: <home>/dagster_home) so the UI shows them."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.home() / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


def generate(args) -> int:
    from pipeline.demo_export import generate_export

    scale = float(args.scale) if args.scale.replace(".", "", 1).isdigit() else args.scale
    counts = generate_export(args.out, scale=scale, seed=args.seed, encoding=args.encoding, locale=args.locale)
    if args.dialect != "salesforce":
        from pipeline.demo_dialects import rewrite_dialect

        rewrite_dialect(Path(args.out), args.dialect, day_first=args.day_first, seed=args.seed)
    dialect = args.dialect + (" dialect, day first" if args.day_first and args.dialect == "excel" else " dialect")
    print(f"wrote {sum(counts.values()):,} rows in {len(counts)} files to {args.out} ({dialect})")
    return 0


def run_job(export: str, as_of: str | None = None, print_summary: bool = True, verbose: bool = False) -> bool:
    """Run the nightly job in process: one line per finished step, then the report
    (pipeline/run_report.py). Dagster's own console log only with --verbose."""
    import dagster as dg

    from pipeline import run_report
    from pipeline.definitions import defs

    dagster_home()
    progress = run_report.Progress(total=len(defs.resolve_job_def("nightly").graph.nodes))
    # The code location's loggers, plus one that sees every step finish.
    job = dg.Definitions.merge(defs, dg.Definitions(loggers={
        "console": dg.colored_console_logger, "progress": progress.logger_def(),
    })).resolve_job_def("nightly")
    level = os.environ.get("PIPELINE_LOG_LEVEL") or ("WARNING" if verbose else "CRITICAL")
    print(f"running the nightly job: {progress.total} steps", flush=True)
    run_config = {
        "resources": {"export": {"config": {"path": str(Path(export).resolve())}}},
        "loggers": {"console": {"config": {"log_level": level}}, "progress": {}},
    }
    if as_of:
        run_config["resources"]["kpi_settings"] = {"config": {"as_of_date": as_of}}
    try:
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    except Exception as e:  # the run did not start (bad configuration, instance storage)
        if verbose:
            raise
        print(f"the run could not start: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
              " (run again with --verbose for the stack trace)")
        print(run_report.published_line(Path(settings.warehouse_path())))
        return False
    if print_summary:
        print(summary(result, progress, verbose))
    return result.success


def failure_text(event) -> str:
    """Why a step failed, in the words of the error that caused it."""
    data = event.event_specific_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def summary(result, progress=None, verbose: bool = False) -> str:
    """After a run: the problems and whether the published warehouse stayed, or a short summary."""
    from pipeline import run_report

    published = Path(settings.warehouse_path()).resolve()
    if result.success:
        return "\n".join(run_report.success_report(result, published, progress))
    return "\n".join(run_report.failure_report(result, published, progress, verbose))


def check_export(export: str) -> bool:
    """Preflight, before Dagster is imported: what the export holds, or why it cannot run."""
    from pipeline.run_report import format_preflight, preflight

    found = preflight(export)
    print("\n".join(format_preflight(found)), flush=True)
    return found.ok


def demo(args) -> int:
    export = Path(args.export)
    if not (export / "Opportunity.csv").exists():
        from pipeline.demo_export import generate_export

        counts = generate_export(export, scale="demo", seed=42)
        print(f"generated the demo export: {sum(counts.values()):,} rows in {export}")
    if not check_export(str(export)):
        return 2
    return 0 if run_job(str(export), args.as_of, verbose=args.verbose) else 1


def run(args) -> int:
    if not check_export(args.export):
        return 2
    return 0 if run_job(args.export, args.as_of, verbose=args.verbose) else 1


def ui(args) -> int:
    """`dagster dev` on 127.0.0.1. SIGINT is reset to its default first: started from a
    script, dagster dev ignores SIGINT and SIGTERM and outlives its parent."""
    dagster_home()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir(settings.PROJECT_ROOT)
    dagster = Path(sys.executable).with_name("dagster")
    argv = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)]
    os.execv(argv[0], argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("generate", help="write a synthetic Salesforce export")
    p.add_argument("--out", default=settings.export_path())
    p.add_argument("--scale", default="demo", help="tiny | small | demo | enterprise | a fraction of enterprise")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--encoding", default="utf-8", choices=["utf-8", "latin-1"])
    p.add_argument("--locale", default="en", choices=["en", "es"])
    p.add_argument("--dialect", default="salesforce", choices=["salesforce", "dataloader", "excel", "connector"],
                   help="CSV form of the files: the weekly Data Export (default), Data Loader, "
                        "re-saved from Excel, or a Fivetran-style connector dump")
    p.add_argument("--day-first", action="store_true", help="excel dialect: European DD/MM dates, 24-hour clock")
    p.set_defaults(func=generate)

    p = commands.add_parser("demo", help="generate the demo export if needed, run the nightly job, summarize")
    p.add_argument("--export", default=settings.export_path())
    p.add_argument("--as-of", default=None)
    p.add_argument("--verbose", action="store_true", help="Dagster's log and the stack traces of failed steps")
    p.set_defaults(func=demo)

    p = commands.add_parser("run", help="run the nightly job on an export folder or .zip")
    p.add_argument("export")
    p.add_argument("--as-of", default=None, help="YYYY-MM-DD; default: from the export")
    p.add_argument("--verbose", action="store_true", help="Dagster's log and the stack traces of failed steps")
    p.set_defaults(func=run)

    p = commands.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=ui)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
