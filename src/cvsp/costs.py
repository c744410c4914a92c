"""What a run will cost, said before it is spent: downloads, disk, time (``cvsp preflight``).

A run is the whole book, one chapter, or ``cvsp reproduce``. Its figures come from two
sources and are never typed by hand:

- **downloads**: the size of each model's weights in the registry
  (:attr:`cvsp.registry.ModelSpec.download_mb`), less the models already in the Hugging
  Face cache (looked up on disk: no request reaches the hub);
- **disk and time**: the benchmark (``benchmarks/run.py``), which builds the book from an
  empty cache with full-size stand-ins (the real architectures, so the same passes and
  the same sizes) and samples the cache while each page runs. It writes the figures used
  here to ``costs.json`` beside this module (:data:`COSTS`).

A chapter run alone needs the paper's two models' passes, which the book's first page
computes for every later one, and then its own: its disk is that page's growth of the
cache plus its own, its time both pages' times. Times scale with the cores (the
benchmark's machine had :attr:`Benchmark.cores`), an estimate that ignores the download.
Real runs keep their weights in the Hugging Face cache instead of the stand-ins' files.

Torch-free: the command line answers at once, before anything is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import constants, try_to_load_from_cache

from cvsp.registry import BOOK_MODELS, CHAPTERS, MODEL_SETS, MODELS, WEIGHTS_FILE
from cvsp.replay import store_for
from cvsp.settings import Settings

COSTS = Path(__file__).with_name("costs.json")
# the book's first executed page: the paper's two models' passes and bootstrap
FIRST_PAGE = "results"
TARGETS = ("book", "reproduce", *CHAPTERS)
GB = 1e9
MIB = 2**20


class CostError(ValueError):
    """A target the preflight does not know, or no benchmark figures to estimate from."""


@dataclass(frozen=True)
class Benchmark:
    """The benchmark's figures that the estimates use (``costs.json``)."""

    commit: str
    cores: int
    book_s: float
    book_embeddings_peak_mib: float
    book_cache_peak_mib: float
    book_other_mib: float  # intervals, replicates and web assets at the end of the build
    pages: dict[
        str, dict[str, float]
    ]  # page -> seconds, embeddings_mib, cache_mib (the most it added at once)
    reproduce_s: float
    reproduce_embeddings_mib: float
    reproduce_other_mib: float  # intervals and replicates
    reproduce_standins_mib: float
    # each chapter replayed from a build's site: {"commit", "built_with", "pages": chapter ->
    # {"seconds", "peak_mib"}} (empty before the benchmark measured it)
    replay: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = COSTS) -> Benchmark:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise CostError(f"The benchmark's figures ({path}) cannot be read: {error}") from error


@dataclass(frozen=True)
class Cost:
    """What one target needs: bytes to download and to store, seconds on this machine."""

    target: str
    models: tuple[str, ...]
    download: float  # bytes still to download (real models not yet in the hub cache)
    cached: tuple[str, ...]  # real models already in the hub cache
    weights: float  # bytes of weights that land on disk (downloads, or the stand-ins' files)
    cache: float  # bytes of embeddings, tables and intervals in the cvsp cache at the peak
    seconds: float

    @property
    def disk(self) -> float:
        return self.weights + self.cache


def models_of(target: str, model_set: str = "paper") -> tuple[str, ...]:
    """The registry keys a target loads."""
    if target == "book":
        return BOOK_MODELS
    if target == "reproduce":
        return MODEL_SETS[model_set]
    if target in CHAPTERS:
        return MODEL_SETS[CHAPTERS[target]]
    raise CostError(
        f"Unknown target {target!r}; choose book, reproduce or a chapter: {', '.join(CHAPTERS)}."
    )


def chapter(name: str) -> str:
    """A chapter named by its number (``1``, ``08``) or its file's stem, as :data:`CHAPTERS` has it."""
    if name in TARGETS:
        return name
    matches = [c for c in CHAPTERS if name.isdigit() and int(c[:2]) == int(name)]
    if not matches:
        raise CostError(
            f"Unknown target {name!r}; choose book, reproduce, 1-8 or a chapter: {', '.join(CHAPTERS)}."
        )
    return matches[0]


