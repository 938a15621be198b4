"""A tiny-scale smoke run of the benchmark script: it runs and reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run_reports_every_ratio(tmp_path, home):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--scale", "tiny",
         "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "results"), "--ephemeral-instance"],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "orchestration_overhead" in out.stdout and "tiny" in out.stdout
    (report,) = (tmp_path / "results").glob("bench-*.json")
    figures = json.loads(report.read_text())["figures"][0]
    assert figures["success"]
    for ratio in ("orchestration_overhead", "ingest", "checks_share", "nightly_delta"):
        assert figures["ratios"][ratio] > 0, ratio
    assert figures["ratios"]["checks_share"] < 1
    assert figures["nightly"]["peak_rss_bytes"] > 0
    # the peak is placed in a step of the run (or between two)
    nightly = figures["nightly"]
    assert 0 < nightly["sampled_peak_rss_bytes"] <= nightly["peak_rss_bytes"] * 1.01
    assert nightly["peak_rss_step"] in [*nightly["steps"], "between steps"]
    # the delta export really holds one more day of activity
    tasks_a = (tmp_path / "work" / "export-tiny" / "a" / "Task.csv").read_bytes().count(b"\n")
    tasks_b = (tmp_path / "work" / "export-tiny" / "b" / "Task.csv").read_bytes().count(b"\n")
    assert tasks_b > tasks_a
    # ... and its run starts from the standby the nightly run left, not from a copy of the warehouse
    assert figures["delta"]["work_copy"].startswith("standby caught up"), figures["delta"]["work_copy"]
