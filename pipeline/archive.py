"""The export as a folder: a folder is used as is, a .zip is extracted under the scratch folder.

Only the entries that are an export's files are extracted: each contract's accepted names
(`Opportunity.csv`, `hr_employees.csv`, ...), matched on the base name, case-insensitively, in
any folder of the zip. Everything else (a Data Export's attachment and document folders,
`__MACOSX`, `.DS_Store`, other objects' CSVs) is skipped and listed in the folder's manifest
(`skipped_entries()`, for the run summary).

A zip is refused, before anything is written, when an entry's name points outside the folder,
two entries are the same object's file, or the files to extract expand past SF_ZIP_MAX_BYTES
or by more than SF_ZIP_MAX_RATIO (uncompressed / compressed, per entry and overall). The sizes
a zip declares are not trusted: bytes are counted as they are written.

The files are written into a temporary folder beside the target, renamed into place when all
are written: a crash never leaves a half-extracted folder that a later run would reuse.
"""

from __future__ import annotations

import errno
import hashlib
import json
import lzma
import os
import secrets
import shutil
import socket
import time
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pipeline import settings
from pipeline.contracts import load_contracts
from pipeline.extract import ExportError

CHUNK = 1 << 20
# The ratio limits apply to what expands past this: a small, very regular file (a picklist
# table) may compress far better than 100x and harms nobody.
RATIO_FLOOR_BYTES = 1 << 20
MANIFEST = ".archive.json"  # written last into the extracted folder; matches no object's file
SKIPPED_SHOWN = 10
PARTIAL = ".partial-"  # .<target>.partial-<pid>-<random>-<host>: an extraction under way, or crashed
PARTIAL_STALE_SECONDS = 24 * 3600  # another host's (container's) partial folder untouched this long is gone too
OFFICE = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".numbers", ".docx", ".pptx"}
TARS = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2", ".xz", ".7z", ".rar")


def _size(n: float) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{int(n)} bytes"


def known_files() -> dict[str, str]:
    """Every accepted file name, lowercased, -> its object (`opportunity.csv` -> `Opportunity`)."""
    return {name.lower(): c.object for c in load_contracts().values() for name in c.files}


# --- deciding what to extract ----------------------------------------------------------


