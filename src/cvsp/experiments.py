"""The paper's four results, each a function returning a tidy table.

Every table has the columns of :data:`COLUMNS`: ``result`` (which result), ``model``
(``gpt2``/``clip``), ``variant`` (token choice), ``task`` (dataset), ``layer`` (``0``..``12``,
plus ``final_ln`` and ``projection`` for CLIP's EOS token), ``value``, ``n`` (how many
vectors, pairs or words the value rests on) and ``note``, empty unless ``value`` is NaN,
when it says why the value is undefined.

| function | result | chapter |
| --- | --- | --- |
| :func:`cwe_self_similarity` | ``cwe_self_similarity`` | ``01_cwe_anisotropy`` |
| :func:`word_similarity` | ``word_similarity`` | ``02_word_similarity`` |
| :func:`sts` | ``sts`` | ``03_sts`` |
| :func:`sentence_self_similarity` | ``sentence_self_similarity`` | ``04_sentence_self_similarity`` |
"""

from __future__ import annotations

import os

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cvsp import data, metrics
from cvsp.embeddings import N_LAYERS, Embedder, LayerEmbeddings, fits_clip
from cvsp.settings import Settings

COLUMNS: list[str] = ["result", "model", "variant", "task", "layer", "value", "n", "note"]
RESULTS: tuple[str, ...] = (
    "cwe_self_similarity", "word_similarity", "sts", "sentence_self_similarity",
)  # fmt: skip
CLIP_CONTEXT = 77

# Token choices of each result, by model family.
WORD_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_subtoken", "eos"),
    "clip": ("last_subtoken", "eos"),
    "bert": ("last_subtoken", "cls"),
}
SENTENCE_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_token", "eos", "mean", "mean_no_first"),
    "clip": ("eos", "mean"),
    "bert": ("cls", "mean"),
}
CWE_VARIANT = "random_token"  # the default draw: one of the sentence's own tokens
CWE_VARIANTS: tuple[str, ...] = (CWE_VARIANT, "random_token_no_first", "random_token_released")
CWE_FAMILY_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": CWE_VARIANTS,
    "clip": CWE_VARIANTS,
    "bert": (CWE_VARIANT,),  # the released code's rule exists for CLIP only; the default suffices here
}
CWE_CORPUS_SIZES: tuple[int, ...] = (250, 500, 1000, 2000)  # subsets of the corpus (chapter 5)
CWE_CORPUS_REPEATS = 5
SENTENCE_TASK = "sts_sentences"
STS_TASK = "stsb"
VALNORM_TASK = "valnorm"


@dataclass(frozen=True)
class SentenceData:
    """STS pairs and the sentence corpus, after CLIP's 77-token limit.

    Sentences longer than the limit (BOS and EOS included) are left out for both
    models, and so is every STS pair that contains one.
    """

    pairs: pd.DataFrame  # score, sentence1, sentence2 (kept pairs)
    sentences: list[str]  # unique STS sentences that fit, first-appearance order
    excluded_pairs: int
    excluded_sentences: int


@dataclass(frozen=True)
class WordData:
    """Word-pair tasks and the ValNorm lexicon."""

    pairs: Mapping[str, pd.DataFrame]  # task -> word1, word2, score
    lexicon: pd.DataFrame  # word, valence
    pleasant: tuple[str, ...] = data.PLEASANT
    unpleasant: tuple[str, ...] = data.UNPLEASANT

    def vocabulary(self) -> list[str]:
        """Every word the word-level results embed, sorted."""
        words = set(self.lexicon["word"]) | set(self.pleasant) | set(self.unpleasant)
        for frame in self.pairs.values():
            words |= set(frame["word1"]) | set(frame["word2"])
        return sorted(words)


def prepare_sentences(sts_table: pd.DataFrame, clip_tokenizer) -> SentenceData:
    """Apply CLIP's context limit to the STS table and build the sentence corpus."""
    corpus = data.unique_sentences(sts_table)
    fits = dict(zip(corpus, fits_clip(clip_tokenizer, corpus, CLIP_CONTEXT)))
    keep = sts_table["sentence1"].map(fits) & sts_table["sentence2"].map(fits)
    return SentenceData(
        pairs=sts_table[keep].reset_index(drop=True),
        sentences=[s for s in corpus if fits[s]],
        excluded_pairs=int((~keep).sum()),
        excluded_sentences=sum(not ok for ok in fits.values()),
    )


def load_word_data(settings: Settings) -> WordData:
    pairs = {task: data.load_word_pairs(task, settings) for task in data.WORD_PAIR_TASKS}
    return WordData(pairs, data.load_bellezza(settings))


