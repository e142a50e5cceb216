"""Reading and writing users' files without ever losing a byte.

Files are decoded as strict UTF-8 with no newline translation, so ``write_text(read_text(p))``
is byte-identical (a BOM survives as ``\\ufeff``). Writes go to a temp file in the same folder,
are fsynced and then renamed over the target, so a crash leaves either the old or the new file,
never half of one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from greenbump.errors import InputError

MAX_FILE_BYTES = 16 * 1024 * 1024


def read_text(path: Path, *, display: Path | None = None) -> str:
    """Return the file's text exactly as stored; raise :class:`InputError` on non-text input."""
    shown = display if display is not None else path
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"file is too large ({size} bytes) for a dependency file", shown)
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", shown) from exc
    return decode(data, shown)


def decode(data: bytes, shown: Path) -> str:
    """Decode ``data`` as UTF-8, pointing at the line of the first bad byte if it is not."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary file (NUL byte), not a dependency file", shown, line)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", shown, line) from exc


def write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8, newlines untouched), keeping its mode.

    ``durable=False`` skips the fsyncs, for greenbump's scratch trees: a crash throws those away
    anyway, and on a slow disk the syncs cost more than the rest of an upgrade's edits.
    """
    data = text.encode("utf-8")
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    import tempfile  # deferred: most commands only read files

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".greenbump-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is not None:
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
    if durable:
        _fsync_dir(path.parent)


def remove_stale_temp_files(folders: Iterable[Path]) -> list[Path]:
    """Delete temp files a killed greenbump left mid-write (``.NAME.*.greenbump-tmp``).

    A SIGKILL between writing the temp file and renaming it leaves the temp file behind (the
    target itself is intact); the next run clears them from the folders it writes to.
    """
    removed = []
    for folder in set(folders):
        for stale in folder.glob(".*.greenbump-tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not every platform lets a directory be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1
