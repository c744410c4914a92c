"""Run all four results for both models and write the output folder of ``cvsp reproduce``.

The folder holds ``scores.csv`` (the tidy results table), ``comparison.csv`` (the
paper's numbers beside ours), ``differences.csv`` (paired CLIP − GPT-2 differences),
``figures/<result>.png`` and ``provenance.json``; with models beyond the paper's pair
also ``contrasts.csv`` and, for
contrastive text towers and GPT-2s (``--model-set beyond``), ``verdicts.csv`` (the
paper's claims restated per model) and ``depth_differences.csv`` (paired differences at
equal relative depth). It is
written in a staging folder and moved into place only when complete, so an existing
folder is either left as it was or replaced whole (:mod:`cvsp.storage`). The scores,
intervals and contrasts come from the cache when a run computed them before
(:mod:`cvsp.intervals`).

Used by ``cvsp reproduce`` (:mod:`cvsp.cli`), the results page and every chapter
(through :mod:`cvsp.notebook`).
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from cvsp import data, experiments, paper, plots, verdicts
from cvsp.cached import CachedEmbedder
from cvsp.intervals import beyond_tables, contrast_tables, results, uncertainty
from cvsp.registry import MODEL_SETS, PAPER_MODELS, ModelUnavailableError, resolve_models
from cvsp.replay import store_for
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings
from cvsp.storage import atomic_folder

if TYPE_CHECKING:  # for the annotations only: models imports torch
    from cvsp.models import LoadedModel

STAND_IN_WARNING = (
    "STAND-IN MODELS: the real architectures (GPT-2, CLIP and any other model of the run) "
    "with RANDOM weights. These numbers test the pipeline and say nothing about the paper."
)
PACKAGES = (
    "cvsp",
    "torch",
    "transformers",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "tokenizers",
    "sentencepiece",
)


@dataclass(frozen=True)
class Run:
    """What a reproduction produced."""

    scores: pd.DataFrame
    comparison: pd.DataFrame
    provenance: dict
    stand_in: bool
    differences: pd.DataFrame | None = None
    contrasts: pd.DataFrame | None = None  # paired differences of the contrasts beyond CLIP − GPT-2
    verdicts: pd.DataFrame | None = (
        None  # the paper's claims restated for each model (experiments.beyond)
    )
    depths: pd.DataFrame | None = (
        None  # paired differences at equal relative depth (experiments.beyond)
    )


def make_embedders(
    models: dict[str, LoadedModel], settings: Settings, seed: int = 0, progress: bool = True
) -> dict[str, CachedEmbedder]:
    """One :class:`~cvsp.cached.CachedEmbedder` per model, sharing the settings' cache."""
    from cvsp.embeddings import cached  # torch: only where a model runs (replay runs none)

    store, trace = store_for(settings), settings.trace
    return {
        key: cached(m, store, seed=seed, progress=progress, trace=trace)
        for key, m in models.items()
    }


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def beyond_the_pair(models: Mapping[str, LoadedModel]) -> bool:
    """Whether a run has a model outside the paper's pair whose claims can be restated
    for it (a contrastive text tower or a GPT-2; not the BERT family). Read from the specs:
    a mapping that can name them without loading (``spec(key)``: :class:`cvsp.notebook.LazyModels`)
    loads no model for it."""
    spec = getattr(models, "spec", None)
    specs = {key: spec(key) if spec else models[key].spec for key in models}
    return any(
        key not in PAPER_MODELS and spec.family in experiments.beyond.ROLES
        for key, spec in specs.items()
    )


RESAMPLED = (
    "pairs (word tasks, STS), words (ValNorm), sentences (self-similarities); "
    "the same indices for both models and every layer of a task"
)


def _models_of(settings: Settings, model_set: str, extra_models: tuple[str, ...], device, resolved):
    if model_set not in MODEL_SETS:
        choices = ", ".join(MODEL_SETS)
        raise ModelUnavailableError(f"Unknown model set {model_set!r}; choose from {choices}.")
    keys = tuple(resolve_models(MODEL_SETS[model_set], extra_models))
    from cvsp.models import load_models  # torch: only where a model runs (replay runs none)

    return load_models(settings, keys, device=device, resolved=resolved)


def _interval_tables(settings, models, embedders, words, sentences, scores, boot) -> dict:
    """The intervals, and the tables beside them: the paper's pair's differences and
    claims; with other models their contrasts and, for contrastive text towers and GPT-2s,
    the restated claims and the differences at equal relative depth."""
    paper_embedders = {key: embedders[key] for key in PAPER_MODELS}  # its claims, differences
    intervals, differences, claims = uncertainty(settings, paper_embedders, words, sentences, boot)
    tables = {"intervals": intervals, "differences": differences, "claims": claims}
    if beyond_the_pair(models):  # every model's intervals, the contrasts, the restated claims
        names = ("intervals", "contrasts", "verdicts", "depths")
        tables |= zip(names, beyond_tables(settings, embedders, words, sentences, scores, boot))
    elif set(models) - set(PAPER_MODELS):  # the other models' intervals and their contrasts
        tables |= zip(
            ("intervals", "contrasts"), contrast_tables(settings, embedders, words, sentences, boot)
        )
    if "contrasts" in tables:
        contrasts = tables["contrasts"]
        tables["contrasts"] = contrasts[~contrasts["model"].isin(PAPER_MODELS)].reset_index(
            drop=True
        )
    return tables


