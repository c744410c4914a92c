"""A chapter's models and embedders, each loaded when a cell first needs what only it has.

A page whose values are all cached needs of its models only their facts
(:class:`cvsp.facts.Described`, read from their files by :mod:`cvsp.facts`), so
:class:`LazyModels` gives for each model a :class:`LazyModel` that answers ``spec`` and
names itself in cache keys without loading, and loads (for real weights, downloads) when
anything else is asked of it; its ``tokenizer`` waits the same way. :class:`LazyEmbedders`
gives a :class:`~cvsp.cached.CachedEmbedder` whose forward passes wait for the model.
A replayed chapter's models are its bundle's facts, and loading one says that it needs
compute mode (:func:`cvsp.cached.refuse`). No torch here: :mod:`cvsp.models` and
:mod:`cvsp.embeddings` are imported when a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cvsp import facts
from cvsp.cache import Store
from cvsp.cached import CachedEmbedder, Forward
from cvsp.facts import Described
from cvsp.hub import resolve_all
from cvsp.registry import WEIGHTS_FILE, ModelSpec, spec_for
from cvsp.settings import Settings
from cvsp.tokens import Encoded

if TYPE_CHECKING:  # for the annotations only: models imports torch
    from cvsp.models import LoadedModel


class ComputeNeeded(RuntimeError):
    """A page asked for vectors or a model that only computing gives (a replayed page)."""


COMPUTE_NEEDED = (
    "This cell needs {what}, which a replayed chapter does not have: run it in compute "
    "mode (set REPLAY = None in the chapter's first cell, or CVSP_REPLAY=off; the session "
    "then prints what the models cost)."
)


def refuse(what: str) -> Callable[[], Forward]:
    """A loader for a replayed page's models: it says that only compute mode has them."""

    def load() -> Forward:
        raise ComputeNeeded(COMPUTE_NEEDED.format(what=what))

    return load


@dataclass
class Deferred:
    """A :class:`Forward` whose model is loaded (``load()``) at its first pass: until then
    ``facts`` answer for it, so a page whose values are all cached loads no model."""

    facts: Described
    label: str
    load: Callable[[], Forward]
    _loaded: Forward | None = field(default=None, init=False, repr=False)

    def loaded(self) -> Forward:
        if self._loaded is None:
            self._loaded = self.load()
        return self._loaded

    family = property(lambda self: self.facts.family)
    seed = property(lambda self: self.facts.seed)
    fingerprint = property(lambda self: self.facts.fingerprint)
    blocks = property(lambda self: self.facts.blocks)
    width = property(lambda self: self.facts.width)

    def layers(self, variant: str) -> tuple[str, ...]:
        return self.facts.layers(variant)

    @property
    def forward_passes(self) -> int:
        return 0 if self._loaded is None else self._loaded.forward_passes

    def encode(self, texts: Sequence[str], form: str) -> list[Encoded]:
        return self.loaded().encode(texts, form)

    def positions(
        self, encoded: Sequence[Encoded], selector: str, seed: int | None = None
    ) -> np.ndarray:
        return self.loaded().positions(encoded, selector, seed)

    def run(self, encoded, selectors, description="", positions=None) -> dict[str, np.ndarray]:
        return self.loaded().run(encoded, selectors, description, positions)


class LazyModel:
    """A model that loads at first use of anything but ``spec``, ``facts`` and ``tokenizer``."""

    def __init__(self, owner: LazyModels, key: str) -> None:
        self._owner, self.key, self.spec = owner, key, owner.spec(key)

    @property
    def facts(self) -> Described:
        return self._owner.facts(self.key)

    def cache_description(self) -> dict[str, str]:
        return {"model": self.facts.fingerprint}

    @property
    def tokenizer(self) -> LazyTokenizer:
        return LazyTokenizer(self)

    def loaded(self) -> LoadedModel:
        return self._owner.load(self.key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.loaded(), name)


