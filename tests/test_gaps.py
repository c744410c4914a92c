"""Gaps that a run of ``tools/mutants.py`` found (issue 14): each test recomputes a number
by an independent, slow route (loops, scipy, hand-worked cases) on a tiny input.

Models are replaced by stand-in embedders: a deterministic function of each text's
words, so every test runs in well under a second and needs no weights.
"""

from __future__ import annotations

import dataclasses
import inspect
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cvsp import experiments, fidelity, metrics, paper, stats
from cvsp.embeddings import LayerEmbeddings
from cvsp.registry import HIDDEN_LAYERS
from cvsp.tokens import layers_for

DIM = 6


def _word_vector(word: str, layer: int) -> np.ndarray:
    return np.random.default_rng([zlib.crc32(word.encode()), layer]).normal(size=DIM)


class WordEmbedder:
    """An embedder without a model: each layer's vector of a text is a function of its words.

    ``bag=True``: the sum of the word vectors (order does not matter: a bag-of-words
    encoder); otherwise each word is weighted by its position, so order matters.
    ``pooler``: the BERT family's ``cls`` has a ``pooler`` layer as well.
    """

    def __init__(self, family: str, bag: bool = False, pooler: bool = False, salt: str = ""):
        self.family, self.bag, self.pooler, self.salt = family, bag, pooler, salt
        self.calls: list[tuple[str, ...]] = []

    def vector(self, text: str, layer: int) -> np.ndarray:
        words = text.split()
        weights = np.ones(len(words)) if self.bag else np.arange(1.0, len(words) + 1.0)
        return sum(w * _word_vector(self.salt + word, layer) for w, word in zip(weights, words))

    def __call__(self, texts, variants):
        self.calls.append(tuple(texts))
        out = {}
        for variant in variants:
            layers = layers_for(self.family, variant, self.pooler)
            salt = zlib.crc32(variant.encode()) % 7  # token choices give other vectors
            values = np.array(
                [[self.vector(t, i + salt) for i in range(len(layers))] for t in texts], np.float32
            )
            out[variant] = LayerEmbeddings(values, layers)
        return out


