"""Post-processing of the embeddings (chapter 6): centring, z-scoring, all-but-the-top and
whitening, fitted per layer on unlabelled texts and applied before a result is computed.

:class:`Postprocessed` wraps an embedder; :func:`postprocessed` recomputes STS, sentence
self-similarity and the word tasks after each transform, :func:`abtt_sweep` and
:func:`postprocessed_sts_intervals` follow STS. The transforms are :mod:`cvsp.geometry`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cvsp import geometry, metrics, stats
from cvsp.cache import texts_digest
from cvsp.cached import EmbedderLike, LayerEmbeddings
from cvsp.experiments.choices import CWE_VARIANT, GEOMETRY_VARIANTS
from cvsp.experiments.inputs import STS_TASK, SentenceData, WordData
from cvsp.experiments.results import sentence_self_similarity, sts, word_similarity
from cvsp.registry import hidden_count

ABTT_D: dict[str, int] = {"gpt2": 8, "clip": 5}  # about d/100: 768 and 512 dimensions
POSTPROCESSING = ("none", "centring", "z-scoring", "all-but-the-top", "whitening")


def fit_transform(transform: str, family: str, eigh=None):
    """``x -> Transform`` for a post-processing name (``none``: no function); ``eigh``
    (:func:`cvsp.geometry.covariance_eigh` of the same ``x``) is reused when given."""
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

    embed: EmbedderLike
    transform: str
    reference: Callable[[str], LayerEmbeddings]
    folds: np.ndarray | None = None
    name: str = ""
    shared_reference: bool = False
    maps: dict = field(default_factory=dict)
    # (texts, variant) -> the moved vectors: STS and self-similarity read the same sentences
    _moved: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def family(self) -> str:
        return self.embed.family

    @property
    def seed(self) -> int:
        return self.embed.seed

    @property
    def fingerprint(self) -> str:
        return f"{self.embed.fingerprint} {self.transform}"

    @property
    def blocks(self) -> int:
        return self.embed.blocks

    def layers(self, variant: str) -> tuple[str, ...]:
        return self.embed.layers(variant)[: hidden_count(self.embed.layers(variant))]

    def _map(self, variant: str, layer: int, fold, fitting: Callable[[], np.ndarray]):
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
            self.maps[key] = fit_transform(self.transform, self.family, eigh)(vectors)
        return self.maps[key]

    def __call__(self, texts: Sequence[str], variants: Sequence[str]) -> dict[str, LayerEmbeddings]:
        digest = texts_digest(texts)
        todo = [v for v in variants if (digest, v) not in self._moved]
        if todo:
            self._moved.update({(digest, v): emb for v, emb in self._move(texts, todo).items()})
        return {
            v: self._moved[(digest, v)] for v in variants if (digest, v) in self._moved
        }  # as embed gives them

    def _move(self, texts: Sequence[str], variants: Sequence[str]) -> dict[str, LayerEmbeddings]:
        out = {}
        for variant, emb in self.embed(texts, variants).items():
            n_hidden = hidden_count(
                emb.layers
            )  # the hidden states; the points after the top are left out
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
                        moved[:, layer] = self._map(
                            variant, layer, None, lambda: fitting_layer(layer)
                        )(values[:, layer])
                        continue
                    if len(self.folds) != len(values):
                        raise ValueError("A cross-fit transforms the very texts it is fitted on.")
                    for fold in np.unique(self.folds):
                        mine = self.folds == fold
                        fitted = self._map(
                            variant, layer, int(fold), lambda: fitting_layer(layer, mine)
                        )
                        moved[mine, layer] = fitted(values[mine, layer])
                values = moved
            out[variant] = LayerEmbeddings(values, emb.layers[:n_hidden])
        return out


def only_choices(embed: EmbedderLike, variants: Sequence[str]):
    """``embed`` restricted to some token choices (for the tables of one chapter)."""

    def call(texts, wanted):
        return embed(texts, [v for v in wanted if v in variants])

    call.family = embed.family  # type: ignore[attr-defined]
    return call


def _sides(embedders, sentences: SentenceData, transform: str, folds, maps: dict, cross_fit: bool):
    """Each model's embedder after ``transform``: for the sentences (maps fitted on the
    same token choice) and for the words (maps fitted on the sentences' CWEs)."""
    sentence_side, word_side = {}, {}
    for key, embed in embedders.items():
        chosen = only_choices(embed, ("eos",) if cross_fit else GEOMETRY_VARIANTS[embed.family])
        sentence_side[key] = Postprocessed(
            chosen,
            transform,
            lambda v, e=embed: e(sentences.sentences, [v])[v],
            folds,
            name=f"{key} sentences",
            maps=maps,
        )
        word_side[key] = Postprocessed(
            embed,
            transform,
            lambda v, e=embed: e(sentences.sentences, [CWE_VARIANT])[CWE_VARIANT],
            name=f"{key} CWEs",
            shared_reference=True,
            maps=maps,
        )
    return sentence_side, word_side


def postprocessed(
    embedders: Mapping[str, EmbedderLike],
    words: WordData,
    sentences: SentenceData,
    transforms: Sequence[str] = POSTPROCESSING,
    cross_fit: bool = False,
    seed: int = 0,
    maps: dict | None = None,
) -> pd.DataFrame:
    """STS, sentence self-similarity and the word tasks after each post-processing.

    Sentence vectors are transformed with maps fitted on the vectors of the same token
    choice for all unique STS sentences; word vectors with maps fitted on the CWEs of the
    sentences (``random_token``), since RG65 has fewer words than dimensions.
    ``cross_fit``: STS and sentence self-similarity of the EOS tokens only, each half of
    the sentences (seeded) transformed by the maps fitted on the other half. ``maps``
    shares fitted maps between calls on the same inputs; without ``cross_fit`` it also
    receives the EOS pair cosines that :func:`postprocessed_sts_intervals` resamples.
    Columns: those of the results plus ``transform``.
    """
    maps = {} if maps is None else maps
    folds = (
        np.random.default_rng(seed).permutation(len(sentences.sentences)) % 2 if cross_fit else None
    )
    inputs = _sentences_digest(sentences)
    frames = []
    for transform in transforms:
        cosines: dict = {}
        sentence_side, word_side = _sides(embedders, sentences, transform, folds, maps, cross_fit)
        tables = [
            sts(sentence_side, sentences, cosines),
            sentence_self_similarity(sentence_side, sentences),
        ]
        for side in sentence_side.values():
            side._moved.clear()  # float64 copies of every sentence vector: free them before the words
        if not cross_fit:
            maps.update(
                {
                    _eos_cosines_key(key, transform, inputs): c
                    for (key, v), c in cosines.items()
                    if v == "eos"
                }
            )
            tables.append(word_similarity(word_side, words))
        frames.append(pd.concat(tables, ignore_index=True).assign(transform=transform))
    return pd.concat(frames, ignore_index=True)


def _sentences_digest(sentences: SentenceData) -> str:
    """Digest of the sentences and their pairs: part of the key of the pair cosines in
    ``maps``, so that other inputs never read them."""
    left, right = sentences.pair_positions()
    digest = hashlib.sha256(texts_digest(sentences.sentences).encode())
    digest.update(np.asarray(left).tobytes() + np.asarray(right).tobytes())
    return digest.hexdigest()


def _eos_cosines_key(model: str, transform: str, inputs: str) -> tuple:
    """Where :func:`postprocessed` leaves a model's EOS pair cosines in ``maps`` (``inputs``:
    :func:`_sentences_digest`)."""
    return (f"{model} sentences", "eos", transform, "pair cosines", inputs)


def abtt_sweep(
    embedders: Mapping[str, EmbedderLike],
    sentences: SentenceData,
    layer: str = "12",
    dimensions: Sequence[int] = tuple(range(0, 21)),
) -> pd.DataFrame:
    """STS Spearman rho after all-but-the-top with D = 0 (centring) .. 20, at one layer,
    for each model's EOS token: ``model, D, value``."""
    left, right = sentences.pair_positions()
    gold = sentences.gold
    rows = []
    for key, embed in embedders.items():
        vectors = embed(sentences.sentences, ["eos"])["eos"].layer(layer)
        eigh = geometry.covariance_eigh(vectors)  # one decomposition for every D
        for D in dimensions:
            moved = geometry.fit_all_but_the_top(vectors, D, eigh).apply(vectors)
            rows.append(
                (key, D, metrics.spearman(metrics.indexed_pair_cosines(moved, left, right), gold))
            )
    return pd.DataFrame(rows, columns=["model", "D", "value"])


def postprocessed_sts_intervals(
    embedders: Mapping[str, EmbedderLike],
    sentences: SentenceData,
    boot,
    transforms: Sequence[str] = POSTPROCESSING,
    maps: dict | None = None,
) -> pd.DataFrame:
    """STS rho of each model's EOS token at its best layer 0-12 after each post-processing,
    with the 95 % bootstrap interval (best layer re-chosen in every resample; the resamples
    of :func:`cvsp.experiments.uncertainty` for STS): ``model, transform, layer, value, ci_low, ci_high``.
    ``maps``: those of :func:`postprocessed` on the same inputs, to reuse its fitted maps and
    the pair cosines it computed (then no vector is moved again)."""
    left, right = sentences.pair_positions()
    gold = sentences.gold
    indices = stats.resample_indices(len(gold), boot.replicates, boot.seed_for(STS_TASK))
    rows = []
    maps = {} if maps is None else maps
    inputs = _sentences_digest(sentences)
    for key, embed in embedders.items():
        for transform in transforms:
            computed = maps.get(_eos_cosines_key(key, transform, inputs))
            if computed is None:
                wrapped = Postprocessed(
                    embed,
                    transform,
                    lambda v, e=embed: e(sentences.sentences, [v])[v],
                    name=f"{key} sentences",
                    maps=maps,
                )
                emb = wrapped(sentences.sentences, ["eos"])["eos"]
                computed = emb.layers, metrics.indexed_pair_cosines(emb.values, left, right)
            layers, cosines = computed[0], computed[1].T  # [13, n]
            point = stats.correlation_replicates(cosines, gold, np.arange(len(gold))[None])[0]
            replicates = stats.correlation_replicates(cosines, gold, indices)
            low, high = stats.percentile_interval(
                stats.best_replicates(replicates)[:, None], boot.level
            )
            best = int(np.nanargmax(point))
            rows.append(
                (key, transform, layers[best], float(point[best]), float(low[0]), float(high[0]))
            )
    return pd.DataFrame(rows, columns=["model", "transform", "layer", "value", "ci_low", "ci_high"])
