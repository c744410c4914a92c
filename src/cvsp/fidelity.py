"""What each difference between the paper, the released code and this book changes.

Each measured change is an *alternative* to one of this book's defaults; its effect is
``alternative − ours`` in every layer 0-12, for the token choices the paper's numbers are
compared with (:func:`claimed_variants`), plus GPT-2's mean pooling for the one change
that concerns it. :func:`measure` computes them all, :func:`largest` picks the largest
effect per change and model; :func:`cvsp.plots.fidelity_figure` and
:func:`cvsp.plots.spread_figure` draw them.

| change | alternative | our default |
| --- | --- | --- |
| :data:`STRIPPED` | STS sentences stripped of surrounding whitespace | as the file gives them |
| :data:`READER_NUMBERS` | the released STS reader's 1,273 pairs, ranked as numbers | all 1,379 pairs |
| :data:`READER_STRINGS` | the same pairs, cosines and gold ranked as strings (as released) | ranked as numbers |
| :data:`LEFT_COLUMN` | self-similarity of the left column, duplicates kept (as released) | every unique sentence once |
| :data:`NO_FIRST` | CWE draw without input position 0 | the text's own tokens |
| :data:`RELEASED_RULE` | CWE draw by the released CLIP rule (text tokens and EOS) | the text's own tokens |
| :data:`MEAN_NO_FIRST` | GPT-2's mean without position 0 | the mean over all tokens |
| :data:`SUBSETS` | CWE corpus: seeded subsets of the sentences | all unique sentences |
| :data:`SEEDS` | CWE draw with other seeds | seed 0 |

With stand-in models the effects are stand-in effects: they show how the computation
responds, nothing about the pretrained models. Used by the chapter
``05_reproducing_the_reproduction``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cvsp import data, experiments, paper, released
from cvsp.registry import HIDDEN_LAYERS
from cvsp.tokens import clip_token_counts

STRIPPED = "STS sentences stripped"
READER_NUMBERS = "released STS reader, ranks as numbers"
READER_STRINGS = "released STS reader, ranks as strings (as released)"
LEFT_COLUMN = "released self-similarity corpus (left column)"
NO_FIRST = "CWE draw without position 0"
RELEASED_RULE = "CWE draw by the released CLIP rule"
MEAN_NO_FIRST = "GPT-2 mean without position 0"
SUBSETS = "CWE corpus: {size:,}-sentence subsets"
SEEDS = "CWE draw: other seeds"

EFFECT_COLUMNS = [
    "change",
    "result",
    "model",
    "variant",
    "task",
    "layer",
    "ours",
    "alternative",
    "difference",
]
_KEY = ["result", "model", "variant", "task", "layer"]


def claimed_variants() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(result, model) -> token choices`` that the paper's numbers are compared with."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for claim in paper.REPORTED:
        known = found.get((claim.result, claim.model), ())
        found[(claim.result, claim.model)] = known + tuple(
            v for v in claim.variants if v not in known
        )
    return found


def deltas(
    alternative: pd.DataFrame, ours: pd.DataFrame, change: str, variants: Mapping | None = None
) -> pd.DataFrame:
    """``alternative − ours`` for every row both tables share, layers 0-12 only.

    ``variants`` (``(result, model) -> token choices``) keeps only those rows; by default
    the token choices of :func:`claimed_variants`.
    """
    variants = claimed_variants() if variants is None else variants
    both = alternative.merge(ours, on=_KEY, suffixes=("_alt", "_ours"))
    both = both[both["layer"].astype(str).isin(HIDDEN_LAYERS)]
    keep = [
        v in variants.get((r, m), ())
        for r, m, v in zip(both["result"], both["model"], both["variant"])
    ]
    both = both[keep]
    frame = both.assign(
        change=change,
        ours=both["value_ours"],
        alternative=both["value_alt"],
        difference=both["value_alt"] - both["value_ours"],
    )
    return frame[EFFECT_COLUMNS].reset_index(drop=True)


def variant_deltas(
    scores: pd.DataFrame, base: str, other: str, change: str, variants: Mapping | None = None
) -> pd.DataFrame:
    """Effect of reading token choice ``other`` instead of ``base`` from one results table."""
    ours = scores[scores["variant"] == base]
    alternative = scores[scores["variant"] == other].assign(variant=base)
    return deltas(alternative, ours, change, variants)


def spread_deltas(
    table: pd.DataFrame, by: str, reference, change: str, result: str = "cwe_self_similarity"
) -> pd.DataFrame:
    """Per model and layer, the deviation from the ``by == reference`` row that is largest
    in size (with its sign), over every other value of ``by`` (subsets or seeds)."""
    rows = []
    for (model, layer), group in table.groupby(["model", "layer"], sort=False):
        base = float(group.loc[group[by] == reference, "value"].iloc[0])
        others = group.loc[group[by] != reference, "value"].to_numpy() - base
        if len(others):
            worst = float(others[np.argmax(np.abs(others))])
            rows.append(
                (
                    change,
                    result,
                    model,
                    experiments.CWE_VARIANT,
                    experiments.SENTENCE_TASK,
                    str(layer),
                    base,
                    base + worst,
                    worst,
                )
            )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


@dataclass(frozen=True)
class Measured:
    """Everything the chapter shows: the effects and what they rest on."""

    effects: pd.DataFrame  # EFFECT_COLUMNS
    ours: pd.DataFrame  # the book's results for the three affected results
    corpus: pd.DataFrame  # experiments.cwe_corpus_size
    seeds: pd.DataFrame  # experiments.cwe_over_seeds
    released_pairs: pd.DataFrame  # the released reader's table
    facts: dict = field(default_factory=dict)


def _sentence_results(embedders: Mapping, sentences) -> pd.DataFrame:
    """STS, sentence self-similarity and CWE self-similarity of ``sentences``."""
    return pd.concat(
        [
            experiments.sts(embedders, sentences),
            experiments.sentence_self_similarity(embedders, sentences),
            experiments.cwe_self_similarity(embedders, sentences),
        ],
        ignore_index=True,
    )


def _released_deltas(embedders, table, clip_tokenizer, ours) -> list[pd.DataFrame]:
    """The released reader's effects: numbers or strings ranked, the left column alone."""
    numbers = released.sts_as_released(embedders, table, clip_tokenizer, string_ranks=False)
    strings = released.sts_as_released(embedders, table, clip_tokenizer)
    left = released.sentence_self_similarity_as_released(embedders, table, clip_tokenizer)
    return [
        deltas(numbers, ours, READER_NUMBERS),
        deltas(strings, ours, READER_STRINGS),
        deltas(left, ours, LEFT_COLUMN),
    ]