class WordTokenizer:
    """Enough of a tokenizer for :func:`cvsp.tokens.fits_clip`: one token per word."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text.split())))}


def _sentences(
    sentences: list[str], pairs: list[tuple[str, str, float]]
) -> experiments.SentenceData:
    table = pd.DataFrame(pairs, columns=["sentence1", "sentence2", "score"])[
        ["score", "sentence1", "sentence2"]
    ]
    return experiments.SentenceData(table, sentences, 0, 0)


# ------------------------------------------------------------------------------ stats


def test_correlations_stay_within_minus_one_and_one_when_squares_underflow():
    # Scores of 1e-200 have squares that underflow to 0: the spread is 0 although the
    # scores vary, so the correlation is "constant up to rounding", undefined: NaN, never inf.
    gold = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    tiny = gold * 1e-200
    idx = stats.resample_indices(5, 50, seed=1)
    for model, truth in ((tiny, gold), (gold, tiny)):
        r = stats.correlation_replicates(model, truth, idx, "pearson")
        assert np.isnan(r).all()  # the spread underflows in every replicate
    ordinary = stats.correlation_replicates(gold[::-1].copy(), gold, idx, "pearson")
    assert (np.isnan(ordinary) | (np.abs(ordinary + 1) < 1e-12)).all()  # reversed: -1 where defined


def test_spearman_replicates_with_untied_gold_equal_a_slow_loop():
    # Gold without ties takes resample_ranks' shortcut (each item its own group).
    rng = np.random.default_rng(11)
    gold = rng.permutation(25).astype(float) + rng.uniform(0, 0.1, size=25)
    assert len(np.unique(gold)) == 25
    model = np.stack([gold + rng.normal(scale=s, size=25) for s in (0.5, 5.0)])
    idx = stats.resample_indices(25, 60, seed=2)
    fast = stats.correlation_replicates(model, gold, idx)
    slow = np.array([[sps.spearmanr(layer[i], gold[i]).statistic for layer in model] for i in idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    # the ranks themselves, against scipy's rankdata of each resample (draws of one item tie)
    counts = stats.resample_counts(idx, 25)
    ranks = stats.resample_ranks(gold, counts)
    for b, drawn in enumerate(idx):
        expected = sps.rankdata(gold[drawn])
        np.testing.assert_allclose(ranks[b, drawn], expected, atol=1e-12)


def test_weighted_self_similarity_of_one_layer_equals_a_brute_force_weighted_mean():
    rng = np.random.default_rng(5)
    units = rng.normal(size=(9, 4))
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    counts = stats.resample_counts(stats.resample_indices(9, 12, seed=4), 9)
    fast = stats.weighted_self_similarity(
        units, counts, dtype=np.float64
    )  # [n, d]: one value per replicate
    assert fast.shape == (12,)
    cos = units @ units.T
    for b, w in enumerate(counts):
        pair_weights = np.outer(w, w)
        np.fill_diagonal(pair_weights, 0.0)
        assert fast[b] == pytest.approx((pair_weights * cos).sum() / pair_weights.sum(), abs=1e-12)


# ------------------------------------------------------------------------ experiments


def _replicate_series(rng, layers=HIDDEN_LAYERS, replicates=80, with_scores=True, n=15):
    values = rng.uniform(-1, 1, size=(replicates, len(layers)))
    if not with_scores:
        return experiments.Replicates(values, rng.uniform(-1, 1, size=len(layers)), tuple(layers))
    gold = rng.normal(size=n)
    scores = gold + rng.normal(
        scale=rng.uniform(0.3, 3), size=(len(layers), n)
    )  # per-item model scores
    point = np.array([sps.spearmanr(s, gold).statistic for s in scores])
    return experiments.Replicates(values, point, tuple(layers), scores, gold)


def test_claim_intervals_reselect_the_best_layer_and_token_choice_in_each_replicate():
    rng = np.random.default_rng(3)
    boot = stats.BootstrapSettings(replicates=80)
    reps = {}
    for claim in paper.REPORTED:
        for variant in claim.variants:
            reps.setdefault(
                (claim.result, claim.model, variant, claim.task),
                _replicate_series(rng, with_scores=False),
            )
    missing = next(
        c for c in paper.REPORTED if c.result == "sentence_self_similarity" and c.model == "clip"
    )
    del reps[(missing.result, missing.model, missing.variants[0], missing.task)]  # no series: NaN
    del reps[
        ("sts", "gpt2", "eos", "stsb")
    ]  # one of a claim's two token choices missing: the other serves
    table = experiments.claim_intervals(reps, boot).set_index("claim")
    assert list(table.index) == [c.text for c in paper.REPORTED]
    checked = set()
    for claim in paper.REPORTED:
        row = table.loc[claim.text]
        present = [
            reps[(claim.result, claim.model, v, claim.task)]
            for v in claim.variants
            if (claim.result, claim.model, v, claim.task) in reps
        ]
        if not present:
            assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
            checked.add("missing")
            continue
        reduced = []
        for b in range(boot.replicates):  # replicate by replicate, every layer and token choice
            candidates = [
                r.values[b, r.layers.index(layer)] for r in present for layer in claim.layers
            ]
            if claim.statistic == "value":
                assert len(candidates) == 1
                reduced.append(candidates[0])
            else:
                reduced.append(max(candidates) if claim.statistic == "max" else min(candidates))
        assert row["ci_low"] == pytest.approx(np.percentile(reduced, 2.5), abs=1e-12), claim.text
        assert row["ci_high"] == pytest.approx(np.percentile(reduced, 97.5), abs=1e-12), claim.text
        checked.add(claim.statistic)
    assert checked == {"missing", "value", "max", "min"}


def test_paired_differences_per_layer_and_at_the_best_layer():
    rng = np.random.default_rng(8)
    boot = stats.BootstrapSettings(replicates=80)
    clip_eos_layers = layers_for("clip", "eos")  # 15: the extra two are never compared
    reps = {
        ("sts", "clip", "eos", "stsb"): _replicate_series(rng, clip_eos_layers),
        ("sts", "gpt2", "last_token", "stsb"): _replicate_series(rng),
        ("sentence_self_similarity", "clip", "eos", "sts_sentences"): _replicate_series(
            rng, clip_eos_layers, with_scores=False
        ),
        ("sentence_self_similarity", "gpt2", "eos", "sts_sentences"): _replicate_series(
            rng, with_scores=False
        ),
        ("sts", "gpt2", "eos", "stsb"): _replicate_series(rng),  # not compared with CLIP's eos
        ("sts", "gpt2", "mean", "stsb"): _replicate_series(
            rng
        ),  # compared with CLIP's mean, which is missing
    }
    compared = {
        "sts": (("eos", "last_token"), ("mean", "mean")),
        "sentence_self_similarity": (("eos", "eos"),),
    }
    rows = experiments.paired_differences(reps, "clip", "gpt2", compared, boot)
    table = pd.DataFrame(
        rows,
        columns=[
            "result",
            "task",
            "variant",
            "base_variant",
            "layer",
            "difference",
            "ci_low",
            "ci_high",
            "t",
            "p",
        ],
    )
    assert len(table) == 13 + 1 + 13  # STS: 13 layers and the best one; self-similarity: 13 layers
    assert set(zip(table["result"], table["base_variant"])) == {
        ("sts", "last_token"),
        ("sentence_self_similarity", "eos"),
    }
    for result, task, base_variant in (
        ("sts", "stsb", "last_token"),
        ("sentence_self_similarity", "sts_sentences", "eos"),
    ):
        a, b = reps[(result, "clip", "eos", task)], reps[(result, "gpt2", base_variant, task)]
        part = table[table["result"] == result].set_index("layer")
        for layer in range(13):
            row = part.loc[str(layer)]
            assert row["difference"] == pytest.approx(a.point[layer] - b.point[layer], abs=1e-12)
            delta = a.values[:, layer] - b.values[:, layer]
            assert row["ci_low"] == pytest.approx(np.percentile(delta, 2.5), abs=1e-12)
            assert row["ci_high"] == pytest.approx(np.percentile(delta, 97.5), abs=1e-12)
            if a.scores is None:
                assert np.isnan(row["t"]) and np.isnan(row["p"])
            else:  # Williams' t on the two series' point values and their rank correlation
                r23 = sps.spearmanr(a.scores[layer], b.scores[layer]).statistic
                t, p = stats.williams_t(a.point[layer], b.point[layer], r23, len(a.gold))
                assert (
                    np.isfinite(t)
                    and row["t"] == pytest.approx(t, abs=1e-9)
                    and row["p"] == pytest.approx(p, abs=1e-9)
                )
    best = table[(table["result"] == "sts") & (table["layer"] == "best")].iloc[0]
    a, b = reps[("sts", "clip", "eos", "stsb")], reps[("sts", "gpt2", "last_token", "stsb")]
    assert best["difference"] == pytest.approx(max(a.point[:13]) - max(b.point[:13]), abs=1e-12)
    per_replicate = [max(a.values[i, :13]) - max(b.values[i, :13]) for i in range(boot.replicates)]
    assert best["ci_low"] == pytest.approx(np.percentile(per_replicate, 2.5), abs=1e-12)
    assert best["ci_high"] == pytest.approx(np.percentile(per_replicate, 97.5), abs=1e-12)


SHUFFLE_SENTENCES = [
    "one",
    "two words",
    "three little words",
    "a man plays a flute",
    "single",
    "the cat sat on the mat",
    "dogs bark",
    "birds fly south in winter",
]


@pytest.mark.parametrize("bag", [True, False])
def test_shuffled_similarity_uses_every_sentence_of_two_or_more_words(bag):
    sentences = _sentences(SHUFFLE_SENTENCES, [(SHUFFLE_SENTENCES[1], SHUFFLE_SENTENCES[2], 1.0)])
    embedders = {"clip": WordEmbedder("clip", bag=bag)}
    table = experiments.shuffled_similarity(
        embedders, sentences, WordTokenizer(), sample=100, shuffles=3
    )
    several = [s for s in SHUFFLE_SENTENCES if len(s.split()) >= 2]
    assert (table["pairs"] == 3 * len(several)).all()  # two-word sentences in, one-word ones out
    assert len(table) == 2 * 13 and set(table["variant"]) == {"eos", "mean"}
    shuffled = embedders["clip"].calls[-1]
    assert len(shuffled) == 3 * len(several)
    assert sorted(" ".join(sorted(s.split())) for s in shuffled) == sorted(
        " ".join(sorted(s.split())) for s in several for _ in range(3)
    )
    if bag:  # a bag-of-words encoder gives 1 (up to float32)
        np.testing.assert_allclose(table["value"], 1.0, atol=1e-5)
    else:  # the mean cosine of each sentence with its shuffled copies, by hand
        model = embedders["clip"]
        copies = iter(shuffled)
        pairs = [(s, next(copies)) for s in several for _ in range(3)]
        for layer in (0, 7, 12):
            salt = zlib.crc32(b"eos") % 7
            cosines = []
            for original, copy in pairs:
                u = model.vector(original, layer + salt).astype(np.float32).astype(np.float64)
                v = model.vector(copy, layer + salt).astype(np.float32).astype(np.float64)
                cosines.append(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
            got = table.query(f"variant == 'eos' and layer == '{layer}'")["value"].item()
            assert got == pytest.approx(np.mean(cosines), abs=1e-9)


def test_anchor_scores_read_each_anchor_as_published():
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(list("abcdefghij"), size=rng.integers(2, 6))) for _ in range(14)]
    texts = list(dict.fromkeys(texts))
    combos = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    chosen = rng.choice(
        len(combos), 30, replace=False
    )  # distinct pairs of distinct texts: no tied cosines
    pairs = [(texts[combos[k][0]], texts[combos[k][1]], float(rng.integers(0, 6))) for k in chosen]
    sentences = _sentences(texts, pairs)
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


def test_corpus_size_defaults_are_the_sizes_chapter_5_measures():
    # The chapter's sizes come from fidelity.measure; cwe_corpus_size called alone gives the same table.
    ours = inspect.signature(experiments.cwe_corpus_size).parameters
    chapter = inspect.signature(fidelity.measure).parameters
    assert ours["sizes"].default == chapter["sizes"].default
    assert ours["repeats"].default == chapter["repeats"].default


class OrthogonalEmbedder:
    """Text ``i`` of the corpus is the unit vector ``e_i`` in every layer: a set of distinct
    texts has self-similarity exactly 0, and any text drawn twice makes it positive."""

    family = "gpt2"

    def __init__(self, corpus):
        self.index = {t: i for i, t in enumerate(corpus)}

    def __call__(self, texts, variants):
        values = np.zeros((len(texts), 13, len(self.index)), np.float32)
        for row, text in enumerate(texts):
            values[row, :, self.index[text]] = 1.0
        return {v: LayerEmbeddings(values, HIDDEN_LAYERS) for v in variants}


def test_cwe_corpus_size_draws_distinct_sentences_and_adds_the_full_corpus_once():
    corpus = [f"sentence {i}" for i in range(8)]
    sentences = _sentences(corpus, [(corpus[0], corpus[1], 1.0)])
    table = experiments.cwe_corpus_size(
        {"gpt2": OrthogonalEmbedder(corpus)}, sentences, sizes=(5, 8, 20), repeats=4
    )
    # size 5: four repeats; 8 (the whole corpus) and 20 (more than it): only the full corpus, once
    assert sorted(set(zip(table["size"], table["repeat"]))) == [
        (5, 0),
        (5, 1),
        (5, 2),
        (5, 3),
        (8, 0),
    ]
    assert len(table) == 13 * 5
    assert (table["value"].abs() < 1e-12).all()  # distinct sentences only, never one twice
    half = experiments.cwe_corpus_size(
        {"gpt2": OrthogonalEmbedder(corpus)}, sentences, sizes=(2,), repeats=1
    )
    assert (half["value"].abs() < 1e-12).all()
    drawn_twice = metrics.self_similarity(
        OrthogonalEmbedder(corpus)([corpus[0], corpus[0], corpus[1]], ["x"])["x"].values
    )
    assert np.all(drawn_twice > 0.3)  # what a draw with replacement would give: 1/3


def test_the_paper_s_numbers_cannot_be_changed_in_place():
    claim, anchor = paper.REPORTED[0], paper.ANCHORS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        # a notebook cell must not move the paper's number for every later comparison
        claim.value = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        anchor.value = 0.0


def test_the_paper_is_inside_an_interval_that_ends_at_its_number():
    claims = paper.reported("sts")
    scores = pd.DataFrame(
        [(c.result, c.model, c.variants[0], c.task, c.layers[0], c.value) for c in claims],
        columns=experiments.COLUMNS[:6],
    ).assign(n=10, note="")
    assert len(claims) == 2
    first, second = claims  # closed intervals: either end counts
    intervals = pd.DataFrame(
        [
            (first.text, first.value, first.value + 0.1),
            (second.text, second.value - 0.1, second.value),
        ],
        columns=["claim", "ci_low", "ci_high"],
    )
    table = paper.compare(scores, "sts", intervals).set_index("claim")
    assert table["paper_inside"].tolist() == [True, True]
    assert list(table.columns)[-1] == "source" and {"ci_low", "ci_high"} <= set(table.columns)
    outside = intervals.assign(
        ci_low=[c.value + 1e-9 for c in claims], ci_high=[c.value + 0.1 for c in claims]
    )
    assert not paper.compare(scores, "sts", outside)["paper_inside"].any()
    below = intervals.assign(
        ci_low=[c.value - 0.1 for c in claims], ci_high=[c.value - 1e-9 for c in claims]
    )
    assert not paper.compare(scores, "sts", below)["paper_inside"].any()
