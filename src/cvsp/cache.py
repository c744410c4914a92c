"""The embedding cache's store: arrays on disk, one ``.npy`` file per key.

A key names everything an array depends on (see :meth:`cvsp.embeddings.Embedder.key`: the
model's fingerprint, the input form, the token choice, the seed of a random draw and the
digest of the texts, :func:`texts_digest`); a different value of any of them is another
key, so nothing is ever overwritten with other content. An entry is written atomically
(:func:`cvsp.storage.atomic_file`); an unreadable one is dropped with a warning and
computed again. Arrays that need not outlive a page (draws for seeds other than the
embedder's) go to a scratch folder inside the store (:func:`scratch_folder`), removed with
its owner or, if the process was killed, by the next one that makes a scratch folder.

Used by :mod:`cvsp.embeddings`, :mod:`cvsp.reproduce`, :mod:`cvsp.intervals` and :mod:`cvsp.experiments`.
numpy and the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvsp.storage import atomic_file

SCRATCH_PREFIX = ".scratch-"


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of an ordered list of texts (each length-prefixed, so no two lists collide)."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class EmbeddingCache:
    """Arrays on disk under ``root``, one ``.npy`` file per key, written atomically."""

    root: Path

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The array stored under ``key``; None if there is none or it cannot be read."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            warnings.warn(
                f"Embedding cache entry {path} is unreadable ({error}); recomputing it.",
                stacklevel=2,
            )
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, array: np.ndarray) -> None:
        with atomic_file(self.path(key)) as stream:
            np.save(stream, array, allow_pickle=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def scratch_folder(root: Path) -> tempfile.TemporaryDirectory:
    """A new folder inside ``root`` that is removed when the returned object is collected
    or the process ends; first removes the scratch folders of processes that no longer run."""
    root.mkdir(parents=True, exist_ok=True)
    for left in root.glob(f"{SCRATCH_PREFIX}*-*"):
        if not _alive(int(left.name[len(SCRATCH_PREFIX) :].split("-")[0])):
            shutil.rmtree(left, ignore_errors=True)
    return tempfile.TemporaryDirectory(dir=root, prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
