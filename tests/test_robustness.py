"""The CWE result over subsets of the corpus (``experiments.robustness``): the sizes
chapter 5 measures, distinct draws, the full corpus once."""

from __future__ import annotations

import inspect

import numpy as np
from support.fakes import sentence_data

from cvsp import experiments, fidelity, metrics
from cvsp.cached import LayerEmbeddings
from cvsp.registry import HIDDEN_LAYERS


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
    sentences = sentence_data(corpus, [(corpus[0], corpus[1], 1.0)])
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