def _rule_deltas(ours: pd.DataFrame) -> list[pd.DataFrame]:
    """The token rules' effects: the first token left out, the released draw, GPT-2's mean."""
    cwe = ours[ours["result"] == "cwe_self_similarity"]
    gpt2_mean = {(r, "gpt2"): ("mean",) for r in ("sts", "sentence_self_similarity")}
    return [
        variant_deltas(cwe, experiments.CWE_VARIANT, "random_token_no_first", NO_FIRST),
        variant_deltas(cwe, experiments.CWE_VARIANT, "random_token_released", RELEASED_RULE),
        variant_deltas(ours, "mean", "mean_no_first", MEAN_NO_FIRST, gpt2_mean),
    ]


def _facts(sts_text: str, table: pd.DataFrame, clip_tokenizer, n: int) -> dict[str, int]:
    """Counts chapter 5's prose cites: the released table's pairs, ours, spaced cells."""
    own = data.parse_sts(sts_text)
    cells = [*own["sentence1"], *own["sentence2"]]
    spaced = sorted({s for s in cells if s != s.strip()})
    ours_pairs = set(zip(own["sentence1"], own["sentence2"]))
    at_limit = (
        clip_token_counts(clip_tokenizer, data.unique_sentences(own)) == experiments.CLIP_CONTEXT
    )
    return {
        "released_pairs": len(table),
        "released_corrupted": int(table["corrupted"].sum()),
        "released_swallowed_lines": int(table["swallowed"].sum()),
        "our_pairs": len(own),
        "identical_pairs": int(
            sum(p in ours_pairs for p in zip(table["sentence1"], table["sentence2"]))
        ),
        "left_column": len(table),
        "left_column_unique": int(table["sentence1"].nunique()),
        "sentences": n,
        "clip_at_limit": int(at_limit.sum()),
        "spaced_sentences": len(spaced),
        "spaced_cells": int(sum(s != s.strip() for s in cells)),
        "clip_changed_by_strip": sum(
            clip_tokenizer(s, add_special_tokens=False)["input_ids"]
            != clip_tokenizer(s.strip(), add_special_tokens=False)["input_ids"]
            for s in spaced
        ),
    }


