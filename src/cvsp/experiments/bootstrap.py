"""Bootstrap replicates of every series of the four results.

The design (:mod:`cvsp.stats`): one set of resample indices per task, shared by every
model, layer and token choice, so differences are paired. :func:`replicates` computes
the replicates of every series (on a few threads; numpy releases the GIL); :mod:`.paired`
turns them into intervals, paired differences and the claims' intervals. Used by
:mod:`cvsp.intervals` (which caches them per model), :mod:`.paired`, :mod:`.comparisons`
and :mod:`.beyond`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from cvsp import metrics, stats
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


@dataclass(frozen=True)
class Replicates:
    """Bootstrap replicates ``[B, L]`` of one series, with its point values and items."""

    values: np.ndarray  # [B, L]
    point: np.ndarray  # [L], the statistic on the full sample
    layers: tuple[str, ...]
    scores: np.ndarray | None = None  # [L, n] per-item model scores (rank correlations only)
    gold: np.ndarray | None = None


def correlation_series(
    scores: np.ndarray, gold: np.ndarray, resampled: tuple, layers, method: str = "spearman"
) -> Replicates:
    """Correlations of ``scores`` ``[L, n]`` with ``gold``; ``resampled`` is gold on the
    full sample and on every replicate (:meth:`_Resamples.gold`)."""
    full, boot_gold = resampled
    point = stats.correlations(scores, full)[0]
    keep = (scores, gold) if method == "spearman" else (None, None)
    return Replicates(stats.correlations(scores, boot_gold), point, layers, *keep)


def self_similarity_series(values: np.ndarray, counts: np.ndarray, layers) -> Replicates:
    """Self-similarity of ``values`` ``[n, L, d]``, each replicate weighting the items by ``counts``."""
    units = metrics.unit(values)  # here, so that a waiting job holds the smaller array
    # the full sample as one replicate (weights of one); [0] reads it
    everything = np.ones((1, len(units)))  # mutants: equivalent: each row is the full sample
    point = stats.weighted_self_similarity(units, everything, np.float64)[0]
    return Replicates(stats.weighted_self_similarity(units, counts), point, layers)


def valnorm_series(
    effects: np.ndarray, valence: np.ndarray, resampled: tuple, layers
) -> Replicates:
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
            effects.append(
                metrics.valnorm_effect_sizes(
                    lexicon[:, layer], pleasant[:, layer], unpleasant[:, layer]
                )
            )
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
            self.prepared[task] = (
                stats.resample_gold(gold, everything, method),
                stats.resample_gold(gold, self.indices(task, len(gold)), method),
            )
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
    jobs = _Jobs(workers or default_threads())
    try:
        for key, embed in embedders.items():
            _word_jobs(jobs, resamples, key, embed, words)
            _sentence_jobs(jobs, resamples, key, embed, sentences)
    except BaseException:
        jobs.cancel()
        raise
    return jobs.results()


def _word_jobs(jobs: _Jobs, resamples: _Resamples, key: str, embed, words: WordData) -> None:
    """One model's series of the word tasks and ValNorm, submitted to ``jobs``."""
    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    valence = words.lexicon["valence"].to_numpy()
    for variant, emb in embed(vocabulary, WORD_VARIANTS[embed.family]).items():
        units = metrics.unit(emb.values)  # once for all five tasks
        for task, frame in words.pairs.items():
            first = positions_of(index, frame["word1"])
            second = positions_of(index, frame["word2"])
            cosines = metrics.unit_pair_cosines(units, first, second).T  # [L, n]
            gold = frame["score"].to_numpy()
            series = ("word_similarity", key, variant, task)
            resampled = resamples.gold(task, gold)
            jobs.submit(series, correlation_series, cosines, gold, resampled, emb.layers)
        effects = valnorm_effects(emb, index, words)
        resampled = resamples.gold(VALNORM_TASK, valence, "pearson")
        series = ("word_similarity", key, variant, VALNORM_TASK)
        jobs.submit(series, valnorm_series, effects, valence, resampled, emb.layers)


def _sentence_jobs(
    jobs: _Jobs, resamples: _Resamples, key: str, embed, sentences: SentenceData
) -> None:
    """One model's series of STS and the two self-similarities, submitted to ``jobs``."""
    n = len(sentences.sentences)
    counts = stats.resample_counts(resamples.indices(SENTENCE_TASK, n), n)
    left, right = sentences.pair_positions()
    gold = resamples.gold(STS_TASK, sentences.gold)
    family = embed.family
    embedded = embed(sentences.sentences, SENTENCE_CHOICES[family])
    for variant in SENTENCE_VARIANTS[family]:
        emb = embedded[variant]
        cosines = metrics.unit_pair_cosines(metrics.unit(emb.values), left, right).T
        series = ("sts", key, variant, STS_TASK)
        jobs.submit(series, correlation_series, cosines, sentences.gold, gold, emb.layers)
        series = ("sentence_self_similarity", key, variant, SENTENCE_TASK)
        jobs.submit_large(series, self_similarity_series, emb.values, counts, emb.layers)
    for variant in CWE_FAMILY_VARIANTS[family]:
        series = ("cwe_self_similarity", key, variant, SENTENCE_TASK)
        jobs.submit_large(
            series,
            self_similarity_series,
            embedded[variant].values,
            counts,
            embedded[variant].layers,
        )
