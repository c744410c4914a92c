"""Embeddings read from the cache when they were computed before: what every chapter uses.

:class:`CachedEmbedder` answers ``embedder(texts, variants)`` with one
:class:`LayerEmbeddings` per token choice. It stores in a :class:`cvsp.cache.Store` what
a call asked for, for a list of texts run whole, under :meth:`CachedEmbedder.key`; a
list made mostly of texts it returned before (chapter 5's released reader and stripped
sentences are mostly the corpus's sentences again) runs only its new texts and is
assembled on each call, not stored (:class:`Returned`). Draws of the random token for
seeds other than the embedder's go to a scratch store, for the page that drew them.

The forward passes are :class:`cvsp.embeddings.Embedder`'s; this module needs only what
:class:`Forward` names, so it imports no torch. :class:`EmbedderLike` is what the
experiments depend on: a :class:`CachedEmbedder`, a post-processed view of one
(:mod:`cvsp.experiments.postprocessing`) and the tests' fakes all satisfy it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from cvsp import cache
from cvsp.cache import Store, texts_digest
from cvsp.tokens import RANDOM_RULES, VARIANTS, EmbeddingError, Encoded, check_texts

if TYPE_CHECKING:  # the facts' type only: facts imports this module's key function
    from cvsp.facts import Described

CACHE_FORMAT = 1  # raised when the way vectors are read changes: every embedding is run again
KIND = "embeddings"


@dataclass(frozen=True)
class LayerEmbeddings:
    """``values[i, l]`` is the vector of text ``i`` at layer ``layers[l]``."""

    values: np.ndarray  # [n_texts, n_layers, dim], float32
    layers: tuple[str, ...]

    def layer(self, name: str | int) -> np.ndarray:
        return self.values[:, self.layers.index(str(name))]


class ModelFacts(Protocol):
    """What an embedder says of the model it stands for."""

    @property
    def family(self) -> str: ...

    @property
    def seed(self) -> int: ...  # of the random token's draw

    @property
    def fingerprint(self) -> str: ...  # the weights', for cache keys

    @property
    def blocks(self) -> int: ...

    def layers(self, variant: str) -> tuple[str, ...]: ...


class EmbedderLike(ModelFacts, Protocol):
    """What the experiments ask of an embedder: the model it stands for and its vectors."""

    def __call__(
        self, texts: Sequence[str], variants: Sequence[str]
    ) -> dict[str, LayerEmbeddings]: ...


class Forward(ModelFacts, Protocol):
    """What :class:`CachedEmbedder` asks of the forward passes (:class:`cvsp.embeddings.Embedder`)."""

    @property
    def label(self) -> str: ...

    @property
    def facts(self) -> Described: ...

    @property
    def width(self) -> int: ...

    @property
    def forward_passes(self) -> int: ...

    def encode(self, texts: Sequence[str], form: str) -> list[Encoded]: ...

    def positions(
        self, encoded: Sequence[Encoded], selector: str, seed: int | None = None
    ) -> np.ndarray: ...

    def run(
        self,
        encoded: Sequence[Encoded],
        selectors: Sequence[str],
        description: str = "",
        positions: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]: ...


def embedding_key(
    model: ModelFacts, texts: Sequence[str], variant: str, seed: int | None = None
) -> str:
    """The cache key of ``variant``'s vectors of ``texts`` by ``model`` (a random draw's with
    ``seed``, by default the model's): the key of what is computed from them, too."""
    form, selector = VARIANTS[model.family][variant]
    return _key(model, form, selector, texts_digest(texts), seed)


def _key(model: ModelFacts, form: str, selector: str, digest: str, seed: int | None) -> str:
    drawn = (model.seed if seed is None else seed) if selector in RANDOM_RULES else None
    return cache.key(
        format=CACHE_FORMAT,
        model=model.fingerprint,
        form=form,
        selector=selector,
        seed=drawn,
        texts=digest,
    )


