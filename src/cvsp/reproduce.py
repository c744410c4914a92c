"""Run all four results for both models and write the output folder of ``cvsp reproduce``.

The folder holds ``scores.csv`` (the tidy results table), ``comparison.csv`` (the
paper's numbers beside ours), ``figures/<result>.png`` and ``provenance.json``; with
models beyond the paper's pair also ``differences.csv``, ``contrasts.csv`` and, for
contrastive text towers and GPT-2s (``--model-set beyond``), ``verdicts.csv`` (the
paper's claims restated per model) and ``depth_differences.csv`` (paired differences at
equal relative depth). It is
written in a staging folder and moved into place only when complete, so an existing
folder is either left as it was or replaced whole (:mod:`cvsp.storage`). The scores,
intervals and contrasts are cached beside the embeddings, keyed by the weights, the
inputs, the bootstrap settings and the digest of the whole package; the bootstrap
replicates behind them are cached per model (:func:`model_replicates`), so a model's
are computed once whichever model set it joins.

Used by ``cvsp reproduce`` (:mod:`cvsp.cli`), the results page and every chapter
(through :mod:`cvsp.notebook`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import data, experiments, paper, plots
from cvsp.cache import EmbeddingCache, texts_digest
from cvsp.embeddings import Embedder
from cvsp.models import LoadedModel, load_models
from cvsp.registry import MODEL_SETS, PAPER_MODELS, ModelUnavailableError, resolve_models
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings
from cvsp.storage import append_record, atomic_file, atomic_folder, package_digest

STAND_IN_WARNING = (
    "STAND-IN MODELS: the real architectures (GPT-2, CLIP and any other model of the run) "
    "with RANDOM weights. These numbers test the pipeline and say nothing about the paper."
)
PACKAGES = ("cvsp", "torch", "transformers", "numpy", "scipy", "pandas", "matplotlib", "tokenizers", "sentencepiece")


@dataclass(frozen=True)
class Run:
    """What a reproduction produced."""

    scores: pd.DataFrame
    comparison: pd.DataFrame
    provenance: dict
    stand_in: bool
    differences: pd.DataFrame | None = None
    contrasts: pd.DataFrame | None = None  # paired differences of the contrasts beyond CLIP − GPT-2
    verdicts: pd.DataFrame | None = None  # the paper's claims restated for each model (experiments.beyond)
    depths: pd.DataFrame | None = None  # paired differences at equal relative depth (experiments.beyond)


def embedding_cache(settings: Settings) -> EmbeddingCache:
    return EmbeddingCache(settings.cache_dir / "embeddings")


def make_embedders(
    models: dict[str, LoadedModel], settings: Settings, seed: int = 0, progress: bool = True
) -> dict[str, Embedder]:
    """One cached :class:`Embedder` per model, sharing the settings' cache folder."""
    cache = embedding_cache(settings)
    return {key: Embedder(m, cache=cache, seed=seed, progress=progress, trace=settings.trace)
            for key, m in models.items()}  # fmt: skip


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


UNCERTAINTY_FORMAT = 1


def _inputs_digests(words, sentences) -> dict[str, object]:
    """The digests of the word lists, word pairs, sentences and STS pairs (part of every
    cache key below; about 0.3 s, so computed once where several keys need them)."""
    return {
        "words": texts_digest(words.vocabulary()),
        "pairs": {t: texts_digest(f.astype(str).agg("\t".join, axis=1).tolist()) for t, f in words.pairs.items()},
        "sentences": texts_digest(sentences.sentences),
        "sts": texts_digest(sentences.pairs.astype(str).agg("\t".join, axis=1).tolist()),
    }


