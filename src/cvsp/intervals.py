"""Scores, intervals and paired differences computed once and kept in the cache.

Each table is a CSV in ``intervals/<key>/`` of the cvsp cache, and the bootstrap
replicates behind the intervals an ``.npz`` per model in ``replicates/`` (plain arrays,
no pickle), so a model's replicates are computed once whichever model set it joins
(:func:`model_replicates`). A key names everything the value depends on: the models'
weights and seeds, the digests of the inputs, the bootstrap settings and
:attr:`cvsp.cache.Store.code` (every module of the package, so no change to the
code leaves a stale interval); a different value of any is another key. Tables are
written atomically; an unreadable replicates file is computed again.

Used by :mod:`cvsp.reproduce` and :mod:`cvsp.notebook`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict

import numpy as np
import pandas as pd

from cvsp import cache, experiments
from cvsp.replay import store_for
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings
from cvsp.storage import append_record

UNCERTAINTY_FORMAT = 1


def _inputs_digests(words, sentences) -> dict[str, object]:
    """The digests of the word lists, word pairs, sentences and STS pairs (part of every
    cache key below; computed once per input)."""
    return {**words.digests(), **sentences.digests()}


def _uncertainty_key(
    embedders,
    words,
    sentences,
    boot: BootstrapSettings | None,
    code: str,
    inputs: dict[str, object] | None = None,
) -> str:
    """Cache key of the intervals (or, with ``boot`` None, of the scores): the weights, the
    inputs (``inputs``: their :func:`_inputs_digests`, where already computed), the
    settings and the code (``code``: the store's :attr:`~cvsp.cache.Store.code`)."""
    return cache.key(
        format=UNCERTAINTY_FORMAT,
        models=sorted((k, e.fingerprint, e.seed) for k, e in embedders.items()),
        **(inputs or _inputs_digests(words, sentences)),
        bootstrap=asdict(boot) if boot is not None else None,
        code=code,  # every module: any change to the code computes them anew
    )


def _replicate_arrays(reps: Mapping[tuple, experiments.Replicates]) -> dict[str, np.ndarray]:
    """One model's replicates as plain arrays (no pickle), for :meth:`Store.put_arrays`."""
    arrays = {"series": np.array([list(series) for series in reps], dtype=str).reshape(-1, 4)}
    for i, r in enumerate(reps.values()):
        arrays |= {
            f"{i}/values": r.values,
            f"{i}/point": r.point,
            f"{i}/layers": np.array(r.layers, dtype=str),
        }
        arrays |= {
            f"{i}/{name}": getattr(r, name)
            for name in ("scores", "gold")
            if getattr(r, name) is not None
        }
    return arrays


def _replicates_of(stored: Mapping[str, np.ndarray] | None) -> dict | None:
    """What :func:`_replicate_arrays` gave; None for an entry that is missing or lacks an
    array (it is then computed again, as an unusable embedding is)."""
    if stored is None:
        return None
    try:
        return {
            tuple(str(part) for part in series): experiments.Replicates(
                stored[f"{i}/values"],
                stored[f"{i}/point"],
                tuple(str(x) for x in stored[f"{i}/layers"]),
                *(stored.get(f"{i}/{name}") for name in ("scores", "gold")),
            )
            for i, series in enumerate(stored["series"])
        }
    except KeyError:
        return None


def model_replicates(
    settings: Settings,
    embedders,
    words,
    sentences,
    boot: BootstrapSettings,
    inputs: dict[str, object] | None = None,
) -> dict[tuple, experiments.Replicates]:
    """:func:`cvsp.experiments.replicates` of every model, cached per model.

    A model's series depend only on its own embeddings and on the resample indices, which
    every model of a task shares; so the paper's two models are resampled once for the
    results page, chapters 7 and 8 and every model set. Each entry's key is that of
    :func:`uncertainty` for the one model. The series come back in the order
    :func:`~cvsp.experiments.replicates` gives them, model after model. ``inputs``: the
    :func:`_inputs_digests`, where already computed.
    """
    store = store_for(settings)
    inputs = inputs or _inputs_digests(words, sentences)  # once for every model's key
    keys = {
        k: _uncertainty_key({k: e}, words, sentences, boot, store.code, inputs)
        for k, e in embedders.items()
    }
    found = {k: _replicates_of(store.get_arrays("replicates", keys[k])) for k in embedders}
    missing = {key: e for key, e in embedders.items() if found[key] is None}
    if missing:
        start = time.perf_counter()
        computed = experiments.replicates(missing, words, sentences, boot)
        if settings.trace is not None:
            record = {"work": "bootstrap", "models": sorted(missing), "series": len(computed)}
            record |= {"replicates": boot.replicates, "seconds": time.perf_counter() - start}
            append_record(settings.trace, record | {"time": time.time()})
        for key in missing:
            found[key] = {series: r for series, r in computed.items() if series[1] == key}
            store.put_arrays("replicates", keys[key], _replicate_arrays(found[key]))
    return {series: r for key in embedders for series, r in found[key].items()}


def _replicate_tables(
    settings: Settings,
    prefix: str,
    names: tuple[str, ...],
    embedders,
    words,
    sentences,
    boot: BootstrapSettings,
    tables: Callable[[Mapping[tuple, experiments.Replicates]], tuple[pd.DataFrame, ...]],
) -> tuple[pd.DataFrame, ...]:
    """``tables(reps)`` (tables named ``names``) cached under ``intervals/<prefix><key>``,
    ``reps`` being the models' :func:`model_replicates`, read only when the tables are not
    cached."""
    inputs = _inputs_digests(words, sentences)  # once for the tables' key and the models'
    store = store_for(settings)
    return cache.cached_tables(
        store,
        "intervals",
        prefix + _uncertainty_key(embedders, words, sentences, boot, store.code, inputs),
        names,
        lambda: tables(model_replicates(settings, embedders, words, sentences, boot, inputs)),
    )


def uncertainty(
    settings: Settings, embedders, words, sentences, boot: BootstrapSettings
) -> tuple[pd.DataFrame, ...]:
    """:func:`cvsp.experiments.uncertainty`, cached beside the embeddings (a warm run adds nothing)."""
    return _replicate_tables(
        settings,
        "",
        ("intervals", "differences", "claims"),
        embedders,
        words,
        sentences,
        boot,
        lambda reps: experiments.uncertainty(embedders, words, sentences, boot, reps=reps),
    )


def results(settings: Settings, embedders, words, sentences) -> pd.DataFrame:
    """:func:`cvsp.experiments.run_all`, cached like :func:`uncertainty` (a warm run, and the
    book's pages after the first, read the table instead of the embeddings)."""
    store = store_for(settings)
    return cache.cached_tables(
        store,
        "intervals",
        "scores-" + _uncertainty_key(embedders, words, sentences, None, store.code),
        ("scores",),
        lambda: (experiments.run_all(embedders, words, sentences),),
    )[0]


def contrast_tables(
    settings: Settings, embedders, words, sentences, boot: BootstrapSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`cvsp.experiments.contrasts` (intervals, paired differences), cached like :func:`uncertainty`."""
    return _replicate_tables(
        settings,
        "contrasts-",
        ("intervals", "contrasts"),
        embedders,
        words,
        sentences,
        boot,
        lambda reps: experiments.contrasts(embedders, words, sentences, boot, reps=reps),
    )


def beyond_tables(
    settings: Settings, embedders, words, sentences, scores: pd.DataFrame, boot: BootstrapSettings
) -> tuple[pd.DataFrame, ...]:
    """:func:`cvsp.experiments.beyond_tables` (intervals, contrasts, verdicts, depth
    differences), cached like :func:`uncertainty`."""
    return _replicate_tables(
        settings,
        "beyond-",
        ("intervals", "contrasts", "verdicts", "depths"),
        embedders,
        words,
        sentences,
        boot,
        lambda reps: experiments.beyond_tables(
            embedders, words, sentences, scores, boot, reps=reps
        ),
    )
