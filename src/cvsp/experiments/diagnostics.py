"""The geometry behind the numbers (chapter 6): rogue dimensions, alignment and uniformity,
lexical overlap, and word order. Every measure reads the cached embeddings; only the
shuffled sentences need new forward passes. The measures are :mod:`cvsp.geometry`'s.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cvsp import geometry, metrics
from cvsp.cached import EmbedderLike
from cvsp.experiments.choices import CWE_VARIANT, GEOMETRY_VARIANTS, SENTENCE_TOKEN
from cvsp.experiments.inputs import SentenceData, positions_of
from cvsp.registry import hidden_count
from cvsp.tokens import fits_clip


def rogue_dimensions(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData
) -> pd.DataFrame:
    """Per model, token choice (CWEs and sentence vectors: EOS, or an encoder's CLS) and hidden layer: the
    self-similarity and the shares of its top-1 and top-3 dimensions."""
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(
            sentences.sentences, [CWE_VARIANT, SENTENCE_TOKEN[embed.family]]
        ).items():
            shares = geometry.rogue_shares(emb.values[:, : hidden_count(emb.layers)])
            frames.append(
                shares.reset_index().assign(
                    model=key, variant=variant, layer=lambda f: f["layer"].astype(str)
                )
            )
    table = pd.concat(frames, ignore_index=True)
    first = ["model", "variant", "layer"]
    return table[first + [c for c in table.columns if c not in first]]


def alignment_uniformity(
    embedders: Mapping[str, EmbedderLike],
    sentences: SentenceData,
    threshold: float = 4.0,
    strict: bool = True,
    uniform: bool = True,
) -> pd.DataFrame:
    """Alignment over STS pairs with gold above ``threshold`` (``strict=False``: at least)
    and uniformity over the unique sentences, per model, token choice and hidden layer.

    ``uniform=False`` leaves the uniformity out (NaN): it does not depend on the positive
    pairs and costs far more than the alignment, so another threshold needs only this."""
    pairs = sentences.pairs
    close = pairs[pairs["score"] > threshold] if strict else pairs[pairs["score"] >= threshold]
    left, right = sentences.pair_positions(close)
    rows = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, GEOMETRY_VARIANTS[embed.family]).items():
            depth = hidden_count(emb.layers)
            hidden = emb.values[:, :depth]
            aligned = geometry.alignment(hidden[left], hidden[right])
            spread = geometry.uniformity(hidden) if uniform else np.full(len(aligned), np.nan)
            rows += [
                (key, variant, layer, float(a), float(u), len(close))
                for layer, a, u in zip(emb.layers[:depth], aligned, spread)
            ]
    return pd.DataFrame(
        rows, columns=["model", "variant", "layer", "alignment", "uniformity", "pairs"]
    )


def lexical_overlap(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData
) -> tuple[float, pd.DataFrame]:
    """How much of STS is word overlap: Spearman of the pairs' word-set Jaccard overlap
    with gold, and per model, token choice and hidden layer Spearman's rho with gold
    (``rho``) and the partial rho controlling for the overlap (``partial``)."""
    pairs = sentences.pairs
    overlap = np.array(
        [geometry.jaccard(a, b) for a, b in zip(pairs["sentence1"], pairs["sentence2"])]
    )
    gold = sentences.gold
    left, right = sentences.pair_positions()
    rows = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, GEOMETRY_VARIANTS[embed.family]).items():
            depth = hidden_count(emb.layers)
            cosines = metrics.indexed_pair_cosines(emb.values[:, :depth], left, right)
            for layer in range(depth):
                try:
                    rho = metrics.spearman(cosines[:, layer], gold)
                    partial = geometry.partial_spearman(cosines[:, layer], gold, overlap)
                except metrics.MetricError:
                    rho = partial = float("nan")
                rows.append((key, variant, str(layer), rho, partial))
    return metrics.spearman(overlap, gold), pd.DataFrame(
        rows, columns=["model", "variant", "layer", "rho", "partial"]
    )


def shuffled_similarity(
    embedders: Mapping[str, EmbedderLike],
    sentences: SentenceData,
    clip_tokenizer,
    sample: int = 500,
    shuffles: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean cosine between a sentence and its word-shuffled copies, per model, token
    choice and hidden layer, over a seeded ``sample`` of the sentences with at least two
    words and ``shuffles`` shuffles each (a bag-of-words encoder gives 1)."""
    rng = np.random.default_rng(seed)
    candidates = [s for s in sentences.sentences if len(s.split()) > 1]
    chosen = [
        candidates[i]
        for i in sorted(rng.choice(len(candidates), min(sample, len(candidates)), replace=False))
    ]
    originals, shuffled = [], []
    for sentence in chosen:
        for _ in range(shuffles):
            copy = geometry.shuffle_words(sentence, rng)
            originals.append(sentence)
            shuffled.append(copy)
    keep = fits_clip(clip_tokenizer, shuffled)
    originals = [s for s, ok in zip(originals, keep) if ok]
    shuffled = [s for s, ok in zip(shuffled, keep) if ok]
    rows = []
    for key, embed in embedders.items():
        variants = GEOMETRY_VARIANTS[embed.family]
        base = embed(sentences.sentences, variants)
        moved = embed(shuffled, variants)
        for variant in variants:
            depth = hidden_count(base[variant].layers)
            a = base[variant].values[positions_of(sentences.index, originals), :depth]
            b = moved[variant].values[:, :depth]
            cosines = metrics.pair_cosines(a, b)
            rows += [
                (key, variant, str(layer), float(cosines[:, layer].mean()), len(shuffled))
                for layer in range(depth)
            ]
    return pd.DataFrame(rows, columns=["model", "variant", "layer", "value", "pairs"])
