"""Shared fixtures: a private PIPELINE_HOME per test, so warehouses never collide."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# shared/ lies beside the checkout, for developers and CI alike.
FIXTURE_EXPORT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "salesforce_sample_export"


def use_home(mp: pytest.MonkeyPatch, home: Path) -> Path:
    """Point the pipeline at `home` (PIPELINE_HOME, DAGSTER_HOME beneath it) and drop the path overrides
    that would lead it elsewhere. `mp` undoes it: a test's monkeypatch, or a `pytest.MonkeyPatch.context()`
    around one run for module-scoped homes."""
    mp.setenv("PIPELINE_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    for name in ("WAREHOUSE_PATH", "SF_EXPORT_PATH", "SF_INBOX_PATH", "KPI_AS_OF_DATE"):
        mp.delenv(name, raising=False)
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    return use_home(monkeypatch, tmp_path)


def copy_fixture_export(target: Path) -> Path:
    """A writable copy of the real sample export at `target` (skips when the fixture is absent).
    Only tests about the fixture itself use it; other tests generate their data."""
    if not FIXTURE_EXPORT.exists():
        pytest.skip(f"real fixture not found at {FIXTURE_EXPORT}")
    shutil.copytree(FIXTURE_EXPORT, target)
    for p in target.iterdir():
        p.chmod(0o644)
    return target


@pytest.fixture
def fixture_export(tmp_path) -> Path:
    """A writable copy of the real sample export."""
    return copy_fixture_export(tmp_path / "fixture_export")


@pytest.fixture(scope="module")
def module_fixture_export(tmp_path_factory) -> Path:
    """One copy of the real sample export for a module's tests, which must not change it."""
    return copy_fixture_export(tmp_path_factory.mktemp("fixture") / "fixture_export")


def csv_rows(path: Path, encoding: str = "utf-8") -> int:
    """Data rows of a CSV, counted by Python's csv module (quoted newlines included)."""
    import csv

    with open(path, encoding=encoding, newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)
