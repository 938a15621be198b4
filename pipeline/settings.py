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


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment; sizes may end in K, M, G or T (binary: 50G is 50 GiB)."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    text, scale = value.upper().removesuffix("IB").removesuffix("B"), 1
    if text[-1:] in ("K", "M", "G", "T"):
        text, scale = text[:-1], 1 << (10 * ("KMGT".index(text[-1]) + 1))
    try:
        number = float(text) * scale
    except ValueError:
        number = 0
    if not 0 < number < float("inf"):
        raise ValueError(f"{name}={value!r}: expected a positive number (sizes may end in K, M, G or T)")
    return number


def zip_max_bytes() -> int:
    """SF_ZIP_MAX_BYTES: the most a zip export's files may expand to on disk (default 50 GiB; an
    enterprise export's CSVs are ~14 GB)."""
    return int(_env_number("SF_ZIP_MAX_BYTES", 50 << 30))


def zip_max_ratio() -> float:
    """SF_ZIP_MAX_RATIO: the most a zip entry (and the files to extract together) may expand,
    uncompressed / compressed (default 100; CSV compresses 5-15x, a zip bomb 1000x and more)."""
    return _env_number("SF_ZIP_MAX_RATIO", 100)
