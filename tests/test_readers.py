"""Reporting tools open the published warehouse: DuckDB 1.x clients included."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from pipeline.demo_export import generate_export
from tests.conftest import csv_rows
from tests.test_pipeline_runs import published, run_nightly

OLD_DUCKDB = "1.1.3"
CLIENT_DIR = Path.home() / ".cache" / "sales-kpi-warehouse" / f"duckdb-{OLD_DUCKDB}"


def old_duckdb_python() -> Path:
    """A separate interpreter with DuckDB 1.1, as a BI tool's older driver would be."""
    python = CLIENT_DIR / "bin" / "python"
    if not python.exists():
        venv.create(CLIENT_DIR, with_pip=True)
    check = subprocess.run([python, "-c", f"import duckdb; assert duckdb.__version__ == '{OLD_DUCKDB}'"])
    if check.returncode != 0:
        install = subprocess.run([python, "-m", "pip", "install", "-q", f"duckdb=={OLD_DUCKDB}"],
                                 capture_output=True, text=True)
        if install.returncode != 0:
            pytest.skip(f"could not install duckdb=={OLD_DUCKDB}: {install.stderr[-300:]}")
    return python


READ = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select count(*) from raw.opportunity').fetchone()[0], "
        "c.execute('select count(*) from kpi.new_leads where scope = \\'company\\'').fetchone()[0])")


def test_duckdb_1_1_and_current_duckdb_read_the_published_warehouse(home, tmp_path):
    export = tmp_path / "WE_readers"
    generate_export(export, scale="tiny", seed=5)
    assert run_nightly(home, export).success
    expected = None
    for python in (Path(sys.executable), old_duckdb_python()):
        out = subprocess.run([python, "-c", READ, str(published(home))], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        opportunities, quarters = map(int, out.stdout.split())
        assert opportunities == csv_rows(export / "Opportunity.csv") and quarters > 0
        expected = expected or (opportunities, quarters)
        assert (opportunities, quarters) == expected  # both clients read the same data