def _rows(
    result: str, model: str, variant: str, task: str,
    layers: Sequence[str], values: np.ndarray, n: int, notes: Sequence[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {
            "result": result, "model": model, "variant": variant, "task": task,
            "layer": list(layers), "value": np.asarray(values, dtype=float), "n": n,
            "note": list(notes) if notes is not None else "",
        }  # fmt: skip
    )


def per_layer(score, n_layers: int) -> tuple[np.ndarray, list[str]]:
    """``score(layer)`` for every layer; where it is undefined, NaN and the reason.

    The one expected case: at layer 0 the EOS vector is the EOS token's embedding plus a
    position embedding, so texts of equal token length get identical vectors, and when
    every word of a task has the same length, every cosine is the same.
    """
    values, notes = [], []
    for layer in range(n_layers):
        try:
            values.append(score(layer))
            notes.append("")
        except metrics.MetricError as error:
            values.append(float("nan"))
            notes.append(f"undefined: {error}")
    return np.array(values), notes


def _table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _self_similarity(
    result: str, embedders: Mapping[str, Embedder], sentences: list[str],
    variants: Mapping[str, Sequence[str]],
) -> pd.DataFrame:  # fmt: skip
    frames = []
    for key, embed in embedders.items():
        chosen = variants[embed.family]
        for variant, emb in embed(sentences, chosen).items():
            values = metrics.self_similarity(emb.values)
            frames.append(_rows(result, key, variant, SENTENCE_TASK, emb.layers, values, len(sentences)))
    return _table(frames)


def cwe_self_similarity(embedders: Mapping[str, Embedder], sentences: SentenceData) -> pd.DataFrame:
    """Result 1: self-similarity of one random token per sentence, by layer.

    ``random_token`` (the sentence's own tokens) is the default draw; the two other rules
    of :data:`cvsp.embeddings.RANDOM_RULES` are measured beside it.
    """
    return _self_similarity("cwe_self_similarity", embedders, sentences.sentences, CWE_FAMILY_VARIANTS)


def sentence_self_similarity(
    embedders: Mapping[str, Embedder], sentences: SentenceData
) -> pd.DataFrame:
    """Result 4: self-similarity of sentence embeddings, by layer and token choice."""
    return _self_similarity(
        "sentence_self_similarity", embedders, sentences.sentences, SENTENCE_VARIANTS
    )


def _positions(index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    return np.array([index[item] for item in items], dtype=np.int64)


def _lookup(emb: LayerEmbeddings, index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    return emb.values[_positions(index, items)]


def word_similarity(embedders: Mapping[str, Embedder], words: WordData) -> pd.DataFrame:
    """Result 2: Spearman rho on the word-pair tasks and Pearson r on ValNorm, by layer."""
    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    valence = words.lexicon["valence"].to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(vocabulary, WORD_VARIANTS[embed.family]).items():
            for task, pairs in words.pairs.items():
                cosines = metrics.indexed_pair_cosines(
                    emb.values, _positions(index, pairs["word1"]), _positions(index, pairs["word2"])
                )
                human = pairs["score"].to_numpy()
                rho, notes = per_layer(
                    lambda layer: metrics.spearman(cosines[:, layer], human), len(emb.layers)
                )
                frames.append(
                    _rows("word_similarity", key, variant, task, emb.layers, rho, len(pairs), notes)
                )
            lexicon = _lookup(emb, index, words.lexicon["word"])
            pleasant = _lookup(emb, index, words.pleasant)
            unpleasant = _lookup(emb, index, words.unpleasant)
            r, notes = per_layer(
                lambda layer: metrics.pearson(
                    metrics.valnorm_effect_sizes(
                        lexicon[:, layer], pleasant[:, layer], unpleasant[:, layer]
                    ),
                    valence,
                ),
                len(emb.layers),
            )
            frames.append(
                _rows("word_similarity", key, variant, VALNORM_TASK, emb.layers, r, len(valence), notes)
            )
    return _table(frames)


def sts(embedders: Mapping[str, Embedder], sentences: SentenceData) -> pd.DataFrame:
    """Result 3: Spearman rho between sentence-pair cosines and STS-B gold scores."""
    index = {sentence: i for i, sentence in enumerate(sentences.sentences)}
    pairs = sentences.pairs
    gold = pairs["score"].to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, SENTENCE_VARIANTS[embed.family]).items():
            cosines = metrics.indexed_pair_cosines(
                emb.values, _positions(index, pairs["sentence1"]), _positions(index, pairs["sentence2"])
            )
            rho, notes = per_layer(
                lambda layer: metrics.spearman(cosines[:, layer], gold), len(emb.layers)
            )
            frames.append(_rows("sts", key, variant, STS_TASK, emb.layers, rho, len(pairs), notes))
    return _table(frames)


def run_all(
    embedders: Mapping[str, Embedder], words: WordData, sentences: SentenceData
) -> pd.DataFrame:
    """All four results in one table, in a fixed row order."""
    return _table(
        [
            cwe_self_similarity(embedders, sentences),
            word_similarity(embedders, words),
            sts(embedders, sentences),
            sentence_self_similarity(embedders, sentences),
        ]
    )


def cwe_corpus_size(
    embedders: Mapping[str, Embedder], sentences: SentenceData,
    sizes: Sequence[int] = CWE_CORPUS_SIZES, repeats: int = CWE_CORPUS_REPEATS, seed: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """CWE self-similarity on seeded random subsets of the sentence corpus, by layer.

    Columns ``model, size, repeat, layer, value``; the full corpus is one more size with
    one repeat. No forward pass beyond the cached ``random_token`` draw.
    """
    rng = np.random.default_rng(seed)
    n = len(sentences.sentences)
    subsets = [(size, r, rng.choice(n, size, replace=False)) for size in sizes if size < n for r in range(repeats)]
    subsets.append((n, 0, np.arange(n)))
    rows = []
    for key, embed in embedders.items():
        values = embed(sentences.sentences, [CWE_VARIANT])[CWE_VARIANT]
        for size, repeat, chosen in subsets:
            for layer, value in zip(values.layers, metrics.self_similarity(values.values[chosen])):
                rows.append((key, size, repeat, layer, float(value)))
    return pd.DataFrame(rows, columns=["model", "size", "repeat", "layer", "value"])


def cwe_over_seeds(
    embedders: Mapping[str, Embedder], sentences: SentenceData, seeds: Sequence[int] = tuple(range(5)),
    variant: str = CWE_VARIANT, chunk: int = 20,
) -> pd.DataFrame:  # fmt: skip
    """CWE self-similarity for several seeds of the token draw: ``model, seed, layer, value``.

    Up to ``chunk`` seeds of a model share one forward pass (see
    :meth:`cvsp.embeddings.Embedder.random_draws`), and each draw is cached.
    """
    rows = []
    for key, embed in embedders.items():
        for seed, emb in embed.random_draws(sentences.sentences, variant, seeds, chunk=chunk).items():
            for layer, value in zip(emb.layers, metrics.self_similarity(emb.values)):
                rows.append((key, seed, layer, float(value)))
    return pd.DataFrame(rows, columns=["model", "seed", "layer", "value"])


def seed_spread(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer, how the value moves over the seeds of :func:`cwe_over_seeds`:
    ``seeds`` (how many), ``mean``, ``sd`` (sample standard deviation), ``low``, ``high``
    (smallest and largest value) and ``range``."""
    grouped = by_seed.groupby(["model", "layer"], sort=False)["value"]
    table = grouped.agg(seeds="count", mean="mean", sd="std", low="min", high="max").reset_index()
    return table.assign(range=table["high"] - table["low"])


# ------------------------------------------------------------------------- uncertainty

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


def _replicates(
    embedders, words: WordData, sentences: SentenceData, boot, workers: int | None = None
) -> dict[tuple, Replicates]:
    """Replicates of every series: ``(result, model, variant, task) -> Replicates``.

    One set of resample indices per task (pairs, words or sentences), shared by both
    models and every layer and token choice: differences are paired. Series are
    computed on ``workers`` threads (numpy releases the GIL); each is independent of
    the others, so the result does not depend on the number of threads.
    """
    from cvsp import stats

    def indices(task: str, n: int) -> np.ndarray:
        return stats.resample_indices(n, boot.replicates, boot.seed_for(task))

    prepared: dict[str, tuple] = {}  # task -> gold resampled, once for every series of the task

    def resampled(task: str, gold: np.ndarray, method: str = "spearman") -> tuple:
        if task not in prepared:
            everything = np.arange(len(gold))[None]  # the full sample as one "replicate"
            prepared[task] = (stats.resample_gold(gold, everything, method),
                              stats.resample_gold(gold, indices(task, len(gold)), method))  # fmt: skip
        return prepared[task]

    def correlations(scores, gold, resamples, layers, method="spearman") -> Replicates:
        full, boot_gold = resamples
        point = stats.correlations(scores, full)[0]
        keep = (scores, gold) if method == "spearman" else (None, None)
        return Replicates(stats.correlations(scores, boot_gold), point, layers, *keep)

    def self_similarities(values, counts, layers) -> Replicates:
        units = metrics.unit(values)  # here, so that a waiting job holds the smaller array
        point = stats.weighted_self_similarity(units, np.ones((1, len(units))), np.float64)[0]
        return Replicates(stats.weighted_self_similarity(units, counts), point, layers)

    def valnorm(effects, valence, resamples, layers) -> Replicates:
        series = correlations(np.nan_to_num(effects), valence, resamples, layers, "pearson")
        undefined = np.isnan(effects).any(axis=1)
        series.values[:, undefined] = np.nan
        series.point[undefined] = np.nan
        return series

    threads = workers or min(4, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=threads)
    jobs: dict[tuple, Future] = {}
    waiting: deque[Future] = deque()  # self-similarity jobs, each holding a [n, L, d] array

    def submit_large(series: tuple, values: np.ndarray, layers) -> None:
        """Submit a self-similarity job once at most ``threads`` others wait or run, so
        that the arrays held for them stay few (each sentence variant is ~100 MB)."""
        while len(waiting) >= threads:
            waiting.popleft().result()
        jobs[series] = pool.submit(self_similarities, values, sentence_counts, layers)
        waiting.append(jobs[series])

    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    sentence_index = {s: i for i, s in enumerate(sentences.sentences)}
    n_sentences = len(sentences.sentences)
    sentence_counts = stats.resample_counts(indices(SENTENCE_TASK, n_sentences), n_sentences)
    pairs = sentences.pairs
    for key, embed in embedders.items():
        family = embed.family
        for variant, emb in embed(vocabulary, WORD_VARIANTS[family]).items():
            units = metrics.unit(emb.values)  # once for all five tasks
            for task, frame in words.pairs.items():
                cos = metrics.unit_pair_cosines(
                    units, _positions(index, frame["word1"]), _positions(index, frame["word2"])
                ).T  # [L, n]
                gold = frame["score"].to_numpy()
                jobs[("word_similarity", key, variant, task)] = pool.submit(
                    correlations, cos, gold, resampled(task, gold), emb.layers
                )
            lexicon = _lookup(emb, index, words.lexicon["word"])
            pleasant = _lookup(emb, index, words.pleasant)
            unpleasant = _lookup(emb, index, words.unpleasant)
            effects = []
            for layer in range(len(emb.layers)):
                try:
                    effects.append(metrics.valnorm_effect_sizes(lexicon[:, layer], pleasant[:, layer], unpleasant[:, layer]))
                except metrics.MetricError:
                    effects.append(np.full(len(lexicon), np.nan))
            effects = np.array(effects)
            valence = words.lexicon["valence"].to_numpy()
            jobs[("word_similarity", key, variant, VALNORM_TASK)] = pool.submit(
                valnorm, effects, valence, resampled(VALNORM_TASK, valence, "pearson"), emb.layers
            )
        for variant, emb in embed(sentences.sentences, SENTENCE_VARIANTS[family]).items():
            units = metrics.unit(emb.values)  # once for STS and the self-similarity
            cos = metrics.unit_pair_cosines(
                units, _positions(sentence_index, pairs["sentence1"]), _positions(sentence_index, pairs["sentence2"])
            ).T
            gold = pairs["score"].to_numpy()
            jobs[("sts", key, variant, STS_TASK)] = pool.submit(correlations, cos, gold, resampled(STS_TASK, gold), emb.layers)
            del units
            submit_large(("sentence_self_similarity", key, variant, SENTENCE_TASK), emb.values, emb.layers)
        for variant, emb in embed(sentences.sentences, CWE_FAMILY_VARIANTS[family]).items():
            submit_large(("cwe_self_similarity", key, variant, SENTENCE_TASK), emb.values, emb.layers)
    try:
        return {series: job.result() for series, job in jobs.items()}
    finally:
        pool.shutdown(cancel_futures=True)


def uncertainty(
    embedders, words: WordData, sentences: SentenceData, boot, workers: int | None = None
) -> tuple[pd.DataFrame, ...]:
    """Bootstrap intervals of the series, the paired CLIP − GPT-2 differences, the claims.

    Returns ``(intervals, differences, claims)``: ``intervals`` has ``result, model, variant,
    task, layer, ci_low, ci_high``; ``differences`` one row per compared pair of token
    choices and layer (and ``best`` for the best layer 0-12, chosen inside each
    replicate): ``difference``, ``ci_low``, ``ci_high``, and for correlations Williams'
    ``t`` and ``p`` (on ranks for Spearman); ``claims`` the interval of our number for
    each claim of :mod:`cvsp.paper`.
    """
    from cvsp import stats

    reps = _replicates(embedders, words, sentences, boot, workers)
    intervals = _interval_table(reps, boot)
    diffs = _paired_differences(reps, "clip", "gpt2", COMPARED, boot)
    differences = pd.DataFrame(diffs, columns=[
        "result", "task", "clip_variant", "gpt2_variant", "layer", "difference", "ci_low", "ci_high", "t", "p",
    ])  # fmt: skip
    return intervals, differences, _claim_intervals(reps, boot)


def _interval_table(reps: dict[tuple, Replicates], boot) -> pd.DataFrame:
    """``result, model, variant, task, layer, ci_low, ci_high`` of every series."""
    from cvsp import stats

    rows = []
    for (result, model, variant, task), r in reps.items():
        low, high = stats.percentile_interval(r.values, boot.level)
        rows += [(result, model, variant, task, layer, lo, hi) for layer, lo, hi in zip(r.layers, low, high)]
    return pd.DataFrame(rows, columns=["result", "model", "variant", "task", "layer", "ci_low", "ci_high"])


def _paired_differences(
    reps: dict[tuple, Replicates], model: str, base: str, compared: Mapping[str, Sequence[tuple[str, str]]], boot
) -> list[tuple]:
    """Rows ``(result, task, variant, base_variant, layer, difference, ci_low, ci_high, t, p)``
    of ``model − base`` for the token choices ``compared`` pairs, per layer 0-12 and for
    the best layer (chosen inside each replicate; correlations only)."""
    from cvsp import stats

    rows = []
    for (result, key, variant, task), ours in reps.items():
        if key != model:
            continue
        for wanted, base_variant in compared.get(result, ()):
            other = reps.get((result, base, base_variant, task))
            if wanted != variant or other is None:
                continue
            a, b = ours.values[:, :N_LAYERS], other.values[:, :N_LAYERS]
            point_a, point_b = ours.point[:N_LAYERS], other.point[:N_LAYERS]
            low, high = stats.percentile_interval(a - b, boot.level)
            for layer in range(N_LAYERS):
                t = p = float("nan")
                if ours.scores is not None and np.isfinite(point_a[layer] + point_b[layer]):
                    r23 = _spearman_or_nan(ours.scores[layer], other.scores[layer])
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


# The contrasts of the chapter "Images or contrast?": (model, base, compared token choices).
SAME_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "cwe_self_similarity": ((CWE_VARIANT, CWE_VARIANT),),
    "word_similarity": (("last_subtoken", "last_subtoken"), ("cls", "cls")),
    "sts": (("cls", "cls"), ("mean", "mean")),
    "sentence_self_similarity": (("cls", "cls"), ("mean", "mean")),
}
CONTRASTS: tuple[tuple[str, str, Mapping[str, Sequence[tuple[str, str]]]], ...] = (
    ("clip", "gpt2", COMPARED),  # images and contrast (and data, size, tokenizer)
    ("simcse_unsup", "bert", SAME_CHOICES),  # contrast alone, on text (dropout noise)
    ("simcse_sup", "bert", SAME_CHOICES),  # contrast alone, on text (NLI pairs)
)
CONTRAST_COLUMNS: list[str] = [
    "result", "task", "model", "base", "variant", "base_variant", "layer", "difference", "ci_low", "ci_high", "t", "p",
]  # fmt: skip


def contrasts(
    embedders, words: WordData, sentences: SentenceData, boot, workers: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Intervals of every series and the paired differences of each contrast of
    :data:`CONTRASTS` whose two models are among ``embedders``: ``(intervals, contrasts)``.

    ``contrasts`` has :data:`CONTRAST_COLUMNS`; all pairs share one set of resample
    indices per task, so every difference is paired.
    """
    from cvsp import stats

    reps = _replicates(embedders, words, sentences, boot, workers)
    intervals = _interval_table(reps, boot)
    diffs = [(result, task, model, base, *rest)
             for model, base, compared in CONTRASTS if model in embedders and base in embedders
             for result, task, *rest in _paired_differences(reps, model, base, compared, boot)]  # fmt: skip
    return intervals, pd.DataFrame(diffs, columns=CONTRAST_COLUMNS)


def _claim_intervals(reps: dict[tuple, Replicates], boot) -> pd.DataFrame:
    """Interval of our number for each claim of :mod:`cvsp.paper`, the best (or worst)
    layer and token choice re-selected inside each replicate."""
    from cvsp import paper, stats

    rows = []
    for claim in paper.REPORTED:
        columns = []
        for variant in claim.variants:
            r = reps.get((claim.result, claim.model, variant, claim.task))
            if r is not None:
                columns += [r.values[:, r.layers.index(layer)] for layer in claim.layers if layer in r.layers]
        if not columns:
            rows.append((claim.text, np.nan, np.nan))
            continue
        stacked = np.stack(columns, axis=1)
        reduced = stacked[:, 0] if claim.statistic == "value" else stats.best_replicates(stacked, claim.statistic)
        low, high = stats.percentile_interval(reduced[:, None], boot.level)
        rows.append((claim.text, low[0], high[0]))
    return pd.DataFrame(rows, columns=["claim", "ci_low", "ci_high"])



def _spearman_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    try:
        return metrics.spearman(a, b)
    except metrics.MetricError:
        return float("nan")


# --------------------------------------------------------------------------- geometry
# The chapter "The geometry behind the numbers": every measure reads the cached
# embeddings; only the shuffled sentences need new forward passes.

GEOMETRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_token", "eos", "mean"), "clip": ("eos", "mean"), "bert": ("cls", "mean"),
}  # fmt: skip
SENTENCE_TOKEN: dict[str, str] = {"gpt2": "eos", "clip": "eos", "bert": "cls"}  # the token that stands for a sentence
ABTT_D: dict[str, int] = {"gpt2": 8, "clip": 5}  # about d/100: 768 and 512 dimensions
POSTPROCESSING = ("none", "centring", "z-scoring", "all-but-the-top", "whitening")


def _fit(transform: str, family: str, eigh=None):
    """``x -> Transform`` for a post-processing name (``none``: no function); ``eigh``
    (:func:`cvsp.geometry.covariance_eigh` of the same ``x``) is reused when given."""
    from cvsp import geometry

    return {
        "none": None,
        "centring": geometry.fit_center,
        "z-scoring": geometry.fit_zscore,
        "all-but-the-top": lambda x: geometry.fit_all_but_the_top(x, ABTT_D[family], eigh),
        "whitening": lambda x: geometry.fit_whitening(x, eigh=eigh),
    }[transform]


@dataclass
class Postprocessed:
    """An embedder whose vectors (layers 0-12) pass through a per-layer transform.

    The transform of each layer is fitted on ``reference(variant)``, vectors of unlabelled
    texts (e.g. the STS sentences, or CWEs for the word tasks), and applied to whatever
    the chapter embeds. With ``folds`` (one fold label per reference text, and the same
    texts embedded) each text is transformed by the map fitted on the other fold: a
    2-fold cross-fit that keeps a text's own vector out of its transform.

    Fitted maps (and the eigendecompositions behind all-but-the-top and whitening) are
    kept in ``maps`` under ``name`` (which embedder and reference texts), so every map is
    fitted once however many results use it; pass one dict to several objects to share
    them. ``shared_reference``: the reference is the same for every token choice (the
    CWEs of the word tasks), so one map per layer serves them all.
    """

    embed: Embedder
    transform: str
    reference: Callable[[str], LayerEmbeddings]
    folds: np.ndarray | None = None
    name: str = ""
    shared_reference: bool = False
    maps: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.embed.family

    def _map(self, variant: str, layer: int, fold, fitting: Callable[[], np.ndarray]):
        from cvsp import geometry

        reference = "*" if self.shared_reference else variant
        key = (self.name, reference, self.transform, layer, fold)
        if key not in self.maps:
            vectors = fitting()
            eigh = None
            if self.transform in ("all-but-the-top", "whitening"):
                eigh_key = (self.name, reference, "eigh", layer, fold)
                if eigh_key not in self.maps:
                    self.maps[eigh_key] = geometry.covariance_eigh(vectors)
                eigh = self.maps[eigh_key]
            self.maps[key] = _fit(self.transform, self.family, eigh)(vectors)
        return self.maps[key]

    def __call__(self, texts: Sequence[str], variants: Sequence[str]) -> dict[str, LayerEmbeddings]:
        n_hidden = N_LAYERS
        out = {}
        for variant, emb in self.embed(texts, variants).items():
            values = emb.values[:, :n_hidden]
            if self.transform != "none":
                loaded: list[np.ndarray] = []

                def fitting_layer(layer: int, mine: np.ndarray | None = None) -> np.ndarray:
                    if not loaded:  # the reference vectors, read only if a map must be fitted
                        loaded.append(self.reference(variant).values[:, :n_hidden])
                    rows = loaded[0][:, layer]
                    return rows if mine is None else rows[~mine]

                moved = np.empty(values.shape, dtype=np.float64)
                for layer in range(n_hidden):
                    if self.folds is None:
                        moved[:, layer] = self._map(variant, layer, None, lambda: fitting_layer(layer))(values[:, layer])
                        continue
                    if len(self.folds) != len(values):
                        raise ValueError("A cross-fit transforms the very texts it is fitted on.")
                    for fold in np.unique(self.folds):
                        mine = self.folds == fold
                        fitted = self._map(variant, layer, int(fold), lambda: fitting_layer(layer, mine))
                        moved[mine, layer] = fitted(values[mine, layer])
                values = moved
            out[variant] = LayerEmbeddings(values, emb.layers[:n_hidden])
        return out


def _only(embed: Embedder, variants: Sequence[str]):
    """``embed`` restricted to some token choices (for the tables of one chapter)."""

    def call(texts, wanted):
        return embed(texts, [v for v in wanted if v in variants])

    call.family = embed.family  # type: ignore[attr-defined]
    return call


def postprocessed(
    embedders: Mapping[str, Embedder], words: WordData, sentences: SentenceData,
    transforms: Sequence[str] = POSTPROCESSING, cross_fit: bool = False, seed: int = 0,
    maps: dict | None = None,
) -> pd.DataFrame:  # fmt: skip
    """STS, sentence self-similarity and the word tasks after each post-processing.

    Sentence vectors are transformed with maps fitted on the vectors of the same token
    choice for all unique STS sentences; word vectors with maps fitted on the CWEs of the
    sentences (``random_token``), since RG65 has fewer words than dimensions.
    ``cross_fit``: STS and sentence self-similarity of the EOS tokens only, each half of
    the sentences (seeded) transformed by the maps fitted on the other half. ``maps``
    shares fitted maps between calls. Columns: those of the results plus ``transform``.
    """
    maps = {} if maps is None else maps
    folds = np.random.default_rng(seed).permutation(len(sentences.sentences)) % 2 if cross_fit else None
    frames = []
    for transform in transforms:
        sentence_side, word_side = {}, {}
        for key, embed in embedders.items():
            chosen = _only(embed, ("eos",) if cross_fit else GEOMETRY_VARIANTS[embed.family])
            sentence_side[key] = Postprocessed(
                chosen, transform, lambda v, e=embed: e(sentences.sentences, [v])[v], folds,
                name=f"{key} sentences", maps=maps,
            )  # fmt: skip
            word_side[key] = Postprocessed(
                embed, transform, lambda v, e=embed: e(sentences.sentences, [CWE_VARIANT])[CWE_VARIANT],
                name=f"{key} CWEs", shared_reference=True, maps=maps,
            )  # fmt: skip
        tables = [sts(sentence_side, sentences), sentence_self_similarity(sentence_side, sentences)]
        if not cross_fit:
            tables.append(word_similarity(word_side, words))
        frames.append(pd.concat(tables, ignore_index=True).assign(transform=transform))
    return pd.concat(frames, ignore_index=True)


def abtt_sweep(
    embedders: Mapping[str, Embedder], sentences: SentenceData, layer: str = "12",
    dimensions: Sequence[int] = tuple(range(0, 21)),
) -> pd.DataFrame:  # fmt: skip
    """STS Spearman rho after all-but-the-top with D = 0 (centring) .. 20, at one layer,
    for each model's EOS token: ``model, D, value``."""
    from cvsp import geometry

    index = {s: i for i, s in enumerate(sentences.sentences)}
    left, right = _positions(index, sentences.pairs["sentence1"]), _positions(index, sentences.pairs["sentence2"])
    gold = sentences.pairs["score"].to_numpy()
    rows = []
    for key, embed in embedders.items():
        vectors = embed(sentences.sentences, ["eos"])["eos"].layer(layer)
        eigh = geometry.covariance_eigh(vectors)  # one decomposition for every D
        for D in dimensions:
            moved = geometry.fit_all_but_the_top(vectors, D, eigh).apply(vectors)
            rows.append((key, D, metrics.spearman(metrics.indexed_pair_cosines(moved, left, right), gold)))
    return pd.DataFrame(rows, columns=["model", "D", "value"])


def rogue_dimensions(embedders: Mapping[str, Embedder], sentences: SentenceData) -> pd.DataFrame:
    """Per model, token choice (CWEs and sentence vectors: EOS, or an encoder's CLS) and layer 0-12: the
    self-similarity and the shares of its top-1 and top-3 dimensions."""
    from cvsp import geometry

    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, [CWE_VARIANT, SENTENCE_TOKEN[embed.family]]).items():
            shares = geometry.rogue_shares(emb.values[:, :N_LAYERS])
            frames.append(shares.reset_index().assign(model=key, variant=variant, layer=lambda f: f["layer"].astype(str)))
    table = pd.concat(frames, ignore_index=True)
    first = ["model", "variant", "layer"]
    return table[first + [c for c in table.columns if c not in first]]


def alignment_uniformity(
    embedders: Mapping[str, Embedder], sentences: SentenceData, threshold: float = 4.0, strict: bool = True,
    uniform: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """Alignment over STS pairs with gold above ``threshold`` (``strict=False``: at least)
    and uniformity over the unique sentences, per model, token choice and layer 0-12.

    ``uniform=False`` leaves the uniformity out (NaN): it does not depend on the positive
    pairs and costs far more than the alignment, so another threshold needs only this."""
    from cvsp import geometry

    index = {s: i for i, s in enumerate(sentences.sentences)}
    pairs = sentences.pairs
    close = pairs[pairs["score"] > threshold] if strict else pairs[pairs["score"] >= threshold]
    left, right = _positions(index, close["sentence1"]), _positions(index, close["sentence2"])
    rows = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, GEOMETRY_VARIANTS[embed.family]).items():
            hidden = emb.values[:, :N_LAYERS]
            aligned = geometry.alignment(hidden[left], hidden[right])
            spread = geometry.uniformity(hidden) if uniform else np.full(len(aligned), np.nan)
            rows += [(key, variant, layer, float(a), float(u), len(close))
                     for layer, a, u in zip(emb.layers[:N_LAYERS], aligned, spread)]  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "variant", "layer", "alignment", "uniformity", "pairs"])


