"""The cvsp cache: one key function and one store for everything computed once and read again.

What invalidates what. Every value is stored under :func:`key` of everything it depends
on, so a change to any of them is another key and nothing is ever overwritten with other
content:

- **embeddings** (``.npy``): the model's fingerprint (stand-in seed and weights, or hub
  commit), the input form, the token choice, the seed of a random draw, the texts'
  digest and :data:`cvsp.cached.CACHE_FORMAT` (raised when the way vectors are read
  changes). Not the code: a code change must not throw away hours of forward passes.
- **replicates** (``.npz``) and **intervals** (a folder of CSV tables): the models'
  fingerprints and seeds, the inputs' digests, the bootstrap settings and the store's
  :attr:`~Store.code` (the digest of every module of the package), so any change to the
  code computes them anew; the same for the CWE **curves** of extra seeds.
- **stand-ins** (checkpoint folders): the model, seed and size (see :mod:`cvsp.standins`).

Entries are written atomically (:mod:`cvsp.storage`); one that cannot be read is dropped
with a warning and computed again. Values a page needs only while it runs (draws for
seeds other than an embedder's) go to a scratch store (:meth:`DiskStore.scratch`)
removed with its owner. The downloaded data and the book's web assets are pooch's,
checked by their pinned sha256, not this store's.

:class:`Store` is the interface every user of the cache depends on; :class:`DiskStore`
is the cache folder (``CVSP_CACHE_DIR``), and :class:`cvsp.replay.ReplayStore` the same
interface over a build's published bundle (:func:`cvsp.replay.store_for` chooses).
numpy, pandas and the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from cvsp.storage import append_record, atomic_file, atomic_folder, package_digest

SCRATCH_PREFIX = ".scratch-"
BUNDLED = ("intervals", "curves", "tables")  # tables, not vectors: what a replay bundle holds
MANIFEST = "manifest.json"  # a bundle's list of its files (cvsp.replay writes it)
FORMAT = 1  # of a bundle
# columns read as text: layer labels ("0".."12", "final_ln", "projection") are names
TEXT_COLUMNS = {"layer": str, "base_layer": str, "layers": str}
UNREADABLE = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile)


def key(**parts: object) -> str:
    """The cache key of a value: a digest (32 hex digits) of everything it depends on,
    given as JSON-serialisable ``parts``."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of an ordered list of texts (each length-prefixed, so no two lists collide)."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


class Store(Protocol):
    """Values by kind and key. A read gives None for a value the store does not hold.
    ``code`` is the digest of the code whose values the store holds (a part of the keys
    of what the code computes from embeddings)."""

    @property
    def code(self) -> str: ...

    def get_array(self, kind: str, key: str) -> np.ndarray | None: ...

    def put_array(self, kind: str, key: str, array: np.ndarray) -> None: ...

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None: ...

    def put_arrays(self, kind: str, key: str, arrays: Mapping[str, np.ndarray]) -> None: ...

    def get_tables(
        self, kind: str, key: str, names: Sequence[str]
    ) -> tuple[pd.DataFrame, ...] | None: ...

    def put_tables(self, kind: str, key: str, tables: Mapping[str, pd.DataFrame]) -> None: ...

    def scratch(self, kind: str) -> Store: ...

    def note(self, record: dict) -> None: ...  # a line of the ledger, where there is one


def cached_tables(
    store: Store | None,
    kind: str,
    key: str,
    names: Sequence[str],
    compute: Callable[[], Iterable[pd.DataFrame]],
) -> tuple[pd.DataFrame, ...]:
    """Tables ``names`` from ``store``, or ``compute()``d and stored when any is missing;
    what is returned is what the store gives back (so a first and a later read agree)."""
    if store is None:
        return tuple(compute())
    found = store.get_tables(kind, key, names)
    if found is None:
        store.put_tables(kind, key, dict(zip(names, compute(), strict=True)))
        found = store.get_tables(kind, key, names)
    assert found is not None
    return found


