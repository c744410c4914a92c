"""How much the CWE result moves with the corpus and the random draw (chapter 5).

:func:`cwe_corpus_size` measures seeded subsets of the sentence corpus, :func:`cwe_over_seeds`
other seeds of the token draw, :func:`seed_spread` summarises the seeds. Used by
:mod:`cvsp.fidelity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cvsp import cache, metrics
from cvsp.cached import CachedEmbedder
from cvsp.experiments.choices import CWE_VARIANT
from cvsp.experiments.inputs import SentenceData
from cvsp.storage import package_digest

CWE_CORPUS_SIZES: tuple[int, ...] = (250, 500, 1000, 2000)  # subsets of the corpus (chapter 5)
CWE_CORPUS_REPEATS = 5


def cwe_corpus_size(
    embedders: Mapping[str, CachedEmbedder],
    sentences: SentenceData,
    sizes: Sequence[int] = CWE_CORPUS_SIZES,
    repeats: int = CWE_CORPUS_REPEATS,
    seed: int = 0,
) -> pd.DataFrame:
    """CWE self-similarity on seeded random subsets of the sentence corpus, by layer.

    Columns ``model, size, repeat, layer, value``; the full corpus is one more size with
    one repeat. No forward pass beyond the cached ``random_token`` draw.
    """
    rng = np.random.default_rng(seed)
    n = len(sentences.sentences)
    subsets = [
        (size, r, rng.choice(n, size, replace=False))
        for size in sizes
        if size < n
        for r in range(repeats)
    ]
    subsets.append((n, 0, np.arange(n)))
    rows = []
    for key, embed in embedders.items():
        values = embed(sentences.sentences, [CWE_VARIANT])[CWE_VARIANT]
        for size, repeat, chosen in subsets:
            for layer, value in zip(values.layers, metrics.self_similarity(values.values[chosen])):
                rows.append((key, size, repeat, layer, float(value)))
    return pd.DataFrame(rows, columns=["model", "size", "repeat", "layer", "value"])


def cwe_over_seeds(
    embedders: Mapping[str, CachedEmbedder],
    sentences: SentenceData,
    seeds: Sequence[int] = tuple(range(5)),
    variant: str = CWE_VARIANT,
    chunk: int = 20,
) -> pd.DataFrame:
    """CWE self-similarity for several seeds of the token draw: ``model, seed, layer, value``.

    Each seed's values are cached (keyed by its draw and the code), not the draws: up to
    ``chunk`` missing seeds of a model share one forward pass (see
    :meth:`cvsp.cached.CachedEmbedder.random_draws`, which keeps them for the page only).
    """
    rows = []
    for key, embed in embedders.items():
        layers = embed.layers(variant)
        code = store.code if (store := embed.store) is not None else package_digest()
        keys = {
            seed: _values_key(embed.key(sentences.sentences, variant, seed), code) for seed in seeds
        }
        curves = {seed: store.get_array("curves", k) if store else None for seed, k in keys.items()}
        missing = [
            seed for seed, curve in curves.items() if curve is None or curve.shape != (len(layers),)
        ]
        for seed, emb in embed.random_draws(
            sentences.sentences, variant, missing, chunk=chunk
        ).items():
            curves[seed] = metrics.self_similarity(emb.values)
            if store is not None:
                store.put_array("curves", keys[seed], curves[seed])
        rows += [
            (key, seed, layer, float(v)) for seed in seeds for layer, v in zip(layers, curves[seed])
        ]
    return pd.DataFrame(rows, columns=["model", "seed", "layer", "value"])


def _values_key(draw_key: str, code: str) -> str:
    """Cache key of the self-similarity curve of the draw cached under ``draw_key``, made
    by the code whose digest is ``code``."""
    return cache.key(of=draw_key, measure="self_similarity", code=code)


def seed_spread(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer, how the value moves over the seeds of :func:`cwe_over_seeds`:
    ``seeds`` (how many), ``mean``, ``sd`` (sample standard deviation), ``low``, ``high``
    (smallest and largest value) and ``range``."""
    grouped = by_seed.groupby(["model", "layer"], sort=False)["value"]
    table = grouped.agg(seeds="count", mean="mean", sd="std", low="min", high="max").reset_index()
    return table.assign(range=table["high"] - table["low"])
