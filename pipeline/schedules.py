"""When the nightly job runs: on a schedule, and when a new export lands in the inbox."""


import os
import time
import zipfile
from pathlib import Path

import dagster as dg

from pipeline import settings

QUIET_SECONDS = int(os.environ.get("SF_INBOX_QUIET_SECONDS", "60"))  # a copy still in progress is not an export yet


def nightly_schedule(job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_at_2am",
        job=job,
        cron_schedule=os.environ.get("NIGHTLY_CRON", "0 2 * * *"),
        execution_timezone=os.environ.get("NIGHTLY_TIMEZONE", "UTC"),
        description="Rebuilds the warehouse from the configured export (SF_EXPORT_PATH) every night.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def ready_exports(inbox: Path, now: float | None = None) -> list[Path]:
    """Folders holding an Opportunity file, and readable zips, untouched for QUIET_SECONDS."""
    now = now or time.time()
    found = []
    for entry in sorted(inbox.iterdir()) if inbox.is_dir() else []:
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        if not files or now - max(p.stat().st_mtime for p in files) < QUIET_SECONDS:
            continue
        if entry.is_dir() and any(p.name.lower() == "opportunity.csv" for p in files):
            found.append(entry)
        elif entry.suffix.lower() == ".zip" and zipfile.is_zipfile(entry):
            found.append(entry)
    return found


def export_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_export_in_inbox",
        job=job,
        minimum_interval_seconds=60,
        description="Starts the nightly job on each new export (folder or .zip) dropped into SF_INBOX_PATH.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.SensorEvaluationContext):
        inbox = Path(settings.inbox_path())
        exports = ready_exports(inbox)
        if not exports:
            return dg.SkipReason(f"no new export in {inbox}")
        for export in exports:
            stamp = max(p.stat().st_mtime_ns for p in ([export] if export.is_file() else export.rglob("*")))
            yield dg.RunRequest(
                run_key=f"{export.name}:{stamp}",
                run_config={"resources": {"export": {"config": {"path": str(export)}}}},
                tags={"export": export.name},
            )

    return _sensor