def lexical_overlap(embedders: Mapping[str, Embedder], sentences: SentenceData) -> tuple[float, pd.DataFrame]:
    """How much of STS is word overlap: Spearman of the pairs' word-set Jaccard overlap
    with gold, and per model, token choice and layer 0-12 Spearman's rho with gold
    (``rho``) and the partial rho controlling for the overlap (``partial``)."""
    from cvsp import geometry

    pairs = sentences.pairs
    overlap = np.array([geometry.jaccard(a, b) for a, b in zip(pairs["sentence1"], pairs["sentence2"])])
    gold = pairs["score"].to_numpy()
    index = {s: i for i, s in enumerate(sentences.sentences)}
    left, right = _positions(index, pairs["sentence1"]), _positions(index, pairs["sentence2"])
    rows = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, GEOMETRY_VARIANTS[embed.family]).items():
            cosines = metrics.indexed_pair_cosines(emb.values[:, :N_LAYERS], left, right)
            for layer in range(N_LAYERS):
                try:
                    rho = metrics.spearman(cosines[:, layer], gold)
                    partial = geometry.partial_spearman(cosines[:, layer], gold, overlap)
                except metrics.MetricError:
                    rho = partial = float("nan")
                rows.append((key, variant, str(layer), rho, partial))
    return metrics.spearman(overlap, gold), pd.DataFrame(rows, columns=["model", "variant", "layer", "rho", "partial"])


