"""The published anchors of chapter 7 (``experiments.anchor_scores``), each read as
published, with embedders without a model."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy import stats as sps
from support.fakes import WordEmbedder, sentence_data

from cvsp import experiments, paper, stats
from cvsp.tokens import layers_for


def test_anchor_scores_read_each_anchor_as_published():
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(list("abcdefghij"), size=rng.integers(2, 6))) for _ in range(14)]
    texts = list(dict.fromkeys(texts))
    combos = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    chosen = rng.choice(
        len(combos), 30, replace=False
    )  # distinct pairs of distinct texts: no tied cosines
    pairs = [(texts[combos[k][0]], texts[combos[k][1]], float(rng.integers(0, 6))) for k in chosen]
    sentences = sentence_data(texts, pairs)
    embedders = {
        "bert": WordEmbedder("bert"),
        "simcse_sup": WordEmbedder("bert", pooler=True, salt="sup"),
    }
    boot = stats.BootstrapSettings(replicates=60)
    table = experiments.anchor_scores(embedders, sentences, boot)
    expected_anchors = [a for a in paper.ANCHORS if a.model in embedders]
    assert list(table["model"]) == [a.model for a in expected_anchors] and len(table) == 3
    gold = sentences.pairs["score"].to_numpy()
    idx = stats.resample_indices(len(gold), boot.replicates, boot.seed_for(experiments.STS_TASK))
    for anchor, (_, row) in zip(expected_anchors, table.iterrows()):
        model = embedders[anchor.model]
        layers = layers_for("bert", anchor.variant, model.pooler)
        salt = zlib.crc32(anchor.variant.encode()) % 7

        def vector(
            text,
        ):  # the anchor's layers, averaged (float32 vectors, as the cache holds them)
            vectors = [
                model.vector(text, layers.index(name) + salt).astype(np.float32)
                for name in anchor.layers
            ]
            return np.mean(vectors, axis=0).astype(np.float64)

        cosines = np.array(
            [
                float(
                    np.dot(vector(a), vector(b))
                    / np.linalg.norm(vector(a))
                    / np.linalg.norm(vector(b))
                )
                for a, b in zip(sentences.pairs["sentence1"], sentences.pairs["sentence2"])
            ]
        )
        assert row["ours"] == pytest.approx(sps.spearmanr(cosines, gold).statistic, abs=1e-6)
        slow = [sps.spearmanr(cosines[i], gold[i]).statistic for i in idx]
        assert row["ci_low"] == pytest.approx(np.nanpercentile(slow, 2.5), abs=1e-6)
        assert row["ci_high"] == pytest.approx(np.nanpercentile(slow, 97.5), abs=1e-6)
        assert (row["published"], row["readout"], row["source"], row["n"]) == (
            anchor.value,
            anchor.readout,
            anchor.source,
            len(gold),
        )
