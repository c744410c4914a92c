"""Writing safely, and the digest of the code that cache keys include.

Every file or folder cvsp leaves on disk (embedding arrays, stand-in checkpoints, cached
intervals, the output folder of ``cvsp reproduce``) is written beside its final place
and renamed into it when complete (:func:`atomic_file`, :func:`atomic_folder`), so an
interrupted run leaves either the old content or the new one, never a part.
:func:`package_digest` is a digest of every module of the installed package: part of
the keys of what the code computes from embeddings (:mod:`cvsp.cache` says which), and
of the book's stamp.

The trace (``CVSP_TRACE``) is a JSON-lines file each forward pass and bootstrap adds a
line to (:func:`append_record`).

Used by :mod:`cvsp.cache`, :mod:`cvsp.embeddings`, :mod:`cvsp.models`,
:mod:`cvsp.reproduce`, :mod:`cvsp.stamp` and ``tools/mutants.py``. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def package_digest(root: Path | None = None) -> str:
    """sha256 (16 hex digits) of every module under ``root`` (default: the installed
    ``cvsp``), names and contents, in a fixed order."""
    root = root or Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(
            path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    return digest.hexdigest()[:16]


def append_record(path: Path, record: dict) -> None:
    """Add ``record`` to a JSON-lines file as one line, in one write (appends of a few
    hundred bytes from several processes do not interleave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(handle, line)
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_file(
    path: Path, mode: int | None = None, times: tuple[int, int] | None = None
) -> Iterator[BinaryIO]:
    """A binary stream whose content becomes ``path`` when the block ends without an
    error (flushed to disk, then renamed over it); on an error ``path`` is untouched.
    ``mode`` and ``times`` (access and modification, in ns) are given to the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        if times is not None:
            os.utime(temporary, ns=times)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextlib.contextmanager
def atomic_folder(target: Path, *, replace: bool = True, mode: int | None = None) -> Iterator[Path]:
    """A staging folder beside ``target`` that becomes ``target`` when the block ends
    without an error; on an error it is removed and ``target`` is untouched.

    ``replace``: an existing ``target`` is replaced whole (moved aside first, then
    removed); otherwise it is kept and the staging folder dropped (another process
    finished the same work first). ``mode``: permissions of the new folder
    (``mkdtemp`` makes it private).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-staging-"))
    try:
        if mode is not None:
            staging.chmod(mode)
        yield staging
        if not target.exists():
            os.replace(staging, target)
        elif replace:
            retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-old-"))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
