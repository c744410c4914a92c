"""Replay: the tables a build's pages read, published with the site and read back.

A bundle holds the entries of the cvsp cache that a build's pages read after the forward
passes and the bootstrap (:data:`BUNDLED`: score, interval and chapter tables, the CWE
curves of extra seeds; never embeddings), at the paths they have in the cache, and
``manifest.json``: each file's sha256 and size, the package's version and code digest,
whether the models were real or stand-ins, the book's stamp, and the facts of each model
the pages ran (:class:`cvsp.facts.Described`: from them a replayed page makes the build's
keys without a model) (:func:`write_bundle`; the book's build calls :func:`bundle_from_ledger`). It is
read by :class:`ReplayStore` (below), the store :func:`store_for` chooses when
``CVSP_REPLAY`` names a bundle.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pandas as pd
import pooch

from cvsp.cache import BUNDLED, FORMAT, MANIFEST, TEXT_COLUMNS, DiskStore, sha256_of
from cvsp.settings import Settings
from cvsp.storage import atomic_folder


def write_bundle(cache_root: Path, entries: Iterable[str], out: Path, facts: Mapping) -> dict:
    """Copy ``entries`` (files of the cache folder ``cache_root``, by relative path) into
    ``out`` and write its manifest, with ``facts`` (package, build, models) beside the
    files' digests. Returns the manifest."""
    return _write({name: cache_root / name for name in entries}, out, facts)


def bundle_from_ledger(cache_root: Path, ledger: Path, out: Path, facts: Mapping) -> dict | None:
    """The bundle ``out`` of the entries ``ledger`` lists (:attr:`cvsp.cache.DiskStore.ledger`),
    keeping those of the bundle already there, if the same code made it, that the ledger
    does not list (the pages this build did not execute read them); None, and ``out``
    untouched, when the ledger lists nothing."""
    lines = ledger.read_text().splitlines() if ledger.is_file() else []
    records = [json.loads(line) for line in lines if line.strip()]
    listed = {r["entry"] for r in records if "entry" in r}
    models = {r["model"]["name"]: r["model"] for r in records if "model" in r}
    files = {name: cache_root / name for name in listed if (cache_root / name).is_file()}
    if not files:
        return None
    earlier = json.loads((out / MANIFEST).read_text()) if (out / MANIFEST).is_file() else None
    if earlier and earlier["package"]["digest"] == facts["package"]["digest"]:
        kept = earlier["files"]  # other code's tables have other keys: never read again
        files = {name: out / name for name in kept if (out / name).is_file()} | files
        models = earlier.get("models", {}) | models
    return _write(files, out, {**facts, "models": models})


def _write(files: Mapping[str, Path], out: Path, facts: Mapping) -> dict:
    listed = {}
    with atomic_folder(out) as staging:
        for name, source in sorted(files.items()):
            if Path(name).parts[0] not in BUNDLED:
                raise ValueError(f"{name} is not of a kind a bundle holds ({', '.join(BUNDLED)}).")
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            listed[name] = {"sha256": sha256_of(target), "size": target.stat().st_size}
        manifest = {"format": FORMAT, **facts, "files": listed}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


class ReplayError(RuntimeError):
    """A bundle that cannot be replayed; the message says which file or fact and why."""