def entry_path(zip_name: str, info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path inside the folder; refuses one that would land outside it."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise ExportError(f"{zip_name}: entry {info.filename!r} points outside the export; refusing the zip")
    return PurePosixPath(*parts) if parts else PurePosixPath()


@dataclass(frozen=True)
class Plan:
    files: list[tuple[zipfile.ZipInfo, PurePosixPath]]  # to extract, with their path in the folder
    skipped: list[str]  # the other entries' names (folders left out)


def plan_extract(archive: zipfile.ZipFile, zip_name: str) -> Plan:
    """The entries to extract (an export's files) and the ones skipped; refuses a zip with an
    entry pointing outside the folder, or with several files of one object."""
    known = known_files()
    files, skipped, by_object = [], [], defaultdict(list)
    for info in archive.infolist():
        path = entry_path(zip_name, info)  # every entry, skipped or not: such a zip is not an export
        if info.is_dir() or not path.parts:
            continue
        obj = None if path.parts[0] == "__MACOSX" else known.get(path.name.lower())
        if obj is None:
            skipped.append(info.filename)
        else:
            files.append((info, path))
            by_object[obj].append(path)
    for obj, paths in by_object.items():
        if len(paths) > 1:
            raise ExportError(f"{zip_name}: {obj}: several files in the export: {', '.join(map(str, sorted(paths)))}; "
                         "refusing the zip")
    for info, _ in files:
        if info.flag_bits & 0x1:
            raise ExportError(f"{zip_name}: entry {info.filename} is encrypted; export without a password, "
                         "or unpack it and point at the folder")
        try:
            archive.open(info).close()  # the compression method is readable, the local header agrees
        except NotImplementedError:
            raise ExportError(
                f"{zip_name}: entry {info.filename} uses compression method {info.compress_type}"
                + (" (Deflate64: Windows' own zip of large files)" if info.compress_type == 9 else "")
                + ", which cannot be read; re-zip it (zip, 7-Zip) or unpack it and point at the folder") from None
        except zipfile.BadZipFile as e:
            raise ExportError(f"{zip_name}: entry {info.filename} is corrupt ({e}); refusing the zip") from None
    if not files:
        names = ", ".join(summarize_skipped(skipped, 5)) or "nothing"
        raise ExportError(f"{zip_name}: no export file in the zip (Opportunity.csv, Account.csv, ...); it holds {names}")
    return Plan(files, skipped)


def check_limits(zip_name: str, files: list[tuple[zipfile.ZipInfo, PurePosixPath]], max_bytes: int,
                 max_ratio: float) -> int:
    """Refuses files that expand past `max_bytes` together, or by more than `max_ratio` (each, and
    together) as their headers declare them; returns their declared total."""
    for info, _ in files:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > max_ratio:
            raise ExportError(f"{zip_name}: entry {info.filename} expands {ratio:.0f}x (limit {max_ratio:g}, "
                         "SF_ZIP_MAX_RATIO); refusing the zip")
    total = sum(info.file_size for info, _ in files)
    largest = max(files, key=lambda f: f[0].file_size)[0]
    if largest.file_size > max_bytes:
        raise ExportError(f"{zip_name}: entry {largest.filename} expands to {_size(largest.file_size)} "
                     f"(limit {_size(max_bytes)}, SF_ZIP_MAX_BYTES); refusing the zip")
    if total > max_bytes:
        raise ExportError(f"{zip_name}: the {len(files)} files to extract total {_size(total)} (limit {_size(max_bytes)}, "
                     f"SF_ZIP_MAX_BYTES; the largest, entry {largest.filename}, {_size(largest.file_size)}); refusing the zip")
    ratio = total / max(sum(info.compress_size for info, _ in files), 1)
    if total > RATIO_FLOOR_BYTES and ratio > max_ratio:
        raise ExportError(f"{zip_name}: the {len(files)} files to extract expand {ratio:.0f}x together (limit {max_ratio:g}, "
                     f"SF_ZIP_MAX_RATIO; the largest, entry {largest.filename}, {_size(largest.file_size)}); refusing the zip")
    return total


def copy_limited(src: BinaryIO, dst: BinaryIO, *, zip_name: str, entry: str, declared: int, remaining: int,
                 max_bytes: int) -> int:
    """Copies an entry, counting the bytes: stops past the size its header declares, or past what
    is left of SF_ZIP_MAX_BYTES (`remaining`), before writing the chunk that would pass. Returns
    the bytes written."""
    written = 0
    while chunk := src.read(CHUNK):
        written += len(chunk)
        if written > declared:
            raise ExportError(f"{zip_name}: entry {entry} expands past its declared size of {declared} bytes; "
                         "refusing the zip")
        if written > remaining:
            raise ExportError(f"{zip_name}: entry {entry} takes the extracted files past {_size(max_bytes)} "
                         "(SF_ZIP_MAX_BYTES); refusing the zip")
        dst.write(chunk)
    return written


# --- extracting ------------------------------------------------------------------------


def summarize_skipped(names: list[str], limit: int = SKIPPED_SHOWN, listed: set[str] = frozenset()) -> list[str]:
    """A short list: `Attachments/ (4210 entries)` for a folder of several, the name of a lone
    entry or of one in a `listed` folder (where the export's files are), at most `limit` items."""
    def folder(name: str) -> str:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        return "__MACOSX" if parts[0] == "__MACOSX" else "/".join(parts[:-1])

    counts = Counter(folder(n) for n in names)
    shown = []
    for name in names:
        f = folder(name)
        item = f"{f}/ ({counts[f]} entries)" if f and counts[f] > 1 and f not in listed else name
        if item not in shown:
            shown.append(item)
    if len(shown) > limit:
        shown = shown[:limit - 1] + [f"and {len(shown) - limit + 1} more"]
    return shown


def skipped_entries(export_dir: Path) -> list[str]:
    """What extracting the export's zip left out (a short list; empty for a folder export)."""
    try:
        return json.loads((Path(export_dir) / MANIFEST).read_text())["skipped"]
    except (OSError, ValueError, KeyError):
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_partials(target: Path) -> None:
    """Removes the temporary folders of extractions of `target` whose process is gone (crashed):
    on this host, by process id; another host's after PARTIAL_STALE_SECONDS untouched."""
    prefix, host = f".{target.name}{PARTIAL}", socket.gethostname()
    for p in target.parent.iterdir():
        if p.name.startswith(prefix):
            pid, _, rest = p.name[len(prefix):].partition("-")
            ours = rest.partition("-")[2] == host
            try:
                stale = time.time() - p.stat().st_mtime > PARTIAL_STALE_SECONDS
            except OSError:
                continue
            if stale or (ours and not (pid.isdigit() and _alive(int(pid)))):
                shutil.rmtree(p, ignore_errors=True)


def safe_extract(zip_path: Path, target: Path, *, max_bytes: int | None = None,
                 max_ratio: float | None = None) -> Path:
    """Extracts the zip's export files into `target` (see the module's docstring for what is
    refused). The files are written into a temporary folder renamed to `target` at the end; if
    another process got there first, its folder is kept. Returns `target`."""
    zip_path, target = Path(zip_path), Path(target)
    name = zip_path.name
    try:
        max_bytes = settings.zip_max_bytes() if max_bytes is None else max_bytes
        max_ratio = settings.zip_max_ratio() if max_ratio is None else max_ratio
    except ValueError as e:
        raise ExportError(str(e)) from None
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ExportError(f"{name}: not a readable zip ({e}); download the export again, or unpack it and point at the folder") from None
    with archive:
        plan = plan_extract(archive, name)
        total = check_limits(name, plan.files, max_bytes, max_ratio)
        target.parent.mkdir(parents=True, exist_ok=True)
        _clear_partials(target)
        free = shutil.disk_usage(target.parent).free
        if total > free:
            raise ExportError(f"{name}: the files to extract total {_size(total)}, {_size(free)} free under {target.parent}")
        partial = target.parent / f".{target.name}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}-{socket.gethostname()}"
        partial.mkdir()
        try:
            written = 0
            for info, path in plan.files:
                dest = partial.joinpath(*path.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as src, open(dest, "xb") as dst:
                        written += copy_limited(src, dst, zip_name=name, entry=info.filename, declared=info.file_size,
                                                remaining=max_bytes - written, max_bytes=max_bytes)
                except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as e:  # a bad CRC, a cut stream
                    raise ExportError(f"{name}: entry {info.filename} is corrupt ({e}); refusing the zip") from None
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    raise ExportError(f"{name}: no space left under {target.parent} extracting entry {info.filename} "
                                 f"(the files to extract total {_size(total)})") from None
            manifest = {"archive": name, "files": [info.filename for info, _ in plan.files],
                        "skipped": summarize_skipped(plan.skipped, listed={str(path.parent) for _, path in plan.files}),
                        "skipped_count": len(plan.skipped)}
            (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
            try:
                os.rename(partial, target)
            except OSError:
                if not target.is_dir():
                    raise
                shutil.rmtree(partial, ignore_errors=True)  # extracted meanwhile by another process: kept
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return target


def _not_an_export(path: Path) -> str:
    suffix, double = path.suffix.lower(), "".join(path.suffixes[-2:]).lower()
    suffix = double if double in TARS else suffix
    if path.suffix.lower() == ".csv":
        obj = known_files().get(path.name.lower())
        if obj:
            return (f"{path}: one object's file ({obj}), not an export: point at the folder that holds it "
                    f"({path.parent}) or at the export's .zip")
        return f"{path}: a CSV file, not an export: point at the folder of the export's CSV files, or at its .zip"
    if suffix in OFFICE:
        return (f"{path}: a {suffix} document, not an export: an export is the folder (or .zip) of CSV files "
                "from Salesforce's Data Export")
    if suffix in TARS:
        return f"{path}: a {suffix} archive; only .zip exports are read: unpack it and point at the folder"
    if suffix == ".zip":
        return f"{path}: not a readable zip (truncated or corrupt?); download the export again, or unpack it and point at the folder"
    return f"{path}: neither a folder nor a .zip export"


def resolve_export(path: str | Path, scratch: Path) -> Path:
    """The folder holding the export's files (a zip is extracted under `scratch`, once: the
    folder is named by the zip's path, size and modification time, and reused)."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"export not found: {path}")
    if path.is_dir():
        return path
    if path.suffix.lower() in OFFICE or not (path.is_file() and zipfile.is_zipfile(path)):
        raise ExportError(_not_an_export(path))
    digest = hashlib.sha1(f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    target = Path(scratch) / f"{path.stem}-{digest}"
    return target if target.exists() else safe_extract(path, target)