def _provenance(
    settings: Settings, seed: int, boot: BootstrapSettings, models, sentences, hashes
) -> dict:
    """What a run was: models, packages, data, the bootstrap, CLIP's context limit."""
    return {
        "warning": STAND_IN_WARNING if settings.is_stand_in else None,
        "models_source": settings.models,
        "seed": seed,
        "bootstrap": {**asdict(boot), "resampled": RESAMPLED},
        "models": {key: m.provenance() for key, m in models.items()},
        "packages": package_versions(),
        "data": {"source": str(settings.data_dir or data.BASE_URL), "sha256": hashes},
        "clip_context_limit": {
            "tokens": experiments.CLIP_CONTEXT,
            "excluded_sentences": sentences.excluded_sentences,
            "excluded_sts_pairs": sentences.excluded_pairs,
            "sentences_kept": len(sentences.sentences),
            "sts_pairs_kept": len(sentences.pairs),
        },
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }


def run(
    settings: Settings,
    *,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
    models: dict[str, LoadedModel] | None = None,
    bootstrap: BootstrapSettings | None = None,
    model_set: str = "paper",
    extra_models: tuple[str, ...] = (),
    resolved: Mapping[str, tuple[str, tuple[str, bool]]] | None = None,
) -> Run:
    """Load data and models (failing fast), then compute every result.

    ``models`` lets a caller that has loaded them already (a book page) reuse them; the
    embeddings come from the shared cache either way. Otherwise ``model_set`` (a key of
    :data:`cvsp.registry.MODEL_SETS`) and ``extra_models`` (``family:hub_id@revision``) say
    which models run; the paper's two are always among them. ``resolved``: their revisions
    as :func:`cvsp.hub.resolve_all` checked them (real models), where the caller did.
    """
    words = experiments.load_word_data(settings)
    sts_table = data.load_sts(settings)
    hashes = data.data_hashes(settings)
    if models is None:
        models = _models_of(settings, model_set, extra_models, device, resolved)
    sentences = experiments.prepare_sentences(sts_table, models["clip"].tokenizer)
    embedders = make_embedders(models, settings, seed=seed, progress=progress)
    scores = results(settings, embedders, words, sentences)
    boot = bootstrap or BootstrapSettings(replicates=settings.bootstrap)
    tables = _interval_tables(settings, models, embedders, words, sentences, scores, boot)
    scores = scores.merge(
        tables["intervals"], on=["result", "model", "variant", "task", "layer"], how="left"
    )
    comparison = verdicts.describe(paper.compare(scores, intervals=tables["claims"]))
    provenance = _provenance(settings, seed, boot, models, sentences, hashes)
    return Run(
        scores,
        comparison,
        provenance,
        settings.is_stand_in,
        tables["differences"],
        tables.get("contrasts"),
        tables.get("verdicts"),
        tables.get("depths"),
    )


def _labelled(table: pd.DataFrame, stand_in: bool) -> pd.DataFrame:
    return table.assign(weights="stand-in (random)" if stand_in else "pretrained")


def write(result: Run, out: Path) -> None:
    """Write the output folder atomically: an existing one is replaced whole, or kept as
    it was when writing fails."""
    with atomic_folder(out.resolve(), mode=0o755) as staging:  # the results are for reading
        _labelled(result.scores, result.stand_in).to_csv(staging / "scores.csv", index=False)
        _labelled(result.comparison, result.stand_in).to_csv(
            staging / "comparison.csv", index=False
        )
        if result.differences is not None:
            _labelled(result.differences, result.stand_in).to_csv(
                staging / "differences.csv", index=False
            )
        if result.contrasts is not None:
            _labelled(result.contrasts, result.stand_in).to_csv(
                staging / "contrasts.csv", index=False
            )
        if result.verdicts is not None:
            _labelled(result.verdicts, result.stand_in).to_csv(
                staging / "verdicts.csv", index=False
            )
            _labelled(result.depths, result.stand_in).to_csv(
                staging / "depth_differences.csv", index=False
            )
        (staging / "provenance.json").write_text(json.dumps(result.provenance, indent=2) + "\n")
        figures = staging / "figures"
        figures.mkdir()
        for name in experiments.RESULTS:
            fig = plots.figure(result.scores, name, result.stand_in)
            description = STAND_IN_WARNING if result.stand_in else "Pretrained GPT-2 and CLIP."
            fig.savefig(
                figures / f"{name}.png",
                dpi=120,
                metadata={"Title": plots.title(name, result.stand_in), "Description": description},
            )
            plt.close(fig)


def summary(result: Run) -> str:
    """The comparison with the paper as printed by the command line: a line per claim,
    the claim as the paper states it, ours with its 95 % interval and the verdict in words
    (:mod:`cvsp.verdicts`)."""
    lines = ["Comparison with Wolfe & Caliskan (2022):"]
    for row in result.comparison.itertuples():
        ours = f"{row.ours:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
        lines.append(
            f"- {row.claim} ({row.relation} {verdicts.number(row.paper)}): ours {ours}, {row.verdict}"
        )
    if result.stand_in:
        lines.insert(0, f"*** {STAND_IN_WARNING} ***")
        lines.append(f"*** {STAND_IN_WARNING} ***")
    return "\n".join(lines)
