"""Set-up for the book's notebooks: one call gives models, data and the shared cache.

Every chapter starts with :func:`start`. The models come from ``CVSP_MODELS`` (real by
default, stand-ins on request) and the embeddings from the cache shared with ``cvsp
reproduce`` and the other chapters, so no forward pass is run twice.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import costs, data, experiments, paper
from cvsp.cached import CachedEmbedder
from cvsp.hub import resolve_all
from cvsp.intervals import beyond_tables, contrast_tables, uncertainty
from cvsp.intervals import results as cached_results
from cvsp.registry import CHAPTERS, MODEL_SETS, PAPER_MODELS, ModelSpec, spec_for
from cvsp.replay import store_for
from cvsp.reproduce import (
    STAND_IN_WARNING,
    Run,
    beyond_the_pair,
    run,
)
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings

if TYPE_CHECKING:  # for the annotations only: models imports torch
    from cvsp.models import LoadedModel

INTERVAL_KEY = ["result", "model", "variant", "task", "layer"]


class LazyModels(Mapping[str, "LoadedModel"]):
    """The models of a chapter, each loaded when a cell first uses it (real weights are
    downloaded then). Every key, and for real models every revision, is checked when the
    mapping is made, as :func:`~cvsp.models.load_models` does, so that a refusal comes
    first. ``spec(key)`` answers without loading."""

    def __init__(self, settings: Settings, keys: tuple[str, ...]) -> None:
        self._specs = {spec.key: spec for spec in map(spec_for, keys)}
        self._settings = settings
        self._resolved = (
            None if settings.is_stand_in else resolve_all(list(self._specs.values()), settings)
        )
        self._loaded: dict[str, LoadedModel] = {}

    def __getitem__(self, key: str) -> LoadedModel:
        if key not in self._loaded:
            from cvsp.models import load_models  # torch: when a cell first uses the model

            resolved = None if self._resolved is None else {key: self._resolved[key]}
            self._loaded[key] = load_models(self._settings, (self._specs[key],), resolved=resolved)[
                key
            ]
        return self._loaded[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, key: str) -> ModelSpec:
        return self._specs[key]

    @property
    def loaded(self) -> tuple[str, ...]:
        """The keys of the models loaded so far, in the order they were."""
        return tuple(self._loaded)


class LazyEmbedders(Mapping[str, CachedEmbedder]):
    """One :class:`~cvsp.cached.CachedEmbedder` per model of ``models``, made (and its
    model loaded) when first used."""

    def __init__(
        self,
        models: Mapping[str, LoadedModel],
        settings: Settings,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self._models, self._settings, self._store = models, settings, store_for(settings)
        self._seed, self._progress = seed, progress
        self._made: dict[str, CachedEmbedder] = {}

    def __getitem__(self, key: str) -> CachedEmbedder:
        if key not in self._made:
            from cvsp.embeddings import cached  # torch: when a cell first uses the model

            self._made[key] = cached(
                self._models[key],
                self._store,
                seed=self._seed,
                progress=self._progress,
                trace=self._settings.trace,
            )
        return self._made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


@dataclass
class Session:
    """What a chapter needs: settings, its models and their cached embedders (with
    :func:`start`, each model is loaded when a cell first uses it)."""

    settings: Settings
    models: Mapping[str, LoadedModel]
    embedders: Mapping[str, CachedEmbedder]
    seed: int = 0

    @property
    def stand_in(self) -> bool:
        return self.settings.is_stand_in

    @cached_property
    def words(self) -> experiments.WordData:
        return experiments.load_word_data(self.settings)

    @cached_property
    def sentences(self) -> experiments.SentenceData:
        return experiments.prepare_sentences(
            data.load_sts(self.settings), self.models["clip"].tokenizer
        )

    @cached_property
    def uncertainty(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(intervals, differences, claims)`` of :func:`cvsp.experiments.uncertainty`,
        from the cache ``cvsp reproduce`` and every chapter share (computed once)."""
        paper_embedders = {key: self.embedders[key] for key in PAPER_MODELS}
        boot = BootstrapSettings(replicates=self.settings.bootstrap)
        return uncertainty(self.settings, paper_embedders, self.words, self.sentences, boot)

    @cached_property
    def contrasts(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(intervals, contrasts)`` of :func:`cvsp.experiments.contrasts` for this session's
        models (cached beside the embeddings)."""
        boot = BootstrapSettings(replicates=self.settings.bootstrap)
        return contrast_tables(self.settings, self.embedders, self.words, self.sentences, boot)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """The four results of this session's models (:func:`cvsp.experiments.run_all`),
        cached beside the embeddings as ``cvsp reproduce`` caches them."""
        return cached_results(self.settings, self.embedders, self.words, self.sentences)

    @cached_property
    def beyond(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(intervals, contrasts, verdicts, depths)`` of :func:`cvsp.experiments.beyond_tables`
        for this session's models (cached beside the embeddings)."""
        boot = BootstrapSettings(replicates=self.settings.bootstrap)
        return beyond_tables(
            self.settings, self.embedders, self.words, self.sentences, self.scores, boot
        )

    def with_intervals(self, scores: pd.DataFrame) -> pd.DataFrame:
        """``scores`` with the 95 % bootstrap interval of each value (``ci_low``, ``ci_high``)."""
        if set(scores["model"]) <= set(PAPER_MODELS):
            intervals = self.uncertainty[0]
        else:
            intervals = self.beyond[0] if beyond_the_pair(self.models) else self.contrasts[0]
        intervals = intervals.astype({"layer": str})
        return scores.astype({"layer": str}).merge(intervals, on=INTERVAL_KEY, how="left")

    def differences(self, result: str) -> pd.DataFrame:
        """The paired CLIP − GPT-2 differences of one result (rows of ``differences.csv``)."""
        table = self.uncertainty[1]
        return table[table["result"] == result].reset_index(drop=True)

    def claims(self) -> pd.DataFrame:
        """The interval of our number for each claim of the paper (``claim, ci_low, ci_high``)."""
        return self.uncertainty[2]

    def claim_interval(self, claim: paper.Reported | str) -> str:
        """Our 95 % interval for one claim of the paper, formatted for prose."""
        text = claim if isinstance(claim, str) else claim.text
        row = self.claims().set_index("claim").loc[text]
        return interval(row["ci_low"], row["ci_high"])

    def reproduction(self) -> Run:
        """Everything ``cvsp reproduce`` computes, with this session's models (from the cache)."""
        return run(self.settings, seed=self.seed, progress=False, models=self.models)

    def models_table(self, digits: int | None = 16) -> pd.DataFrame:
        """The weights of this session's models (:func:`models_table`): full commits, and
        the sha256 of the weights to ``digits`` characters (``provenance.json`` has them whole)."""
        return models_table({key: model.provenance() for key, model in self.models.items()}, digits)

    def weights_label(self) -> str:
        """How the figures and tables of this run describe the weights."""
        if self.stand_in:
            small = any(m.standin_size == "small" for m in self.models.values())
            return f"{'small ' if small else ''}stand-in models (random weights)"
        commits = ", ".join(
            f"{m.spec.hub_id}@{(m.commit or m.revision or '')[:7]}" for m in self.models.values()
        )
        return f"pretrained models ({commits})"


def _size_note(model: dict[str, Any]) -> str:
    """``", small"`` for a small stand-in (:data:`cvsp.settings.STANDIN_SIZES`), else nothing."""
    size = model.get("standin_size", "full")
    return "" if size == "full" else f", {size}"


def _shortened(digest: str, digits: int | None) -> str:
    return digest[:digits] + "…" if digits and len(digest) > digits else digest


def models_table(record: dict[str, dict[str, Any]], digits: int | None = None) -> pd.DataFrame:
    """Which weights produced the numbers: one row per model of a provenance record
    (``provenance.json``'s ``models``), with the revision asked for (where it is not the
    commit itself), the full commit the files were read from and the sha256 of the weights
    (its first ``digits`` characters; all by default), and the published sha256 where it is
    public."""
    rows = []
    for m in record.values():
        real = m["source"] != "stand-in"
        digest = m["weights_sha256"] or ""
        rows.append(
            {
                "model": m["hub_id"],
                "weights": "pretrained"
                if real
                else f"stand-in, seed {m['standin_seed']}{_size_note(m)}",
                "revision": ("(the commit)" if m["revision"] == m["commit"] else m["revision"])
                if real
                else "—",
                "commit": m["commit"] if real else "(none: random weights)",
                "weights sha256": _shortened(digest, digits),
                **(
                    {"published sha256": _shortened(m.get("published_sha256") or "—", digits)}
                    if real
                    else {}
                ),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def start(
    chapter: str | None = None,
    settings: Settings | None = None,
    seed: int = 0,
    progress: bool = False,
    model_set: str | None = None,
) -> Session:
    """Load the models of a chapter (:data:`cvsp.registry.CHAPTERS` names its model set;
    ``model_set`` or, by default, the paper's two otherwise) as ``CVSP_MODELS`` says and
    return a :class:`Session`. A chapter first prints what it will download, store and take
    (:mod:`cvsp.costs`, the preflight's line). Revisions are checked at once; each model
    is loaded (for real weights, downloaded) when a cell first uses it."""
    settings = settings or Settings.from_env()
    chosen = model_set or (CHAPTERS[chapter] if chapter else "paper")
    if chapter:
        print(_preflight_line(chapter, settings))
    models = LazyModels(settings, MODEL_SETS[chosen])
    session = Session(settings, models, LazyEmbedders(models, settings, seed, progress), seed)
    if session.stand_in:
        print(f"WARNING: {STAND_IN_WARNING}")
    return session


def _preflight_line(chapter: str, settings: Settings) -> str:
    """What a chapter run alone will cost (``cvsp preflight <chapter>``), or why that cannot be said."""
    try:
        cost = costs.estimate(chapter, settings, costs.Benchmark.load())
    except costs.CostError as error:
        return f"cvsp preflight: no estimate ({error})"
    return f"cvsp preflight: {costs.line(cost, settings)}"


def interval(low: float, high: float, digits: int = 3) -> str:
    """An interval for prose and tables: ``[0.612, 0.655]`` (``—`` where undefined)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "—"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def comparison_table(
    scores: pd.DataFrame, result: str, claims: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The paper's numbers for one result beside ours, rounded for reading.

    With ``claims`` (:meth:`Session.claims`) it adds our 95 % interval and whether the
    paper's number lies inside it.
    """
    table = paper.compare(scores, result, intervals=claims)
    columns = ["model", "claim", "relation", "paper", "ours", "difference", "holds", "source"]
    if claims is not None:
        table["95 % interval"] = [
            interval(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"])
        ]
        columns[5:5] = ["95 % interval", "paper_inside"]
    table = table[columns].rename(columns={"paper_inside": "paper inside"})
    table["model"] = table["model"].map({"gpt2": "GPT-2", "clip": "CLIP"})
    return table.round(3).set_index("claim")


def differences_table(
    differences: pd.DataFrame, layers: tuple[str, ...] = ("best", "12")
) -> pd.DataFrame:
    """Paired CLIP − GPT-2 differences at a few layers: the difference, its 95 % paired
    bootstrap interval, and Williams' t with its p-value where the result is a correlation."""
    rows = differences[differences["layer"].astype(str).isin(layers)].copy()
    rows["compared"] = "CLIP " + rows["clip_variant"] + " − GPT-2 " + rows["gpt2_variant"]
    rows["95 % interval"] = [interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"])]
    rows["layer"] = pd.Categorical(rows["layer"].astype(str), categories=list(layers), ordered=True)
    keep = ["task", "compared", "layer", "difference", "95 % interval"]
    if rows["t"].notna().any():
        keep += ["t", "p"]
    table = rows.sort_values(["layer"], kind="stable")[keep]
    if table["task"].nunique() == 1:
        table = table.drop(columns="task")
    index = [c for c in ("task", "compared", "layer") if c in table]
    return (
        table.round({"difference": 3, "t": 2, "p": 4})
        .set_index(index)
        .sort_index(level=index[:-1], sort_remaining=False)
    )


def layer_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Values with one row per model and token choice (and task), one column per layer."""
    index = ["model", "variant"] + (["task"] if scores["task"].nunique() > 1 else [])
    wide = scores.pivot_table(index=index, columns="layer", values="value", sort=False)
    return wide.round(3)


def glue(name: str, value: Any) -> Any:
    """Store a value for the book's prose (myst-nb ``glue``); a no-op outside a book build."""
    try:
        from myst_nb import glue as myst_glue  # here: the book's tools are not a dependency of cvsp
    except ImportError:  # running the notebook without the book tools
        return value
    if hasattr(value, "item"):  # numpy scalars: glue formats plain Python numbers
        value = value.item()
    myst_glue(name, value, display=False)
    return value


def show(figure: plt.Figure, dpi: int = 110) -> None:
    """Display a figure once, whatever matplotlib backend is active, and release it.

    SVG (sharp at any zoom in the book) with a PNG of ``dpi`` beside it for front ends
    that do not render SVG; the book picks the SVG (``cvsp reproduce`` writes PNGs). The
    SVG carries its natural width in CSS pixels (96 per inch), which the book's
    stylesheet keeps on a phone: there a figure scrolls sideways in its box rather than
    shrinking its labels below their size.
    """
    from IPython.display import display  # here: IPython comes with Jupyter, not with cvsp

    vector, raster = io.StringIO(), io.BytesIO()
    figure.savefig(vector, format="svg")
    figure.savefig(raster, format="png", dpi=dpi)
    plt.close(figure)
    png = base64.b64encode(raster.getvalue()).decode("ascii")
    width = {"width": round(figure.get_figwidth() * 96)}
    display(
        {"image/svg+xml": vector.getvalue(), "image/png": png},
        raw=True,
        metadata={"image/svg+xml": width},
    )
