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
    print(f"wrote {sum(counts.values()):,} rows in {len(counts)} files to {args.out}")
    return 0


def run_job(export: str, as_of: str | None = None, print_summary: bool = True) -> bool:
    import dagster as dg

    from pipeline.definitions import defs

    dagster_home()
    run_config = {
        "resources": {"export": {"config": {"path": str(Path(export).resolve())}}},
        "loggers": {"console": {"config": {"log_level": os.environ.get("PIPELINE_LOG_LEVEL", "WARNING")}}},
    }
    if as_of:
        run_config["resources"]["kpi_settings"] = {"config": {"as_of_date": as_of}}
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
    if print_summary:
        print(summary(result))
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


def summary(result) -> str:
    import duckdb

    from pipeline.warehouse import open_published

    lines = [f"run {result.run_id}: {'SUCCESS' if result.success else 'FAILED'}"]
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if failed:
        lines.append("failed steps: " + ", ".join(failed))
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            lines.append(f"  {event.step_key}: {failure_text(event)[:600]}")
    failed_checks = [
        e.event_specific_data for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    for check in failed_checks:
        lines.append(f"  check {check.asset_key.to_user_string()}:{check.check_name} failed ({check.severity.value})")
    try:
        con = open_published()
    except duckdb.Error as e:
        lines.append(f"no published warehouse: {e}")
        return "\n".join(lines)
    with con:
        lines.append(f"published warehouse: {settings.warehouse_path()}")
        pages = Path(settings.warehouse_path()).parent / "dashboards" / "index.html"
        if pages.exists():
            lines.append(f"dashboards: {pages}")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'kpi', 'marts', 'audit') order by 1, 2").fetchall()
        for schema, table in tables:
            if table.startswith("_"):
                continue
            rows = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
            headline = ""
            if schema == "kpi":
                row = con.execute(
                    f"""select value, unit, period_type, period_start from kpi."{table}" where scope = 'company'
                        order by case period_type when 'as_of' then 0 when 'year' then 1 else 2 end,
                                 period_start desc limit 1""").fetchone()
                if row:
                    value = "NULL" if row[0] is None else f"{row[0]:,.2f}"
                    headline = f"   latest company value: {value} {row[1]} ({row[2]} from {row[3]})"
            lines.append(f"  {schema}.{table:<34} {rows:>10,} rows{headline}")
    return "\n".join(lines)


def demo(args) -> int:
    export = Path(args.export)
    if not (export / "Opportunity.csv").exists():
        from pipeline.demo_export import generate_export

        counts = generate_export(export, scale="demo", seed=42)
        print(f"generated the demo export: {sum(counts.values()):,} rows in {export}")
    return 0 if run_job(str(export), args.as_of) else 1


def run(args) -> int:
    return 0 if run_job(args.export, args.as_of) else 1


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
    p.set_defaults(func=generate)

    p = commands.add_parser("demo", help="generate the demo export if needed, run the nightly job, summarize")
    p.add_argument("--export", default=settings.export_path())
    p.add_argument("--as-of", default=None)
    p.set_defaults(func=demo)

    p = commands.add_parser("run", help="run the nightly job on an export folder or .zip")
    p.add_argument("export")
    p.add_argument("--as-of", default=None, help="YYYY-MM-DD; default: from the export")
    p.set_defaults(func=run)

    p = commands.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=ui)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