def _uncertainty_key(
    embedders, words, sentences, boot: BootstrapSettings | None, inputs: dict[str, object] | None = None
) -> str:
    """Cache key of the intervals (or, with ``boot`` None, of the scores): the weights, the
    inputs (``inputs``: their :func:`_inputs_digests`, where already computed), the
    settings and the code."""
    parts = {
        "format": UNCERTAINTY_FORMAT,
        "models": sorted((k, e.model.fingerprint, e.seed) for k, e in embedders.items()),
        **(inputs or _inputs_digests(words, sentences)),
        "bootstrap": asdict(boot) if boot is not None else None,
        "code": package_digest(),  # every module: any change to the code computes them anew
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _cached_tables(folder: Path, names: tuple[str, ...], compute) -> tuple[pd.DataFrame, ...]:
    """CSV tables ``names`` in ``folder``, computed by ``compute()`` and written atomically
    when any is missing (a folder another run completed first is kept)."""
    if not all((folder / f"{n}.csv").is_file() for n in names):
        tables = compute()
        with atomic_folder(folder, replace=False) as staging:
            for name, table in zip(names, tables):
                table.to_csv(staging / f"{name}.csv", index=False)
    return tuple(pd.read_csv(folder / f"{n}.csv", dtype={"layer": str, "base_layer": str, "layers": str}) for n in names)


def _save_replicates(path: Path, reps: Mapping[tuple, experiments.Replicates]) -> None:
    """One model's replicates as an ``.npz`` of plain arrays (no pickle), written atomically."""
    arrays = {"series": np.array([list(series) for series in reps], dtype=str).reshape(-1, 4)}
    for i, r in enumerate(reps.values()):
        arrays |= {f"{i}/values": r.values, f"{i}/point": r.point, f"{i}/layers": np.array(r.layers, dtype=str)}
        arrays |= {f"{i}/{name}": getattr(r, name) for name in ("scores", "gold") if getattr(r, name) is not None}
    with atomic_file(path) as stream:
        np.savez(stream, **arrays)


def _load_replicates(path: Path) -> dict[tuple, experiments.Replicates] | None:
    """What :func:`_save_replicates` wrote; None when the file is missing or unreadable
    (it is then computed again, as an unusable embedding is)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {
                tuple(str(part) for part in series): experiments.Replicates(
                    stored[f"{i}/values"], stored[f"{i}/point"], tuple(str(x) for x in stored[f"{i}/layers"]),
                    *(stored[f"{i}/{name}"] if f"{i}/{name}" in stored else None for name in ("scores", "gold")),
                )  # fmt: skip
                for i, series in enumerate(stored["series"])
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def model_replicates(
    settings: Settings, embedders, words, sentences, boot: BootstrapSettings, inputs: dict[str, object] | None = None
) -> dict[tuple, experiments.Replicates]:
    """:func:`cvsp.experiments.replicates` of every model, cached per model beside the embeddings.

    A model's series depend only on its own embeddings and on the resample indices, which
    every model of a task shares; so the paper's two models are resampled once for the
    results page, chapters 7 and 8 and every model set. Each file's key is that of
    :func:`uncertainty` for the one model. The series come back in the order
    :func:`~cvsp.experiments.replicates` gives them, model after model. ``inputs``: the
    :func:`_inputs_digests`, where already computed.
    """
    inputs = inputs or _inputs_digests(words, sentences)  # once for every model's key
    paths = {key: settings.cache_dir / "replicates" / f"{_uncertainty_key({key: e}, words, sentences, boot, inputs)}.npz"
             for key, e in embedders.items()}  # fmt: skip
    found = {key: _load_replicates(path) for key, path in paths.items()}
    missing = {key: e for key, e in embedders.items() if found[key] is None}
    if missing:
        start = time.perf_counter()
        computed = experiments.replicates(missing, words, sentences, boot)
        if settings.trace is not None:
            append_record(settings.trace, {"work": "bootstrap", "models": sorted(missing), "series": len(computed),
                                           "replicates": boot.replicates, "seconds": time.perf_counter() - start,
                                           "time": time.time()})  # fmt: skip
        for key in missing:
            found[key] = {series: r for series, r in computed.items() if series[1] == key}
            _save_replicates(paths[key], found[key])
    return {series: r for key in embedders for series, r in found[key].items()}


def _replicate_tables(
    settings: Settings, prefix: str, names: tuple[str, ...], embedders, words, sentences, boot: BootstrapSettings,
    tables: Callable[[Mapping[tuple, experiments.Replicates]], tuple[pd.DataFrame, ...]],
) -> tuple[pd.DataFrame, ...]:  # fmt: skip
    """``tables(reps)`` (tables named ``names``) cached under ``intervals/<prefix><key>``,
    ``reps`` being the models' :func:`model_replicates`, read only when the tables are not
    cached."""
    inputs = _inputs_digests(words, sentences)  # once for the tables' key and the models'
    folder = settings.cache_dir / "intervals" / (prefix + _uncertainty_key(embedders, words, sentences, boot, inputs))
    return _cached_tables(folder, names,
                          lambda: tables(model_replicates(settings, embedders, words, sentences, boot, inputs)))  # fmt: skip


def uncertainty(settings: Settings, embedders, words, sentences, boot: BootstrapSettings) -> tuple[pd.DataFrame, ...]:
    """:func:`cvsp.experiments.uncertainty`, cached beside the embeddings (a warm run adds nothing)."""
    return _replicate_tables(settings, "", ("intervals", "differences", "claims"), embedders, words, sentences, boot,
                             lambda reps: experiments.uncertainty(embedders, words, sentences, boot, reps=reps))  # fmt: skip


def results(settings: Settings, embedders, words, sentences) -> pd.DataFrame:
    """:func:`cvsp.experiments.run_all`, cached like :func:`uncertainty` (a warm run, and the
    book's pages after the first, read the table instead of the embeddings)."""
    folder = settings.cache_dir / "intervals" / ("scores-" + _uncertainty_key(embedders, words, sentences, None))
    return _cached_tables(folder, ("scores",), lambda: (experiments.run_all(embedders, words, sentences),))[0]


def contrast_tables(
    settings: Settings, embedders, words, sentences, boot: BootstrapSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`cvsp.experiments.contrasts` (intervals, paired differences), cached like :func:`uncertainty`."""
    return _replicate_tables(settings, "contrasts-", ("intervals", "contrasts"), embedders, words, sentences, boot,
                             lambda reps: experiments.contrasts(embedders, words, sentences, boot, reps=reps))  # fmt: skip


def beyond_tables(
    settings: Settings, embedders, words, sentences, scores: pd.DataFrame, boot: BootstrapSettings
) -> tuple[pd.DataFrame, ...]:
    """:func:`cvsp.experiments.beyond_tables` (intervals, contrasts, verdicts, depth
    differences), cached like :func:`uncertainty`."""
    return _replicate_tables(
        settings, "beyond-", ("intervals", "contrasts", "verdicts", "depths"), embedders, words, sentences, boot,
        lambda reps: experiments.beyond_tables(embedders, words, sentences, scores, boot, reps=reps),
    )  # fmt: skip


def beyond_the_pair(models: Mapping[str, LoadedModel]) -> bool:
    """Whether a run has a model outside the paper's pair whose claims can be restated
    for it (a contrastive text tower or a GPT-2; not the BERT family). Read from the specs:
    a mapping that can name them without loading (``spec(key)``: :class:`cvsp.notebook.LazyModels`)
    loads no model for it."""
    spec = getattr(models, "spec", None)
    specs = {key: spec(key) if spec else models[key].spec for key in models}
    return any(key not in PAPER_MODELS and spec.family in experiments.beyond.ROLES for key, spec in specs.items())


def run(
    settings: Settings, *, seed: int = 0, device: str | None = None, progress: bool = True,
    models: dict[str, LoadedModel] | None = None, bootstrap: BootstrapSettings | None = None,
    model_set: str = "paper", extra_models: tuple[str, ...] = (),
    resolved: Mapping[str, tuple[str, tuple[str, bool]]] | None = None,
) -> Run:  # fmt: skip
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
        if model_set not in MODEL_SETS:
            raise ModelUnavailableError(f"Unknown model set {model_set!r}; choose from {', '.join(MODEL_SETS)}.")
        keys = tuple(resolve_models(MODEL_SETS[model_set], extra_models))
        models = load_models(settings, keys, device=device, resolved=resolved)
    sentences = experiments.prepare_sentences(sts_table, models["clip"].tokenizer)
    embedders = make_embedders(models, settings, seed=seed, progress=progress)
    scores = results(settings, embedders, words, sentences)
    boot = bootstrap or BootstrapSettings(replicates=settings.bootstrap)
    paper_embedders = {key: embedders[key] for key in PAPER_MODELS}  # the paper's claims and differences
    intervals, differences, claims = uncertainty(settings, paper_embedders, words, sentences, boot)
    verdicts = depths = None
    if beyond_the_pair(models):  # every model's intervals, the contrasts, the restated claims
        intervals, contrasts, verdicts, depths = beyond_tables(settings, embedders, words, sentences, scores, boot)
        contrasts = contrasts[~contrasts["model"].isin(PAPER_MODELS)].reset_index(drop=True)
    elif set(models) - set(PAPER_MODELS):  # the other models' intervals and their contrasts
        intervals, contrasts = contrast_tables(settings, embedders, words, sentences, boot)
        contrasts = contrasts[~contrasts["model"].isin(PAPER_MODELS)].reset_index(drop=True)
    else:
        contrasts = None
    scores = scores.merge(intervals, on=["result", "model", "variant", "task", "layer"], how="left")
    stand_in = settings.is_stand_in
    provenance = {
        "warning": STAND_IN_WARNING if stand_in else None,
        "models_source": settings.models,
        "seed": seed,
        "bootstrap": {**asdict(boot), "resampled": "pairs (word tasks, STS), words (ValNorm), sentences (self-similarities); the same indices for both models and every layer of a task"},
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
    return Run(scores, paper.compare(scores, intervals=claims), provenance, stand_in, differences, contrasts,
               verdicts, depths)  # fmt: skip


def _labelled(table: pd.DataFrame, stand_in: bool) -> pd.DataFrame:
    return table.assign(weights="stand-in (random)" if stand_in else "pretrained")


def write(result: Run, out: Path) -> None:
    """Write the output folder atomically: an existing one is replaced whole, or kept as
    it was when writing fails."""
    with atomic_folder(out.resolve(), mode=0o755) as staging:  # the results are for reading
        _labelled(result.scores, result.stand_in).to_csv(staging / "scores.csv", index=False)
        _labelled(result.comparison, result.stand_in).to_csv(staging / "comparison.csv", index=False)
        if result.differences is not None:
            _labelled(result.differences, result.stand_in).to_csv(staging / "differences.csv", index=False)
        if result.contrasts is not None:
            _labelled(result.contrasts, result.stand_in).to_csv(staging / "contrasts.csv", index=False)
        if result.verdicts is not None:
            _labelled(result.verdicts, result.stand_in).to_csv(staging / "verdicts.csv", index=False)
            _labelled(result.depths, result.stand_in).to_csv(staging / "depth_differences.csv", index=False)
        (staging / "provenance.json").write_text(json.dumps(result.provenance, indent=2) + "\n")
        figures = staging / "figures"
        figures.mkdir()
        for name in experiments.RESULTS:
            fig = plots.figure(result.scores, name, result.stand_in)
            description = STAND_IN_WARNING if result.stand_in else "Pretrained GPT-2 and CLIP."
            fig.savefig(
                figures / f"{name}.png", dpi=120,
                metadata={"Title": plots.title(name, result.stand_in), "Description": description},
            )  # fmt: skip
            plt.close(fig)


def summary(result: Run) -> str:
    """The comparison with the paper as printed by the command line."""
    columns = ["model", "claim", "relation", "paper", "ours", "ci_low", "ci_high", "holds", "paper_inside"]
    table = result.comparison[[c for c in columns if c in result.comparison.columns]]
    text = table.to_string(index=False, float_format=lambda v: f"{v:.3f}")
    lines = ["Comparison with Wolfe & Caliskan (2022):", text]
    if result.stand_in:
        lines.insert(0, f"*** {STAND_IN_WARNING} ***")
        lines.append(f"*** {STAND_IN_WARNING} ***")
    return "\n".join(lines)