def shuffled_similarity(
    embedders: Mapping[str, Embedder], sentences: SentenceData, clip_tokenizer,
    sample: int = 500, shuffles: int = 3, seed: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """Mean cosine between a sentence and its word-shuffled copies, per model, token
    choice and layer 0-12, over a seeded ``sample`` of the sentences with at least two
    words and ``shuffles`` shuffles each (a bag-of-words encoder gives 1)."""
    from cvsp import geometry

    rng = np.random.default_rng(seed)
    candidates = [s for s in sentences.sentences if len(s.split()) > 1]
    chosen = [candidates[i] for i in sorted(rng.choice(len(candidates), min(sample, len(candidates)), replace=False))]
    originals, shuffled = [], []
    for sentence in chosen:
        for _ in range(shuffles):
            copy = geometry.shuffle_words(sentence, rng)
            originals.append(sentence)
            shuffled.append(copy)
    keep = fits_clip(clip_tokenizer, shuffled)
    originals = [s for s, ok in zip(originals, keep) if ok]
    shuffled = [s for s, ok in zip(shuffled, keep) if ok]
    index = {s: i for i, s in enumerate(sentences.sentences)}
    rows = []
    for key, embed in embedders.items():
        variants = GEOMETRY_VARIANTS[embed.family]
        base = embed(sentences.sentences, variants)
        moved = embed(shuffled, variants)
        for variant in variants:
            a = base[variant].values[_positions(index, originals), :N_LAYERS]
            b = moved[variant].values[:, :N_LAYERS]
            cosines = metrics.pair_cosines(a, b)
            rows += [(key, variant, str(layer), float(cosines[:, layer].mean()), len(shuffled)) for layer in range(N_LAYERS)]
    return pd.DataFrame(rows, columns=["model", "variant", "layer", "value", "pairs"])


def postprocessed_sts_intervals(
    embedders: Mapping[str, Embedder], sentences: SentenceData, boot, transforms: Sequence[str] = POSTPROCESSING,
    maps: dict | None = None,
) -> pd.DataFrame:  # fmt: skip
    """STS rho of each model's EOS token at its best layer 0-12 after each post-processing,
    with the 95 % bootstrap interval (best layer re-chosen in every resample; the resamples
    of :func:`uncertainty` for STS): ``model, transform, layer, value, ci_low, ci_high``.
    ``maps``: the fitted maps of :func:`postprocessed`, to reuse them."""
    from cvsp import stats

    index = {s: i for i, s in enumerate(sentences.sentences)}
    left = _positions(index, sentences.pairs["sentence1"])
    right = _positions(index, sentences.pairs["sentence2"])
    gold = sentences.pairs["score"].to_numpy()
    indices = stats.resample_indices(len(gold), boot.replicates, boot.seed_for(STS_TASK))
    rows = []
    maps = {} if maps is None else maps
    for key, embed in embedders.items():
        for transform in transforms:
            wrapped = Postprocessed(embed, transform, lambda v, e=embed: e(sentences.sentences, [v])[v],
                                    name=f"{key} sentences", maps=maps)  # fmt: skip
            emb = wrapped(sentences.sentences, ["eos"])["eos"]
            cosines = metrics.indexed_pair_cosines(emb.values, left, right).T  # [13, n]
            point = stats.correlation_replicates(cosines, gold, np.arange(len(gold))[None])[0]
            replicates = stats.correlation_replicates(cosines, gold, indices)
            low, high = stats.percentile_interval(stats.best_replicates(replicates)[:, None], boot.level)
            best = int(np.nanargmax(point))
            rows.append((key, transform, emb.layers[best], float(point[best]), float(low[0]), float(high[0])))
    return pd.DataFrame(rows, columns=["model", "transform", "layer", "value", "ci_low", "ci_high"])


def anchor_scores(embedders: Mapping[str, Embedder], sentences: SentenceData, boot) -> pd.DataFrame:
    """Our STS-B score for each published anchor of :data:`cvsp.paper.ANCHORS` whose model
    runs here, read as the publication reads it, with its 95 % bootstrap interval (the
    resamples of :func:`uncertainty` for STS): ``model, readout, published, ours, ci_low,
    ci_high, n, source``."""
    from cvsp import paper, stats

    index = {s: i for i, s in enumerate(sentences.sentences)}
    pairs = sentences.pairs
    left, right = _positions(index, pairs["sentence1"]), _positions(index, pairs["sentence2"])
    gold = pairs["score"].to_numpy()
    resamples = stats.resample_indices(len(gold), boot.replicates, boot.seed_for(STS_TASK))
    rows = []
    for anchor in paper.ANCHORS:
        if anchor.model not in embedders:
            continue
        emb = embedders[anchor.model](sentences.sentences, [anchor.variant])[anchor.variant]
        vectors = np.mean([emb.layer(layer) for layer in anchor.layers], axis=0)
        cosines = metrics.indexed_pair_cosines(vectors, left, right)
        low, high = stats.percentile_interval(stats.correlation_replicates(cosines, gold, resamples), boot.level)
        rows.append((anchor.model, anchor.readout, anchor.value, metrics.spearman(cosines, gold),
                     float(low[0]), float(high[0]), len(gold), anchor.source))  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "readout", "published", "ours", "ci_low", "ci_high", "n", "source"])
