"""The inbox sensor starts a run for each new, complete export."""

from __future__ import annotations

import os
import zipfile

import dagster as dg

from pipeline.definitions import defs
from pipeline.schedules import ready_exports


def test_ready_exports_waits_for_a_quiet_complete_export(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "WE_1").mkdir(parents=True)
    (inbox / "WE_1" / "Opportunity.csv").write_text('"Id"\n')
    (inbox / "partial").mkdir()
    (inbox / "partial" / "Account.csv").write_text('"Id"\n')  # no Opportunity file yet
    with zipfile.ZipFile(inbox / "WE_2.zip", "w") as z:
        z.writestr("Opportunity.csv", '"Id"\n')
    (inbox / "notes.txt").write_text("not an export")
    past = os.path.getmtime(inbox / "WE_2.zip") - 3600
    for p in [inbox / "WE_1" / "Opportunity.csv", inbox / "WE_2.zip"]:
        os.utime(p, (past, past))
    now = past + 3600
    assert [p.name for p in ready_exports(inbox, now=now)] == ["WE_1", "WE_2.zip"]
    # Just written: still being copied, not ready.
    (inbox / "WE_1" / "Account.csv").write_text('"Id"\n')
    assert [p.name for p in ready_exports(inbox, now=now)] == ["WE_2.zip"]


def test_sensor_requests_one_run_per_export_with_its_path(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    (inbox / "WE_1").mkdir(parents=True)
    (inbox / "WE_1" / "Opportunity.csv").write_text('"Id"\n')
    os.utime(inbox / "WE_1" / "Opportunity.csv", (1, 1))
    monkeypatch.setenv("SF_INBOX_PATH", str(inbox))
    sensor = defs.resolve_sensor_def("new_export_in_inbox")
    with dg.instance_for_test() as instance:
        requests = list(sensor(dg.build_sensor_context(instance=instance)))
    assert len(requests) == 1
    assert requests[0].run_config["resources"]["export"]["config"]["path"] == str(inbox / "WE_1")
    assert requests[0].run_key.startswith("WE_1:")