def in_hub_cache(key: str, settings: Settings) -> bool:
    """Whether the pinned weights of model ``key`` are in the Hugging Face cache (on disk only)."""
    spec = MODELS[key]
    revision = settings.revision(key, spec.revision or "main")
    found = try_to_load_from_cache(
        spec.hub_id, WEIGHTS_FILE, cache_dir=constants.HF_HUB_CACHE, revision=revision
    )
    return isinstance(found, str) and os.path.isfile(found)


def estimate(
    target: str,
    settings: Settings,
    bench: Benchmark,
    model_set: str = "paper",
    cores: int | None = None,
    look: bool = True,
) -> Cost:
    """What ``target`` will download, store and take (see the module's docstring), on
    ``cores`` (default: this machine's). ``look``: leave out the weights already in the
    Hugging Face cache (False: as on a machine that has none, for the docs)."""
    models = models_of(target, model_set)
    scale = bench.cores / max(1, cores or os.cpu_count() or 1)
    if target == "book":
        embeddings, other, seconds = (
            bench.book_embeddings_peak_mib,
            bench.book_other_mib,
            bench.book_s,
        )
        standins = bench.book_cache_peak_mib - embeddings - other
    elif target == "reproduce":
        embeddings, other, seconds = (
            bench.reproduce_embeddings_mib,
            bench.reproduce_other_mib,
            bench.reproduce_s,
        )
        standins = bench.reproduce_standins_mib
    else:
        first, own = bench.pages[FIRST_PAGE], bench.pages[target]
        embeddings = first["embeddings_mib"] + own["embeddings_mib"]
        total = first["cache_mib"] + own["cache_mib"]
        other, standins, seconds = 0.0, total - embeddings, first["seconds"] + own["seconds"]
    if settings.is_stand_in:
        cached, download, weights = (), 0.0, standins * MIB
    else:
        cached = tuple(key for key in models if look and in_hub_cache(key, settings))
        download = sum(
            (MODELS[key].download_mb or 0.0) * 1e6 for key in models if key not in cached
        )
        weights = download
    return Cost(
        target, models, download, cached, weights, (embeddings + other) * MIB, seconds * scale
    )


def free_bytes(folder: Path) -> tuple[Path, float]:
    """The nearest existing folder at or above ``folder`` and the bytes free there."""
    folder = folder.expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder, float(shutil.disk_usage(folder).free)


def shortfall(cost: Cost, settings: Settings) -> str | None:
    """One sentence when the disk cannot hold what ``cost`` stores, else None. The
    embeddings go to the cvsp cache, the weights to the Hugging Face cache; on one disk
    both count together."""
    cvsp_at, cvsp_free = free_bytes(settings.cache_dir)
    hub_at, hub_free = free_bytes(Path(constants.HF_HUB_CACHE))
    same = os.stat(cvsp_at).st_dev == os.stat(hub_at).st_dev
    weights_there = settings.is_stand_in or same
    needs = [(cvsp_at, cvsp_free, cost.cache + (cost.weights if weights_there else 0.0))]
    if not weights_there:
        needs.append((hub_at, hub_free, cost.weights))
    for where, free, needed in needs:
        if needed > free:
            return (
                f"not enough disk: {describe(cost.target)} needs about {needed / GB:.1f} GB in {where}, "
                f"which has {free / GB:.1f} GB free; free some space, set CVSP_CACHE_DIR (and HF_HOME) "
                "to a larger disk, or pass --force to go on anyway."
            )
    return None


def describe(target: str) -> str:
    if target == "book":
        return "the whole book"
    if target == "reproduce":
        return "cvsp reproduce"
    return f"chapter {int(target[:2])}"  # the chapter's number, as the book numbers it