@dataclass(frozen=True)
class DiskStore:
    """The cache folder: ``<root>/<kind>/<key>.npy`` (an array), ``.npz`` (named arrays)
    or ``<key>/<name>.csv`` (tables), ``<root>/<kind>/<name>/`` (a checkpoint folder)."""

    root: Path
    ledger: Path | None = None  # a JSON-lines file listing each bundled entry read or written
    _owned: list = field(default_factory=list, compare=False, repr=False)  # a scratch folder

    @property
    def code(self) -> str:
        """The installed package's digest: what this process computes, it computes with it."""
        return package_digest()

    def path(self, kind: str, name: str) -> Path:
        return self.root / kind / name

    def get_array(self, kind: str, key: str) -> np.ndarray | None:
        return self._read(kind, f"{key}.npy", lambda p: np.load(p, allow_pickle=False))

    def put_array(self, kind: str, key: str, array: np.ndarray) -> None:
        with atomic_file(self.path(kind, f"{key}.npy")) as stream:
            np.save(stream, array, allow_pickle=False)
        self._note(kind, f"{key}.npy")

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        def load(path: Path) -> dict[str, np.ndarray]:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}

        return self._read(kind, f"{key}.npz", load)

    def put_arrays(self, kind: str, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        with atomic_file(self.path(kind, f"{key}.npz")) as stream:
            np.savez(stream, **arrays)
        self._note(kind, f"{key}.npz")

    def get_tables(
        self, kind: str, key: str, names: Sequence[str]
    ) -> tuple[pd.DataFrame, ...] | None:
        folder = self.path(kind, key)
        if not all((folder / f"{name}.csv").is_file() for name in names):
            return None
        for name in names:
            self._note(kind, f"{key}/{name}.csv")
        return tuple(pd.read_csv(folder / f"{name}.csv", dtype=TEXT_COLUMNS) for name in names)

    def put_tables(self, kind: str, key: str, tables: Mapping[str, pd.DataFrame]) -> None:
        """Written whole or not at all; a folder another run completed first is kept."""
        with atomic_folder(self.path(kind, key), replace=False) as staging:
            for name, table in tables.items():
                table.to_csv(staging / f"{name}.csv", index=False)
        for name in tables:
            self._note(kind, f"{key}/{name}.csv")

    def folder(
        self, kind: str, name: str, complete: Callable[[Path], bool], fill: Callable[[Path], None]
    ) -> Path:
        """The folder ``<kind>/<name>``, ``fill``\\ ed (in a staging folder, moved into
        place when complete) unless ``complete(folder)`` holds already; one an interrupted
        run left incomplete is replaced."""
        target = self.path(kind, name)
        if not complete(target):
            with atomic_folder(target) as staging:
                fill(staging)
        return target

    def scratch(self, kind: str) -> DiskStore:
        """A store in a new folder inside ``kind``'s (so its size counts as that kind's),
        removed when this store is collected or the process ends; first removes the
        scratch folders of processes that are gone."""
        parent = self.path(kind, "")
        parent.mkdir(parents=True, exist_ok=True)
        for left in parent.glob(f"{SCRATCH_PREFIX}*-*"):
            if not _alive(int(left.name[len(SCRATCH_PREFIX) :].split("-")[0])):
                shutil.rmtree(left, ignore_errors=True)
        folder = tempfile.TemporaryDirectory(dir=parent, prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        return DiskStore(Path(folder.name), _owned=[folder])  # the folder lives as long as it

    def sizes(self) -> dict[str, int]:
        """Bytes under each folder of the store (each kind's, the data's, ...)."""
        if not self.root.is_dir():
            return {}
        return {
            folder.name: sum(map(_bytes, folder.rglob("*")))
            for folder in sorted(self.root.iterdir())
            if folder.is_dir()
        }

    def _read(self, kind: str, name: str, load: Callable[[Path], object]):
        path = self.path(kind, name)
        if not path.is_file():
            return None
        try:
            found = load(path)
        except UNREADABLE as error:
            warnings.warn(
                f"Cache entry {path} is unreadable ({error}); recomputing it.", stacklevel=3
            )
            path.unlink(missing_ok=True)
            return None
        self._note(kind, name)
        return found

    def _note(self, kind: str, name: str) -> None:
        """List a bundled entry in the ledger (the book's build bundles them for replay)."""
        if kind in BUNDLED:
            self.note({"entry": f"{kind}/{name}"})

    def note(self, record: dict) -> None:
        """Add ``record`` to the ledger, if there is one (entries read, models run)."""
        if self.ledger is not None:
            append_record(self.ledger, record)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _bytes(path: Path) -> int:
    """A file's size; 0 for a folder or a file removed while the cache is read (a page's
    scratch folder goes when its kernel ends)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0