@dataclass
class CachedEmbedder:
    """An :class:`EmbedderLike` over ``forward``'s passes and ``store`` (None: keep nothing)."""

    forward: Forward
    store: Store | None = None

    def __post_init__(self) -> None:
        self._returned = Returned(self)  # the lists returned so far, for row reuse
        self._scratch: Store | None = None  # made on first use (:meth:`scratch`)
        if self.store is not None:  # a build bundles the facts of the models it ran
            self.store.note({"model": asdict(self.forward.facts)})

    @property
    def family(self) -> str:
        return self.forward.family

    @property
    def seed(self) -> int:
        return self.forward.seed

    @property
    def fingerprint(self) -> str:
        return self.forward.fingerprint

    @property
    def blocks(self) -> int:
        return self.forward.blocks

    @property
    def forward_passes(self) -> int:
        """Texts run through the model so far, for tests and benchmarks."""
        return self.forward.forward_passes

    def layers(self, variant: str) -> tuple[str, ...]:
        return self.forward.layers(variant)

    def key(self, texts: Sequence[str], variant: str, seed: int | None = None) -> str:
        """The cache key of ``variant``'s vectors of ``texts`` (a random draw's with ``seed``,
        by default the embedder's): the key of what is computed from them, too."""
        return embedding_key(self, texts, variant, seed)

    def _key(self, form: str, selector: str, digest: str, seed: int | None = None) -> str:
        return _key(self, form, selector, digest, seed)

    def usable(self, array: np.ndarray | None, n: int, selector: str) -> bool:
        """Whether a stored array is the one a forward pass would give: ``n`` rows, every
        layer, the model's width, float32. Anything else is recomputed, never used."""
        if array is None:
            return False
        variant = next(
            v for v, (_, s) in VARIANTS[self.family].items() if s.partition("#")[0] == selector
        )
        shape = (n, len(self.layers(variant)), self.forward.width)
        return array.dtype == np.float32 and array.shape == shape

    def read(self, key: str) -> np.ndarray | None:
        return self.store.get_array(KIND, key) if self.store is not None else None

    def __call__(self, texts: Sequence[str], variants: Sequence[str]) -> dict[str, LayerEmbeddings]:
        """``variant -> LayerEmbeddings`` for the given texts."""
        table = VARIANTS[self.family]
        unknown = [v for v in variants if v not in table]
        if unknown:
            raise EmbeddingError(
                f"Unknown token choice(s) {unknown} for {self.forward.label}; "
                f"choose from {sorted(table)}."
            )
        check_texts(texts)
        found: dict[tuple[str, str], np.ndarray] = {}
        for form in sorted({table[v][0] for v in variants}):
            wanted = sorted({table[v][1] for v in variants if table[v][0] == form})
            found |= {(form, s): array for s, array in self._form(texts, form, wanted).items()}
        return {v: LayerEmbeddings(found[table[v]], self.layers(v)) for v in variants}

    def _form(
        self, texts: Sequence[str], form: str, wanted: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """The ``wanted`` selectors' vectors of one input form: stored, shared with lists
        returned before, or from one pass over the whole list (then stored)."""
        selectors = sorted({s for f, s in VARIANTS[self.family].values() if f == form})
        digest = texts_digest(texts)
        keys = {s: self._key(form, s, digest) for s in selectors}
        found = {s: self.read(keys[s]) for s in wanted}
        missing = [s for s in wanted if not self.usable(found[s], len(texts), s)]
        assembled = None
        if missing:
            encoded = self.forward.encode(texts, form)
            assembled = self._returned.assemble(form, missing, selectors, texts, encoded)
            if assembled is None:  # nothing shared with an earlier list: one pass, stored
                fresh = self.forward.run(encoded, missing, f"{self.forward.label} {form}")
                if self.store is not None:
                    for s, array in fresh.items():
                        self.store.put_array(KIND, keys[s], array)
            found |= fresh if assembled is None else assembled
        if self.store is not None:  # the lists the store holds, for later lists to share
            for s in set(wanted) - set(assembled or ()):
                self._returned.remember((form, s), texts, keys[s])
        return found

    def random_draws(
        self, texts: Sequence[str], variant: str, seeds: Sequence[int], chunk: int = 5
    ) -> dict[int, LayerEmbeddings]:
        """``seed -> LayerEmbeddings`` of a random-token variant for several seeds.

        Each missing seed is drawn in the same forward pass as up to ``chunk - 1`` others.
        The draw of the embedder's own seed is the variant's cache entry; the other seeds'
        draws are kept only in this embedder's scratch store, so the page that drew them
        reads them again without storing them for good.
        """
        form, selector = VARIANTS[self.family][variant]
        if selector not in RANDOM_RULES:
            raise EmbeddingError(f"{variant!r} is not a random-token variant.")
        check_texts(texts)
        digest = texts_digest(texts)
        stores = {seed: self.store if seed == self.seed else self.scratch() for seed in seeds}
        keys = {seed: self._key(form, selector, digest, seed) for seed in seeds}
        found = {s: stores[s].get_array(KIND, keys[s]) if stores[s] else None for s in seeds}
        missing = [seed for seed in seeds if not self.usable(found[seed], len(texts), selector)]
        for start in range(0, len(missing), chunk):
            group = missing[start : start + chunk]
            encoded = self.forward.encode(texts, form)
            names = [f"{selector}#{seed}" for seed in group]
            fresh = self.forward.run(encoded, names, f"{self.forward.label} {form} seeds {group}")
            for seed in group:
                found[seed] = fresh[f"{selector}#{seed}"]
                if stores[seed] is not None:
                    stores[seed].put_array(KIND, keys[seed], found[seed])
        layers = self.layers(variant)
        return {seed: LayerEmbeddings(found[seed], layers) for seed in seeds}

    def scratch(self) -> Store | None:
        """A store for arrays that need not outlive this embedder (made on first use,
        removed with the embedder or when the process ends); None without a store."""
        if self.store is None:
            return None
        if self._scratch is None:
            self._scratch = self.store.scratch(KIND)
        return self._scratch


class Returned:
    """The lists of texts a :class:`CachedEmbedder` returned, by input form and selector,
    so a later list made mostly of the same texts takes their vectors (row reuse).

    A shared text's vectors must be those a pass would give it in the new list: the same
    input form and token choice, and for a random draw the same drawn position. A list
    that shares less than half its texts runs whole, so a list that shares a few texts by
    chance is computed exactly as on its own. Vectors of a shared text come from the
    batch it was first run in, so they can differ from a pass of the new list in the last
    bits of float32 (padding changes the kernels).
    """

    def __init__(self, owner: CachedEmbedder) -> None:
        self.owner = owner
        # (form, selector) -> {texts: (cache key or array, drawn positions or None)}
        self.lists: dict[tuple[str, str], dict[tuple[str, ...], tuple]] = {}

    def remember(
        self,
        where: tuple[str, str],
        texts: Sequence[str],
        source: str | np.ndarray,
        positions: np.ndarray | None = None,
    ) -> None:
        """Note a list: its texts and its cache key (or array); for a random selector,
        ``positions`` where they are not the list's own draw."""
        self.lists.setdefault(where, {}).setdefault(tuple(texts), (source, positions))

    def shared(self, where: tuple[str, str], texts: Sequence[str], drawn: np.ndarray | None):
        """The vectors of ``texts`` found in lists returned before (for a random selector,
        at the same ``drawn`` position), or None, and a mask of the texts not found."""
        form, selector = where
        rows: dict[tuple, list[int]] = {}
        for i, text in enumerate(texts):
            rows.setdefault((text, None if drawn is None else int(drawn[i])), []).append(i)
        out, lacking = None, np.ones(len(texts), bool)
        known = self.lists.get(where, {})
        for earlier, (source, positions) in known.items():
            if drawn is not None and positions is None:  # that list's draw, computed once
                forward = self.owner.forward
                positions = forward.positions(forward.encode(earlier, form), selector)
                known[earlier] = (source, positions)
            at = {
                (t, None if positions is None else int(positions[r])): r
                for r, t in enumerate(earlier)
            }
            hits = [
                (i, at[k]) for k, mine in rows.items() if k in at and lacking[mine[0]] for i in mine
            ]
            if not hits:
                continue
            array = source if isinstance(source, np.ndarray) else self.owner.read(source)
            if not self.owner.usable(array, len(earlier), selector):
                continue
            if out is None:
                out = np.empty((len(texts), *array.shape[1:]), np.float32)
            mine, theirs = (np.array(side) for side in zip(*hits, strict=True))
            out[mine] = array[theirs]
            lacking[mine] = False
        return out, lacking

    def assemble(
        self,
        form: str,
        wanted: Sequence[str],
        selectors: Sequence[str],
        texts: Sequence[str],
        encoded: Sequence[Encoded],
    ) -> dict[str, np.ndarray] | None:
        """``wanted`` selectors' vectors of ``texts`` from earlier lists, with one pass over
        only the texts they lack; None when they lack more than half. The pass reads every
        selector of the form, and the vectors of the texts it ran are remembered for the
        next call that asks for another token choice."""
        forward = self.owner.forward
        drawn = {s: forward.positions(encoded, s) for s in selectors if s in RANDOM_RULES}
        found, lacking = {}, np.zeros(len(texts), bool)
        for s in wanted:
            found[s], missing = self.shared((form, s), texts, drawn.get(s))
            if found[s] is None:
                return None
            lacking |= missing
        if lacking.sum() * 2 > len(texts):
            return None
        todo = np.flatnonzero(lacking)
        if len(todo):
            label = f"{forward.label} {form} ({len(todo)} new texts)"
            subset = [encoded[i] for i in todo]
            extra = forward.run(subset, selectors, label, {s: p[todo] for s, p in drawn.items()})
            for s in wanted:
                found[s][todo] = extra[s]
            ran = [texts[i] for i in todo]
            for s in selectors:  # small: the texts just run
                self.remember((form, s), ran, extra[s], drawn[s][todo] if s in drawn else None)
        return found
