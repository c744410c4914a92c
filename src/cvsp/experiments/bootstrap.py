"""Bootstrap intervals of every series, paired differences between models, and the
intervals of the paper's claims.

The design (:mod:`cvsp.stats`): one set of resample indices per task, shared by every
model, layer and token choice, so differences are paired. :func:`replicates` computes
the replicates of every series (on a few threads; numpy releases the GIL),
:func:`uncertainty` turns them into the tables of ``cvsp reproduce``. Used by
:mod:`cvsp.intervals` (which caches them) and :mod:`.comparisons`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cvsp import metrics, paper, stats
from cvsp.experiments.choices import (
    CWE_FAMILY_VARIANTS,
    SENTENCE_CHOICES,
    SENTENCE_VARIANTS,
    WORD_VARIANTS,
)
from cvsp.experiments.inputs import (
    SENTENCE_TASK,
    STS_TASK,
    VALNORM_TASK,
    SentenceData,
    WordData,
    positions_of,
    vectors_of,
)
from cvsp.registry import hidden_count

# Which CLIP token choice is compared with which GPT-2 one, per result (paired differences).
COMPARED: dict[str, tuple[tuple[str, str], ...]] = {
    "cwe_self_similarity": (("random_token", "random_token"),),
    "word_similarity": (("last_subtoken", "last_subtoken"), ("eos", "eos")),
    "sts": (("eos", "last_token"), ("eos", "eos"), ("mean", "mean")),
    "sentence_self_similarity": (("eos", "eos"), ("mean", "mean")),
}


@dataclass(frozen=True)
class Replicates:
    """Bootstrap replicates ``[B, L]`` of one series, with its point values and items."""

    values: np.ndarray  # [B, L]
    point: np.ndarray  # [L], the statistic on the full sample
    layers: tuple[str, ...]
    scores: np.ndarray | None = None  # [L, n] per-item model scores (rank correlations only)
    gold: np.ndarray | None = None


def correlation_series(scores: np.ndarray, gold: np.ndarray, resampled: tuple, layers, method: str = "spearman") -> Replicates:
    """Correlations of ``scores`` ``[L, n]`` with ``gold``; ``resampled`` is gold on the
    full sample and on every replicate (:meth:`_Resamples.gold`)."""
    full, boot_gold = resampled
    point = stats.correlations(scores, full)[0]
    keep = (scores, gold) if method == "spearman" else (None, None)
    return Replicates(stats.correlations(scores, boot_gold), point, layers, *keep)


def self_similarity_series(values: np.ndarray, counts: np.ndarray, layers) -> Replicates:
    """Self-similarity of ``values`` ``[n, L, d]``, each replicate weighting the items by ``counts``."""
    units = metrics.unit(values)  # here, so that a waiting job holds the smaller array
    point = stats.weighted_self_similarity(units, np.ones((1, len(units))), np.float64)[0]
    return Replicates(stats.weighted_self_similarity(units, counts), point, layers)


def valnorm_series(effects: np.ndarray, valence: np.ndarray, resampled: tuple, layers) -> Replicates:
    """Pearson's r of the ValNorm effect sizes ``[L, n]`` with valence; NaN in a layer
    where an effect size is undefined."""
    series = correlation_series(np.nan_to_num(effects), valence, resampled, layers, "pearson")
    undefined = np.isnan(effects).any(axis=1)
    series.values[:, undefined] = np.nan
    series.point[undefined] = np.nan
    return series


def valnorm_effects(emb, index: Mapping[str, int], words: WordData) -> np.ndarray:
    """ValNorm effect size of every lexicon word ``[L, n]``; NaN in a layer where undefined."""
    lexicon = vectors_of(emb, index, words.lexicon["word"])
    pleasant = vectors_of(emb, index, words.pleasant)
    unpleasant = vectors_of(emb, index, words.unpleasant)
    effects = []
    for layer in range(len(emb.layers)):
        try:
            effects.append(metrics.valnorm_effect_sizes(lexicon[:, layer], pleasant[:, layer], unpleasant[:, layer]))
        except metrics.MetricError:
            effects.append(np.full(len(lexicon), np.nan))
    return np.array(effects)


@dataclass
class _Resamples:
    """The resample indices of each task, and its gold scores resampled once for every
    series of the task."""

    boot: stats.BootstrapSettings
    prepared: dict[str, tuple] = field(default_factory=dict)

    def indices(self, task: str, n: int) -> np.ndarray:
        return stats.resample_indices(n, self.boot.replicates, self.boot.seed_for(task))

    def gold(self, task: str, gold: np.ndarray, method: str = "spearman") -> tuple:
        if task not in self.prepared:
            everything = np.arange(len(gold))[None]  # the full sample as one "replicate"
            self.prepared[task] = (stats.resample_gold(gold, everything, method),
                                   stats.resample_gold(gold, self.indices(task, len(gold)), method))  # fmt: skip
        return self.prepared[task]


def default_threads() -> int:
    """Threads of :func:`replicates` when none are asked for: the cores, at most 4, since
    each thread may hold a ~100 MB array (see :class:`_Jobs`)."""
    return min(4, os.cpu_count() or 1)


class _Jobs:
    """Series computed on a few threads; a large job (a self-similarity holding an
    ``[n, L, d]`` array, ~100 MB per sentence variant) is submitted only once at most
    ``threads`` others wait or run, so the arrays held for them stay few."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self.jobs: dict[tuple, Future] = {}
        self.large: deque[Future] = deque()

    def submit(self, series: tuple, function, *args) -> None:
        self.jobs[series] = self.pool.submit(function, *args)

    def submit_large(self, series: tuple, function, *args) -> None:
        while len(self.large) >= self.threads:
            self.large.popleft().result()
        self.submit(series, function, *args)
        self.large.append(self.jobs[series])

    def results(self) -> dict[tuple, Replicates]:
        """Every series, once all are computed."""
        try:
            return {series: job.result() for series, job in self.jobs.items()}
        finally:
            self.pool.shutdown(cancel_futures=True)

    def cancel(self) -> None:
        """Drop what has not started (after an error)."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def replicates(
    embedders, words: WordData, sentences: SentenceData, boot, workers: int | None = None
) -> dict[tuple, Replicates]:
    """Replicates of every series: ``(result, model, variant, task) -> Replicates``.

    One set of resample indices per task (pairs, words or sentences), shared by every
    model, layer and token choice: differences are paired. Series are computed on
    ``workers`` threads (numpy releases the GIL); each is independent of the others,
    so the result does not depend on the number of threads.
    """
    resamples = _Resamples(boot)
    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    n_sentences = len(sentences.sentences)
    sentence_counts = stats.resample_counts(resamples.indices(SENTENCE_TASK, n_sentences), n_sentences)
    left, right = sentences.pair_positions()
    valence = words.lexicon["valence"].to_numpy()
    jobs = _Jobs(workers or default_threads())
    try:
        for key, embed in embedders.items():
            family = embed.family
            for variant, emb in embed(vocabulary, WORD_VARIANTS[family]).items():
                units = metrics.unit(emb.values)  # once for all five tasks
                for task, frame in words.pairs.items():
                    cosines = metrics.unit_pair_cosines(
                        units, positions_of(index, frame["word1"]), positions_of(index, frame["word2"])
                    ).T  # [L, n]
                    gold = frame["score"].to_numpy()
                    jobs.submit(("word_similarity", key, variant, task), correlation_series,
                                cosines, gold, resamples.gold(task, gold), emb.layers)  # fmt: skip
                jobs.submit(("word_similarity", key, variant, VALNORM_TASK), valnorm_series,
                            valnorm_effects(emb, index, words), valence,
                            resamples.gold(VALNORM_TASK, valence, "pearson"), emb.layers)  # fmt: skip
            embedded = embed(sentences.sentences, SENTENCE_CHOICES[family])
            for variant, emb in ((v, embedded[v]) for v in SENTENCE_VARIANTS[family]):
                cosines = metrics.unit_pair_cosines(metrics.unit(emb.values), left, right).T
                jobs.submit(("sts", key, variant, STS_TASK), correlation_series,
                            cosines, sentences.gold, resamples.gold(STS_TASK, sentences.gold), emb.layers)  # fmt: skip
                jobs.submit_large(("sentence_self_similarity", key, variant, SENTENCE_TASK),
                                  self_similarity_series, emb.values, sentence_counts, emb.layers)  # fmt: skip
            for variant, emb in ((v, embedded[v]) for v in CWE_FAMILY_VARIANTS[family]):
                jobs.submit_large(("cwe_self_similarity", key, variant, SENTENCE_TASK),
                                  self_similarity_series, emb.values, sentence_counts, emb.layers)  # fmt: skip
    except BaseException:
        jobs.cancel()
        raise
    return jobs.results()


def uncertainty(
    embedders, words: WordData, sentences: SentenceData, boot, workers: int | None = None,
    reps: Mapping[tuple, Replicates] | None = None,
) -> tuple[pd.DataFrame, ...]:  # fmt: skip
    """Bootstrap intervals of the series, the paired CLIP − GPT-2 differences, the claims.

    Returns ``(intervals, differences, claims)``: ``intervals`` has ``result, model, variant,
    task, layer, ci_low, ci_high``; ``differences`` one row per compared pair of token
    choices and layer (and ``best`` for the best layer 0-12, chosen inside each
    replicate): ``difference``, ``ci_low``, ``ci_high``, and for correlations Williams'
    ``t`` and ``p`` (on ranks for Spearman); ``claims`` the interval of our number for
    each claim of :mod:`cvsp.paper`. ``reps``: the replicates of these models, where the
    caller has them (:func:`cvsp.intervals.model_replicates` caches them per model).
    """
    reps = replicates(embedders, words, sentences, boot, workers) if reps is None else reps
    intervals = interval_table(reps, boot)
    diffs = paired_differences(reps, "clip", "gpt2", COMPARED, boot)
    differences = pd.DataFrame(diffs, columns=[
        "result", "task", "clip_variant", "gpt2_variant", "layer", "difference", "ci_low", "ci_high", "t", "p",
    ])  # fmt: skip
    return intervals, differences, claim_intervals(reps, boot)


def interval_table(reps: dict[tuple, Replicates], boot) -> pd.DataFrame:
    """``result, model, variant, task, layer, ci_low, ci_high`` of every series."""
    rows = []
    for (result, model, variant, task), r in reps.items():
        low, high = stats.percentile_interval(r.values, boot.level)
        rows += [(result, model, variant, task, layer, lo, hi) for layer, lo, hi in zip(r.layers, low, high)]
    return pd.DataFrame(rows, columns=["result", "model", "variant", "task", "layer", "ci_low", "ci_high"])


def compared_series(
    reps: Mapping[tuple, Replicates], model: str, base: str, compared: Mapping[str, Sequence[tuple[str, str]]]
) -> Iterator[tuple[str, str, str, str, Replicates, Replicates]]:
    """``(result, task, variant, base_variant, ours, other)`` for each series of ``model``
    whose token choice ``compared`` pairs with a series of ``base`` on the same task, in
    the order of ``reps``."""
    for (result, key, variant, task), ours in reps.items():
        if key != model:
            continue
        for wanted, base_variant in compared.get(result, ()):
            other = reps.get((result, base, base_variant, task))
            if wanted == variant and other is not None:
                yield result, task, variant, base_variant, ours, other


def paired_differences(
    reps: dict[tuple, Replicates], model: str, base: str, compared: Mapping[str, Sequence[tuple[str, str]]], boot
) -> list[tuple]:
    """Rows ``(result, task, variant, base_variant, layer, difference, ci_low, ci_high, t, p)``
    of ``model − base`` for the token choices ``compared`` pairs, per hidden layer and for
    the best layer (chosen inside each replicate; correlations only). The two models must
    have the same number of layers (models of different depths are compared on relative
    depth: :func:`cvsp.experiments.beyond.depth_differences`)."""
    rows = []
    for result, task, variant, base_variant, ours, other in compared_series(reps, model, base, compared):
        depth = hidden_count(ours.layers)
        if depth != hidden_count(other.layers):
            raise ValueError(f"{model} and {base} differ in depth; compare them with depth_differences.")
        a, b = ours.values[:, :depth], other.values[:, :depth]
        point_a, point_b = ours.point[:depth], other.point[:depth]
        low, high = stats.percentile_interval(a - b, boot.level)
        for layer in range(depth):
            t = p = float("nan")
            if ours.scores is not None and np.isfinite(point_a[layer] + point_b[layer]):
                r23 = spearman_or_nan(ours.scores[layer], other.scores[layer])
                if np.isfinite(r23):
                    t, p = stats.williams_t(point_a[layer], point_b[layer], r23, len(ours.gold))
            rows.append((result, task, variant, base_variant, str(layer),
                         point_a[layer] - point_b[layer], low[layer], high[layer], t, p))  # fmt: skip
        if ours.scores is None and result != "word_similarity":
            continue  # a "best layer" means something for correlations only
        with np.errstate(all="ignore"):
            best = stats.best_replicates(a) - stats.best_replicates(b)
            lo, hi = stats.percentile_interval(best[:, None], boot.level)
        rows.append((result, task, variant, base_variant, "best",
                     np.nanmax(point_a) - np.nanmax(point_b), lo[0], hi[0], np.nan, np.nan))  # fmt: skip
    return rows


def claim_intervals(reps: dict[tuple, Replicates], boot, claims: Sequence[paper.Reported] = paper.REPORTED) -> pd.DataFrame:
    """Interval of our number for each claim of :mod:`cvsp.paper` (or of ``claims``), the
    best (or worst) layer and token choice re-selected inside each replicate."""
    rows = [(claim.text, *claim_interval(claim, reps, boot)) for claim in claims]
    return pd.DataFrame(rows, columns=["claim", "ci_low", "ci_high"])


def claim_interval(claim: paper.Reported, reps: Mapping[tuple, Replicates], boot) -> tuple[float, float]:
    """The 95 % interval of our number for one claim, the best (or worst) layer and token
    choice re-chosen inside each replicate (NaN where no series of the claim was run)."""
    columns = []
    for variant in claim.variants:
        r = reps.get((claim.result, claim.model, variant, claim.task))
        if r is not None:
            columns += [r.values[:, r.layers.index(layer)] for layer in claim.layers if layer in r.layers]
    if not columns:
        return float("nan"), float("nan")
    stacked = np.stack(columns, axis=1)
    reduced = stacked[:, 0] if claim.statistic == "value" else stats.best_replicates(stacked, claim.statistic)
    low, high = stats.percentile_interval(reduced[:, None], boot.level)
    return float(low[0]), float(high[0])


def spearman_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    try:
        return metrics.spearman(a, b)
    except metrics.MetricError:
        return float("nan")