def duration(seconds: float) -> str:
    """A time for people: whole minutes from 90 s up, else seconds (the preflight, the README)."""
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def line(cost: Cost, settings: Settings) -> str:
    """One line: what ``cost`` downloads, stores and takes, and the free disk."""
    where, free = free_bytes(settings.cache_dir)
    download = (
        "no download (stand-ins)"
        if settings.is_stand_in
        else f"download {cost.download / GB:.1f} GB"
    )
    return (
        f"{describe(cost.target)}: {download}, up to {cost.disk / GB:.1f} GB of disk, "
        f"about {duration(cost.seconds)} on {os.cpu_count()} cores (estimate); {free / GB:.1f} GB free at {where}"
    )


def report(cost: Cost, settings: Settings, bench: Benchmark, model_set: str = "paper") -> str:
    """The preflight's report of ``cost`` (:func:`estimate`) and, for the book, each chapter's alone."""
    mode = "stand-in models (random weights)" if settings.is_stand_in else "the real models"
    where, free = free_bytes(settings.cache_dir)
    lines = [
        f"cvsp preflight: {describe(cost.target)} with {mode}",
        f"  download  {cost.download / GB:.1f} GB of weights"
        + (
            ""
            if settings.is_stand_in
            else f" ({len(cost.models) - len(cost.cached)} of {len(cost.models)} models; "
            f"{len(cost.cached)} already in the Hugging Face cache)"
        ),
        f"  disk      up to {cost.disk / GB:.1f} GB at the peak ({cost.cache / GB:.1f} GB of embeddings and tables "
        f"in {settings.cache_dir}, {cost.weights / GB:.1f} GB of "
        + (
            "stand-in checkpoints)"
            if settings.is_stand_in
            else "weights in the Hugging Face cache)"
        ),
        f"  time      about {duration(cost.seconds)} on this machine's {os.cpu_count()} cores (an estimate from "
        f"the benchmark's {bench.cores} cores, {bench.commit[:7]}; downloads not included)",
        f"  free      {free / GB:.1f} GB at {where}",
    ]
    if cost.target == "book":
        lines.append("  each chapter run alone (the paper's passes, then its own):")
        for name in CHAPTERS:
            alone = estimate(name, settings, bench, model_set)
            lines.append(
                f"    {name:<34} download {alone.download / GB:4.1f} GB, disk {alone.disk / GB:4.1f} GB, "
                f"about {duration(alone.seconds)}"
            )
    return "\n".join(lines)


def size_text(size: float) -> str:
    """Bytes for people: ``3.0 MB``, ``1.25 GB``."""
    return f"{size / GB:.2f} GB" if size >= 0.1 * GB else f"{size / 1e6:.1f} MB"


def cache_report(settings: Settings) -> str:
    """One sentence: how much the cvsp cache holds, by folder, and where."""
    sizes = cache_sizes(settings)
    parts = (
        ": " + ", ".join(f"{name} {size_text(size)}" for name, size in sizes.items())
        if sizes
        else ""
    )
    return f"The cvsp cache at {settings.cache_dir} holds {size_text(sum(sizes.values()))}{parts}."


def table(bench: Benchmark, models: str = "real") -> list[dict[str, object]]:
    """Each target's figures on the benchmark's machine and an empty cache, for the docs:
    ``target``, ``download_gb``, ``disk_gb``, ``minutes``."""
    settings = Settings(models=models)  # type: ignore[arg-type]
    rows = []
    for target in ("book", "reproduce", *CHAPTERS):
        cost = estimate(target, settings, bench, cores=bench.cores, look=False)
        rows.append(
            {
                "target": target,
                "download_gb": cost.download / GB,
                "disk_gb": cost.disk / GB,
                "minutes": cost.seconds / 60,
            }
        )
    return rows


def cache_sizes(settings: Settings) -> dict[str, int]:
    """Bytes under each folder of the cvsp cache (embeddings, stand-ins, intervals, ...)."""
    return store_for(settings).sizes()
