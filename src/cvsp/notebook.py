"""Set-up for the book's notebooks: one call gives models, data and the shared cache.

Every chapter starts with :func:`start`. The models come from ``CVSP_MODELS`` (real by
default, stand-ins on request) and the embeddings from the cache shared with ``cvsp
reproduce`` and the other chapters, so no forward pass is run twice; what a chapter
computes from them it keeps there too (:meth:`Session.table`), so a page run again, or
replayed from a published build (``CVSP_REPLAY``), reads its tables and loads no model.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import costs, data, experiments, facts, paper, verdicts
from cvsp.cache import Store
from cvsp.cached import CachedEmbedder
from cvsp.facts import Described
from cvsp.intervals import beyond_tables, contrast_tables, uncertainty
from cvsp.intervals import results as cached_results
from cvsp.lazy import ComputeNeeded, LazyEmbedders, LazyModels
from cvsp.plots import phone
from cvsp.registry import CHAPTERS, MODEL_SETS, PAPER_MODELS
from cvsp.replay import ReplayStore, store_for

if TYPE_CHECKING:  # pandas' Styler needs jinja2 only when a table is styled
    from pandas.io.formats.style import Styler
from cvsp.reproduce import (
    STAND_IN_WARNING,
    Run,
    beyond_the_pair,
    run,
)
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings
from cvsp.tabled import cached_call

INTERVAL_KEY = ["result", "model", "variant", "task", "layer"]


@dataclass
class Session:
    """What a chapter needs: settings, its models, their cached embedders and the store
    its values are kept in (with :func:`start`, a model is loaded when a cell first needs
    what only it has; a replayed chapter loads none)."""

    settings: Settings
    models: LazyModels
    embedders: Mapping[str, CachedEmbedder]
    seed: int = 0
    store: Store | None = None

    @property
    def replayed(self) -> ReplayStore | None:
        """The replay bundle this session reads, if it replays one."""
        return self.store if isinstance(self.store, ReplayStore) else None

    @property
    def stand_in(self) -> bool:
        """Whether its numbers come from stand-ins (a replayed bundle's, as it was built)."""
        return self.replayed.stand_in if self.replayed else self.settings.is_stand_in

    def table(self, function: Callable, *args: Any, unkeyed: dict | None = None, **kwargs: Any):
        """``function(*args, **kwargs)``, computed once and kept in the store as tables
        (:func:`cvsp.tabled.cached_call`): what a replayed chapter reads instead."""
        return cached_call(self.store, function, *args, unkeyed=unkeyed, **kwargs)

    @cached_property
    def words(self) -> experiments.WordData:
        return experiments.load_word_data(self.settings)

    @cached_property
    def sentences(self) -> experiments.SentenceData:
        """The STS pairs and sentences that fit CLIP's context (its tokenizer decides, once)."""
        sts = data.load_sts(self.settings)
        return self.table(experiments.prepare_sentences, sts, self.models["clip"].tokenizer)

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
        models = {key: self.models.load(key) for key in self.models}
        return run(self.settings, seed=self.seed, progress=False, models=models)

    def models_table(self, digits: int | None = 16) -> pd.DataFrame:
        """The weights of this session's models (:func:`models_table`): full commits, and
        the sha256 of the weights to ``digits`` characters (``provenance.json`` has them
        whole); kept with the chapter's tables, so a later run loads no model for it."""
        described = [self.models.facts(key) for key in self.models]
        return self.table(_provenance_table, described, digits, unkeyed={"models": self.models})

    def weights_label(self) -> str:
        """How the figures and tables of this run describe the weights (from their facts)."""
        return facts.weights_label([self.models.facts(key) for key in self.models])


def _provenance_table(
    described: list[Described], digits: int | None, models: LazyModels
) -> pd.DataFrame:
    """:func:`models_table` of ``models`` (``described``: their facts, the table's key)."""
    return models_table({d.name: models[d.name].provenance() for d in described}, digits)


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
    replay: str | None = None,
) -> Session:
    """The :class:`Session` of a chapter (:data:`cvsp.registry.CHAPTERS` names its model
    set; ``model_set`` or, by default, the paper's two otherwise), with the models
    ``CVSP_MODELS`` says. A chapter first prints what it will download, store and take
    (:mod:`cvsp.costs`, the preflight's line). Revisions are checked at once; a model is
    loaded (for real weights, downloaded) when a cell first needs what only it has.

    ``replay``: a build's bundle (a chapter's ``REPLAY`` line names the published book's)
    to read the tables from instead, loading no model; ``CVSP_REPLAY`` overrides it, and
    ``CVSP_REPLAY=off`` (the book's build sets it) computes."""
    settings = settings or Settings.from_env()
    settings = settings.with_(replay=settings.replay_source(replay))
    chosen = model_set or (CHAPTERS[chapter] if chapter else "paper")
    store = store_for(settings)
    replayed = store if isinstance(store, ReplayStore) else None
    if replayed:  # the bootstrap the build ran (part of the intervals' keys)
        settings = settings.with_(bootstrap=int(replayed.manifest["build"]["bootstrap"]))
        print(f"cvsp: replaying the tables of the build at {replayed.source}; no model runs.")
        _say_compute_needed_in_one_sentence()
    elif chapter:
        print(_preflight_line(chapter, settings))
    described = {k: Described(**f) for k, f in replayed.models(seed).items()} if replayed else None
    models = LazyModels(settings, MODEL_SETS[chosen], store, seed, described)
    embedders = LazyEmbedders(models, store, settings, progress)
    session = Session(settings, models, embedders, seed, store)
    if session.stand_in:
        print(f"WARNING: {STAND_IN_WARNING}")
    return session


