"""Formatting helpers for the demo export: Salesforce ids, dates, and CSV writing.

Columns are kept as numpy arrays (ids as row indexes, datetimes as epoch
seconds, dates as epoch days, picklists as codes) and rendered to strings one
chunk at a time, so even an enterprise-size object never exists as one big
frame of strings.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from datetime import date, datetime, timezone

import numpy as np
import polars as pl

NA = np.iinfo(np.int64).min  # "no value" for int64 columns (ids, dates, datetimes)
EMPTY_ID = "000000000000000AAA"
DAY = 86_400
CHUNK_ROWS = 400_000

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", np.uint8)
_BITS = np.array([1, 2, 4, 8, 16], np.uint8)

_EPOCH = date(1970, 1, 1)
_DAY0 = (date(1990, 1, 1) - _EPOCH).days
_DAY1 = (date(2040, 1, 1) - _EPOCH).days


def epoch_day(d: date) -> int:
    return (d - _EPOCH).days


def epoch_sec(dt: datetime) -> int:
    return int(dt.replace(tzinfo=timezone.utc).timestamp())


_tables: dict[str, pl.Series] = {}


def _day_table() -> pl.Series:
    if "day" not in _tables:
        days = pl.Series(np.arange(_DAY0, _DAY1, dtype=np.int32)).cast(pl.Date)
        _tables["day"] = days.dt.strftime("%Y-%m-%d")
        secs = np.arange(DAY)
        _tables["tod"] = pl.Series(
            [f" {h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(secs // 3600, secs // 60 % 60, secs % 60)]
        )
    return _tables["day"]


def _blank(s: pl.Series, mask: np.ndarray, fill: str | None = None) -> pl.Series:
    if not mask.any():
        return s
    return (
        pl.DataFrame({"s": s, "m": mask})
        .select(pl.when(pl.col("m")).then(pl.lit(fill, pl.String)).otherwise(pl.col("s")))
        .to_series()
    )


class Ids:
    """18-character Salesforce ids for one object: key prefix + pod + counter + case-safe suffix."""

    def __init__(self, prefix: str, seed: int):
        assert len(prefix) == 3
        self.prefix = prefix
        # a seed-dependent but stable starting counter, so ids look like a real org's
        self.base = 62**6 * (3 + (zlib.crc32(f"{prefix}{seed}".encode()) % 40)) + zlib.crc32(prefix.encode()) % 62**5

    def format(self, idx: np.ndarray, empty: str = "") -> pl.Series:
        idx = np.asarray(idx, dtype=np.int64)
        n = len(idx)
        missing = idx < 0
        v = np.where(missing, 0, idx) + self.base
        out = np.empty((n, 18), np.uint8)
        out[:, :3] = np.frombuffer(self.prefix.encode(), np.uint8)
        out[:, 3:5] = np.frombuffer(b"8d", np.uint8)
        out[:, 5:7] = ord("0")
        for k in range(8):
            out[:, 14 - k] = _B62[v % 62]
            v //= 62
        upper = ((out[:, :15] >= 65) & (out[:, :15] <= 90)).reshape(n, 3, 5).astype(np.uint8)
        out[:, 15:] = _SUFFIX[upper @ _BITS]
        s = pl.Series(out.view("S18").ravel()).cast(pl.String)
        return _blank(s, missing, empty or None)

    def one(self, i: int) -> str:
        return self.format(np.array([i]))[0]


# --- column renderers: each returns a function of a slice -> pl.Series -------------------

Render = Callable[[slice], pl.Series]


def c_id(ids: Ids, idx: np.ndarray, empty: str = "") -> Render:
    return lambda sl: ids.format(idx[sl], empty)


def c_dt(secs: np.ndarray) -> Render:
    def r(sl):
        a = secs[sl]
        miss = a == NA
        a = np.where(miss, (_DAY0 + 1) * DAY, a)
        day = _day_table().gather(a // DAY - _DAY0)
        s = day + _tables["tod"].gather(a % DAY)
        return _blank(s, miss)

    return r


def c_date(days: np.ndarray) -> Render:
    def r(sl):
        a = days[sl]
        miss = a == NA
        a = np.where(miss, _DAY0 + 1, a)
        s = _day_table().gather(a - _DAY0) + " 00:00:00"
        return _blank(s, miss)

    return r


def c_plain_date(days: np.ndarray) -> Render:
    def r(sl):
        a = days[sl]
        miss = a == NA
        s = _day_table().gather(np.where(miss, _DAY0 + 1, a) - _DAY0)
        return _blank(s, miss)

    return r


def c_bool(b: np.ndarray) -> Render:
    return lambda sl: pl.Series(np.where(b[sl], "1", "0"))


def c_int(a: np.ndarray) -> Render:
    def r(sl):
        x = a[sl]
        miss = x == NA
        return _blank(pl.Series(x).cast(pl.String), miss)

    return r


def c_num(a: np.ndarray, decimals: int = 2) -> Render:
    """Floats as Salesforce writes them: 15000, 1234.5, 0.92; NaN -> ""."""

    def r(sl):
        x = np.round(np.asarray(a[sl], dtype=np.float64), decimals)
        miss = np.isnan(x)
        x = np.where(miss, 0.0, x)
        whole = x == np.round(x)
        s = pl.Series(x).cast(pl.String)
        si = pl.Series(np.where(whole, x, 0).astype(np.int64)).cast(pl.String)
        out = pl.DataFrame({"s": s, "i": si, "w": whole}).select(
            pl.when(pl.col("w")).then(pl.col("i")).otherwise(pl.col("s"))
        ).to_series()
        return _blank(out, miss)

    return r


def c_cat(codes: np.ndarray, labels: list[str]) -> Render:
    table = pl.Series([*labels, None], dtype=pl.String)

    def r(sl):
        c = np.asarray(codes[sl], dtype=np.int64)
        return table.gather(np.where(c < 0, len(labels), c))

    return r


def c_str(s: pl.Series | list[str]) -> Render:
    s = pl.Series(s, dtype=pl.String)
    return lambda sl: s.slice(sl.start, sl.stop - sl.start)


def c_const(v: str) -> Render:
    return lambda sl: pl.Series([v] * (sl.stop - sl.start), dtype=pl.String)


def c_concat(*parts: Render | str) -> Render:
    def r(sl):
        out = None
        for p in parts:
            s = p if isinstance(p, str) else p(sl).fill_null("")
            out = s if out is None else out + s
        return out

    return r


# --- writing ----------------------------------------------------------------------------


def write_table(
    path,
    n: int,
    columns: list[str],
    renders: dict[str, Render],
    encoding: str = "utf-8",
    quote_style: str = "always",
) -> int:
    """Write `n` rows, `columns` in order; a column without a renderer is written empty."""
    latin = encoding.lower().replace("_", "-") in ("latin-1", "latin1", "iso-8859-1", "iso8859-1")
    with open(path, "wb") as f:
        starts = range(0, max(n, 1), CHUNK_ROWS)
        for start in starts:
            stop = min(n, start + CHUNK_ROWS)
            sl = slice(start, stop)
            rows = stop - start
            data = {}
            for c in columns:
                r = renders.get(c)
                data[c] = r(sl) if r is not None and rows else pl.Series([""] * rows, dtype=pl.String)
            df = pl.DataFrame(data)
            if latin:
                buf = io.BytesIO()
                df.write_csv(buf, quote_style=quote_style, include_header=start == 0, line_terminator="\n")
                f.write(buf.getvalue().decode("utf-8").encode("latin-1"))
            else:
                df.write_csv(f, quote_style=quote_style, include_header=start == 0, line_terminator="\n")
    return n
