"""Paths and knobs from environment variables, with defaults inside the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = Path(os.environ.get("PIPELINE_SQL_DIR") or PROJECT_ROOT / "sql")


def home() -> Path:
    """Where the warehouse and exports live: $PIPELINE_HOME, else the project folder
    (an editable install), else the current directory."""
    if "PIPELINE_HOME" in os.environ:
        return Path(os.environ["PIPELINE_HOME"]).resolve()
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT
    return Path.cwd()


def env_path(name: str, default_relative: str) -> str:
    return os.environ.get(name) or str(home() / default_relative)


def warehouse_path() -> str:
    return env_path("WAREHOUSE_PATH", "warehouse/warehouse.duckdb")


def export_path() -> str:
    return env_path("SF_EXPORT_PATH", "exports/demo")


def inbox_path() -> str:
    return env_path("SF_INBOX_PATH", "exports/inbox")