def _say_compute_needed_in_one_sentence() -> None:
    """In a notebook, a cell that needs the models says why in one sentence, not with a
    traceback (the cells that may are tagged ``raises-exception``, so Run All goes on)."""
    try:
        from IPython import get_ipython  # here: IPython comes with Jupyter, not with cvsp
    except ImportError:
        return

    def sentence(_shell, _kind, error, _traceback, tb_offset=None) -> None:
        print(error, file=sys.stderr)

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((ComputeNeeded,), sentence)


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
) -> Styler:
    """The paper's claims about one result beside our numbers, for reading: the claim as
    the paper states it (relation and number), ours, and the verdict in words
    (:func:`cvsp.verdicts.verdict`: a miss says its direction and what it means), shown
    whole (a styled table: pandas would cut a long verdict at 50 characters; ``.data`` is
    the table).

    With ``claims`` (:meth:`Session.claims`) it adds our 95 % interval, and the verdict
    reads it too.
    """
    table = verdicts.describe(paper.compare(scores, result, intervals=claims))
    table["paper"] = [
        f"{rel} {verdicts.number(value)}" for rel, value in zip(table["relation"], table["paper"])
    ]
    columns = ["model", "claim", "paper", "ours", "verdict", "source"]
    if claims is not None:
        table["95 % interval"] = [
            interval(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"])
        ]
        columns[4:4] = ["95 % interval"]
    table = table[columns]
    table["model"] = table["model"].map({"gpt2": "GPT-2", "clip": "CLIP"})
    shown = table.round(3).set_index("claim")
    styled = shown.style.format(precision=3).set_table_attributes('class="dataframe"')
    return styled.set_properties(subset=["verdict"], **{"text-align": "left", "min-width": "14em"})


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
    SVG's metadata carries its natural width in CSS pixels (96 per inch), its smallest
    text in points and, under ``phone``, the same figure re-flowed for a phone
    (:func:`cvsp.plots.phone.reflow`: one column, 336 px wide, no text under 11 pt) as
    SVG with its own width and smallest text. Jupyter shows the one figure; the book
    serves the phone's layout to screens 720 px wide or less (:mod:`cvsp.picture`).
    """
    from IPython.display import display  # here: IPython comes with Jupyter, not with cvsp

    desktop, raster = _svg(figure), io.BytesIO()
    figure.savefig(raster, format="png", dpi=dpi)
    width = round(figure.get_figwidth() * 96)
    phone.reflow(figure)
    small = _svg(figure)
    plt.close(figure)
    png = base64.b64encode(raster.getvalue()).decode("ascii")
    facts = {
        "width": width,
        "smallest_pt": phone.smallest_font(desktop),
        "phone": {
            "svg": small,
            "width": round(figure.get_figwidth() * 96),
            "smallest_pt": phone.smallest_font(small),
        },
    }
    display(
        {"image/svg+xml": desktop, "image/png": png}, raw=True, metadata={"image/svg+xml": facts}
    )


def _svg(figure: plt.Figure) -> str:
    vector = io.StringIO()
    figure.savefig(vector, format="svg")
    return vector.getvalue()