def measure(
    embedders: Mapping,
    sts_text: str,
    clip_tokenizer,
    *,
    seeds: Sequence[int] = tuple(range(5)),
    sizes: Sequence[int] = experiments.CWE_CORPUS_SIZES,
    repeats: int = experiments.CWE_CORPUS_REPEATS,
    subset_size: int = 1000,
) -> Measured:
    """Every measured effect, from the STS file's text and the cached embedders.

    ``subset_size`` is the corpus size whose spread enters :attr:`Measured.effects`; all
    ``sizes`` are in :attr:`Measured.corpus`. Stripping only changes GPT-2's tokens
    (CLIP's tokenizer drops surrounding spaces, ``facts["clip_changed_by_strip"]``
    counts the exceptions), so it is measured for GPT-2.
    """
    sentences = experiments.prepare_sentences(data.parse_sts(sts_text), clip_tokenizer)
    ours = _sentence_results(embedders, sentences)
    frames = []
    stripped = experiments.prepare_sentences(data.parse_sts(sts_text, strip=True), clip_tokenizer)
    gpt2_only = {k: e for k, e in embedders.items() if e.family == "gpt2"}
    if gpt2_only:
        frames.append(deltas(_sentence_results(gpt2_only, stripped), ours, STRIPPED))
    table = released.read_sts_as_released(sts_text)
    frames += _released_deltas(embedders, table, clip_tokenizer, ours)
    frames += _rule_deltas(ours)
    corpus = experiments.cwe_corpus_size(embedders, sentences, sizes=sizes, repeats=repeats)
    n = len(sentences.sentences)
    if subset_size < n:
        chosen = corpus[corpus["size"].isin([subset_size, n])].assign(
            subset=lambda f: f["size"] * 1000 + f["repeat"]
        )
        frames.append(spread_deltas(chosen, "subset", n * 1000, SUBSETS.format(size=subset_size)))
    by_seed = experiments.cwe_over_seeds(embedders, sentences, seeds=seeds)
    if len(set(seeds)) > 1:
        frames.append(spread_deltas(by_seed, "seed", min(seeds), SEEDS))
    effects = pd.concat([f for f in frames if len(f)], ignore_index=True)
    facts = _facts(sts_text, table, clip_tokenizer, n)
    return Measured(effects, ours, corpus, by_seed, table, facts)


def largest(effects: pd.DataFrame) -> pd.DataFrame:
    """The largest effect (in size, with its sign) per change and model, and where it is."""
    ranked = effects.dropna(subset=["difference"]).assign(size=lambda f: f["difference"].abs())
    top = (
        ranked.sort_values("size", ascending=False, kind="stable")
        .groupby(["change", "model"], sort=False)
        .head(1)
    )
    order = {change: i for i, change in enumerate(dict.fromkeys(effects["change"]))}
    top = top.assign(order=top["change"].map(order)).sort_values(
        ["order", "model"], ascending=[True, False]
    )
    return top[
        ["change", "model", "result", "variant", "layer", "ours", "alternative", "difference"]
    ].reset_index(drop=True)


def string_rank_effect(effects: pd.DataFrame) -> float:
    """Largest change, over models, token choices and layers, from ranking the released
    pairs as strings instead of numbers (the difference of the two reader changes)."""
    key = ["model", "variant", "layer"]
    strings = effects[effects["change"] == READER_STRINGS].set_index(key)["alternative"]
    numbers = effects[effects["change"] == READER_NUMBERS].set_index(key)["alternative"]
    return float((strings - numbers).abs().max())


def rounding_verdicts(scores: pd.DataFrame) -> pd.DataFrame:
    """Each bound of the paper read at two decimals (our default) and literally."""
    rounded = paper.compare(scores)
    literal = paper.compare(scores, rounded=False)
    table = rounded.assign(literally=literal["holds"])
    table = table[table["relation"] != "≈"]
    return table[["claim", "relation", "paper", "ours", "holds", "literally"]].reset_index(
        drop=True
    )