@dataclass
class ReplayStore:
    """A :class:`~cvsp.cache.Store` over the bundle at ``source`` (folder or URL); what is
    downloaded or written goes to ``local``."""

    source: str
    local: DiskStore
    manifest: dict = field(default_factory=dict)
    _checked: set = field(default_factory=set, repr=False)

    @classmethod
    def open(cls, source: str, local: DiskStore, version: str, any_version: bool = False):
        """The bundle at ``source``, refused when it was made by another package version
        than ``version`` (unless ``any_version``) or in another bundle format."""
        store = cls(source, local)
        store.manifest = json.loads(store._fetch(MANIFEST, None).read_text())
        if store.manifest.get("format") != FORMAT:
            raise ReplayError(
                f"The replay bundle at {source} has format {store.manifest.get('format')}; "
                f"this cvsp reads format {FORMAT}."
            )
        made_by = store.manifest["package"]["version"]
        if made_by != version and not any_version:
            raise ReplayError(
                f"The replay bundle at {source} was made by cvsp {made_by}; this is cvsp "
                f"{version}. Install cvsp {made_by}, or set CVSP_REPLAY_ANY_VERSION=1 to "
                "replay it anyway."
            )
        return store

    @property
    def code(self) -> str:
        """The code digest of the build that made the bundle (part of the tables' keys)."""
        return self.manifest["package"]["digest"]

    @property
    def stand_in(self) -> bool:
        return self.manifest["build"]["models"] == "stand-in"

    def models(self, seed: int = 0) -> dict[str, dict]:
        """The facts of each model the build ran (:class:`cvsp.facts.Described`'s fields),
        with the random token's ``seed``."""
        return {
            key: {**fact, "seed": seed} for key, fact in self.manifest.get("models", {}).items()
        }

    def _fetch(self, name: str, sha256: str | None) -> Path:
        """The bundle's file ``name``, checked against ``sha256`` (the manifest itself,
        ``sha256`` None, is read afresh each time)."""
        if self.source.startswith(("http://", "https://")):
            path = self._download(name, sha256)
        else:
            path = Path(self.source) / name
            if not path.is_file():
                raise ReplayError(f"The replay bundle at {self.source} has no {name}.")
        if sha256 is not None and name not in self._checked:
            if sha256_of(path) != sha256:
                raise ReplayError(self._damaged(name))
            self._checked.add(name)
        return path

    def _download(self, name: str, sha256: str | None) -> Path:
        url = urljoin(self.source.rstrip("/") + "/", name)
        folder = self.local.path("replay", hashlib.sha256(self.source.encode()).hexdigest()[:16])
        fname = name.replace("/", "--")
        if sha256 is None:
            (folder / fname).unlink(missing_ok=True)
        try:
            with _quiet(pooch.get_logger()):  # a line per table would bury a chapter's output
                return Path(
                    pooch.retrieve(
                        url,
                        known_hash=None if sha256 is None else f"sha256:{sha256}",
                        fname=fname,
                        path=folder,
                        progressbar=False,
                    )
                )
        except ValueError as error:  # pooch: the download's sha256 is not the manifest's
            raise ReplayError(self._damaged(name)) from error
        except OSError as error:  # requests' errors are OSErrors
            raise ReplayError(
                f"The replay bundle's {name} cannot be read from {url} ({error})."
            ) from error

    def _damaged(self, name: str) -> str:
        return (
            f"The replay bundle's file {name} does not match the sha256 its manifest gives "
            f"({self.source}): the bundle was changed or damaged; download it again, or "
            "compute instead of replaying (REPLAY = None in the chapter's first cell, or "
            "CVSP_REPLAY=off)."
        )

    def _bundled(self, name: str) -> Path | None:
        entry = self.manifest["files"].get(name)
        return None if entry is None else self._fetch(name, entry["sha256"])

    def get_array(self, kind: str, key: str) -> np.ndarray | None:
        path = self._bundled(f"{kind}/{key}.npy")
        if path is None:
            return self.local.get_array(kind, key)
        return np.load(path, allow_pickle=False)

    def put_array(self, kind: str, key: str, array: np.ndarray) -> None:
        self.local.put_array(kind, key, array)

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        path = self._bundled(f"{kind}/{key}.npz")
        if path is None:
            return self.local.get_arrays(kind, key)
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}

    def put_arrays(self, kind: str, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        self.local.put_arrays(kind, key, arrays)

    def get_tables(
        self, kind: str, key: str, names: Sequence[str]
    ) -> tuple[pd.DataFrame, ...] | None:
        wanted = [f"{kind}/{key}/{name}.csv" for name in names]
        if not all(name in self.manifest["files"] for name in wanted):
            return self.local.get_tables(kind, key, names)
        return tuple(pd.read_csv(self._bundled(name), dtype=TEXT_COLUMNS) for name in wanted)

    def put_tables(self, kind: str, key: str, tables: Mapping[str, pd.DataFrame]) -> None:
        self.local.put_tables(kind, key, tables)

    def scratch(self, kind: str) -> DiskStore:
        return self.local.scratch(kind)

    def note(self, record: dict) -> None:
        self.local.note(record)

    # what is not a table (stand-in checkpoints, the size report) is the local folder's
    def path(self, kind: str, name: str) -> Path:
        return self.local.path(kind, name)

    def folder(self, kind: str, name: str, complete, fill) -> Path:
        return self.local.folder(kind, name, complete, fill)

    def sizes(self) -> dict[str, int]:
        return self.local.sizes()


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """``logger`` says only warnings and errors while the block runs."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def store_for(settings: Settings) -> DiskStore | ReplayStore:
    """The store ``settings`` name: the cvsp cache folder (``CVSP_CACHE_DIR``), or with
    ``CVSP_REPLAY`` the bundle it names, over that folder."""
    local = DiskStore(settings.cache_dir, ledger=settings.ledger)
    source = settings.replay_source()
    if source is None:
        return local
    return _replay(source, local, metadata.version("cvsp"), settings.replay_any_version)


@functools.cache
def _replay(source: str, local: DiskStore, version: str, any_version: bool) -> ReplayStore:
    """One :class:`ReplayStore` per bundle and local folder in a process (its manifest is
    read once, each file checked once)."""
    return ReplayStore.open(source, local, version, any_version)