class LazyTokenizer:
    """A model's tokenizer, read when first used (with its model)."""

    def __init__(self, model: LazyModel) -> None:
        self._model = model

    def cache_description(self) -> dict[str, str]:
        return {"tokenizer": self._model.facts.fingerprint}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._model.loaded().tokenizer, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._model.loaded().tokenizer(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._model.loaded().tokenizer)


class LazyModels(Mapping[str, LazyModel]):
    """The models of a chapter as :class:`LazyModel`\\ s. Every key, and for real models
    every revision, is checked when the mapping is made (as :func:`~cvsp.models.load_models`
    does), so that a refusal comes first; with ``described`` (a replay bundle's facts) no
    model is ever loaded."""

    def __init__(
        self,
        settings: Settings,
        keys: tuple[str, ...],
        store: Store,
        seed: int = 0,
        described: Mapping[str, Described] | None = None,
    ) -> None:
        self._specs = {spec.key: spec for spec in map(spec_for, keys)}
        self._settings, self._store, self._seed = settings, store, seed
        self._described = dict(described or {})
        self._replayed = described is not None
        real = not (settings.is_stand_in or self._replayed)
        self._resolved = resolve_all(list(self._specs.values()), settings) if real else None
        self._loaded: dict[str, LoadedModel] = {}

    def __getitem__(self, key: str) -> LazyModel:
        if key not in self._specs:
            raise KeyError(key)
        return LazyModel(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, key: str) -> ModelSpec:
        return self._specs[key]

    def facts(self, key: str) -> Described:
        """What names ``key``'s cached values, read from its files without loading it."""
        if key not in self._described:
            self._described[key] = self._read_facts(self._specs[key])
        return self._described[key]

    def _read_facts(self, spec: ModelSpec) -> Described:
        if self._resolved is not None:
            commit, online = self._resolved[spec.key][1]
            return facts.of_hub(spec, commit, online, self._seed)
        if self._replayed:
            raise KeyError(f"The replay bundle describes no model {spec.key!r}.")
        folder = self._store.path("stand-ins", facts.standin_folder_name(spec, self._settings))
        if not ((folder / facts.STANDIN_MARKER).is_file() and (folder / WEIGHTS_FILE).is_file()):
            from cvsp.standins import standin_checkpoint  # torch: the checkpoint is written once

            folder = standin_checkpoint(spec, self._settings)
        return facts.of_standin(spec, folder, self._seed)

    def load(self, key: str) -> LoadedModel:
        """Model ``key``, loaded (for real weights, downloaded) once."""
        if key not in self._loaded:
            if self._replayed:
                refuse(f"the {self._specs[key].label} model")()
            from cvsp.models import load_models  # torch: when a cell first uses the model

            resolved = None if self._resolved is None else {key: self._resolved[key]}
            chosen = load_models(self._settings, (self._specs[key],), resolved=resolved)
            self._loaded[key] = chosen[key]
        return self._loaded[key]

    @property
    def loaded(self) -> tuple[str, ...]:
        """The keys of the models loaded so far, in the order they were."""
        return tuple(self._loaded)


class LazyEmbedders(Mapping[str, CachedEmbedder]):
    """One :class:`~cvsp.cached.CachedEmbedder` per model of ``models`` over ``store``,
    its forward passes (and its model) waiting for the first vector not in the store."""

    def __init__(
        self, models: LazyModels, store: Store, settings: Settings, progress: bool = False
    ) -> None:
        self._models, self._store = models, store
        self._settings, self._progress = settings, progress
        self._made: dict[str, CachedEmbedder] = {}

    def __getitem__(self, key: str) -> CachedEmbedder:
        if key not in self._made:
            described = self._models.facts(key)
            label = self._models.spec(key).label
            self._made[key] = CachedEmbedder(
                Deferred(described, label, self._loader(key)), self._store
            )
        return self._made[key]

    def _loader(self, key: str) -> Callable:
        def load():
            model = self._models.load(key)  # a replayed page's stops here
            from cvsp.embeddings import Embedder  # torch: at the first forward pass

            seed, trace = self._models.facts(key).seed, self._settings.trace
            return Embedder(model, seed=seed, progress=self._progress, trace=trace)

        return load

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)
