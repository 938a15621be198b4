"""Shared fixtures: a private PIPELINE_HOME per test, so warehouses never collide."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# shared/ lies beside the checkout, for developers and CI alike.
FIXTURE_EXPORT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "salesforce_sample_export"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in ("WAREHOUSE_PATH", "SF_EXPORT_PATH", "SF_INBOX_PATH", "KPI_AS_OF_DATE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dagster_home").mkdir()
    return tmp_path


@pytest.fixture
def fixture_export(tmp_path) -> Path:
    """A writable copy of the real sample export."""
    if not FIXTURE_EXPORT.exists():
        pytest.skip(f"real fixture not found at {FIXTURE_EXPORT}")
    target = tmp_path / "fixture_export"
    shutil.copytree(FIXTURE_EXPORT, target)
    for p in target.iterdir():
        p.chmod(0o644)
    return target


def csv_rows(path: Path, encoding: str = "utf-8") -> int:
    """Data rows of a CSV, counted by Python's csv module (quoted newlines included)."""
    import csv

    with open(path, encoding=encoding, newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)
