"""Layerwise embeddings: one forward pass per text, one vector per layer for a chosen token.

The token choices (``variant``) and their input forms are in :mod:`cvsp.tokens` (with
:class:`~cvsp.tokens.EmbeddingError`, raised for a text that cannot be embedded). Layers
are the hidden states, the embedding output and one per block (13 for the paper's
models, as many as the model's config has blocks plus one for others); a CLIP-like
``eos`` (CLIP, SigLIP) adds ``final_ln`` (final layer norm) and ``projection`` (the
projected text embedding: CLIP's projection, SigLIP's head); an encoder whose spec reads
its pooler (supervised SimCSE) adds ``pooler`` to ``cls``.

:class:`Embedder` embeds texts with one model and stores what it was asked for in a
:class:`~cvsp.cache.EmbeddingCache` (one ``.npy`` file per key): the token choices
a call names, for a list of texts run whole. A list made mostly of texts embedded before
runs only its new texts and is assembled again on each call, not stored; draws of the
random token for seeds other than the embedder's live in its scratch folder, for the page.
Used by every chapter through :mod:`cvsp.experiments`.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from cvsp.cache import EmbeddingCache, scratch_folder, texts_digest
from cvsp.models import LoadedModel
from cvsp.storage import append_record
from cvsp.tokens import (
    EXTRA_AFTER_EOS,
    RANDOM_RULES,
    VARIANTS,
    EmbeddingError,
    Encoded,
    allowed_positions,
    batches,
    check_texts,
    encode,
    layers_for,
    random_positions,
)  # fmt: skip

CACHE_FORMAT = 1
DEFAULT_TOKEN_BUDGET = 2048


@dataclass(frozen=True)
class LayerEmbeddings:
    """``values[i, l]`` is the vector of text ``i`` at layer ``layers[l]``."""

    values: np.ndarray  # [n_texts, n_layers, dim], float32
    layers: tuple[str, ...]

    def layer(self, name: str | int) -> np.ndarray:
        return self.values[:, self.layers.index(str(name))]


def _forward(
    model: LoadedModel, encoded: Sequence[Encoded], selectors: dict[str, np.ndarray | None]
) -> dict[str, torch.Tensor]:
    """One padded batch through the model; returns ``selector -> [B, L, dim]`` tensors."""
    device = model.device
    width = max(len(e.ids) for e in encoded)
    pad = model.tokenizer.pad_token_id
    pad = model.tokenizer.eos_token_id if pad is None else pad
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
    ids, mask = ids.to(device), mask.to(device)
    out = model.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    hidden = torch.stack(out.hidden_states, dim=1)  # [B, blocks + 1, T, dim]
    rows = torch.arange(len(encoded), device=device)
    stops = torch.tensor([e.stop for e in encoded], device=device)
    ends = torch.tensor([len(e.ids) - 1 for e in encoded], device=device)
    result: dict[str, torch.Tensor] = {}
    for name, chosen in selectors.items():
        if name == "last":
            result[name] = hidden[rows, :, stops - 1]
        elif name == "cls":
            vectors = hidden[rows, :, 0]
            if model.spec.pooler:
                vectors = torch.cat([vectors, out.pooler_output[:, None]], dim=1)
            result[name] = vectors
        elif name == "eos":
            vectors = hidden[rows, :, ends]
            if model.spec.family in EXTRA_AFTER_EOS:
                final = out.last_hidden_state[rows, ends]
                vectors = torch.cat([vectors, final[:, None], _projected(model, final)[:, None]], dim=1)
            result[name] = vectors
        elif name in ("mean", "mean_no_first"):
            spans = [(e.start, e.stop) if name == "mean" else
                     (allowed_positions(e, name).start, allowed_positions(e, name).stop) for e in encoded]  # fmt: skip
            first = torch.tensor([a for a, _ in spans], device=device)
            last = torch.tensor([b for _, b in spans], device=device)
            positions = torch.arange(width, device=device)
            inside = (positions >= first[:, None]) & (positions < last[:, None])
            weights = inside.to(hidden.dtype) / (last - first)[:, None].to(hidden.dtype)
            result[name] = torch.einsum("bltd,bt->bld", hidden, weights)
        elif name.partition("#")[0] in RANDOM_RULES:
            result[name] = hidden[rows, :, torch.as_tensor(chosen, device=device)]
        else:
            raise EmbeddingError(f"Unknown token selector {name!r}.")
    return result


def _projected(model: LoadedModel, final: torch.Tensor) -> torch.Tensor:
    """A CLIP-like text embedding from the final layer norm's output: CLIP's projection,
    SigLIP's head (a linear layer; its ``pooler_output`` is this at the last position)."""
    if model.spec.family == "siglip":
        return model.model.head(final)
    return model.model.text_projection(final)


def extract(
    model: LoadedModel,
    encoded: Sequence[Encoded],
    selectors: Sequence[str],
    *,
    seed: int = 0,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    progress: bool = True,
    description: str = "",
    positions: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Run every text once and read each selector's vectors: ``selector -> [n, L, dim]``.

    A random selector draws with ``seed``; written ``rule#s`` (e.g. ``random#3``) it draws
    with seed ``s``, so one pass can serve several seeds. ``positions`` gives a random
    selector's positions instead (those drawn for a longer list the texts belong to).
    """
    drawn = dict(positions or {})
    for name in selectors:
        rule, _, own_seed = name.partition("#")
        if rule in RANDOM_RULES and name not in drawn:
            drawn[name] = random_positions(encoded, int(own_seed) if own_seed else seed, rule)
    lengths = [len(e.ids) for e in encoded]
    groups = batches(lengths, token_budget)
    outputs: dict[str, np.ndarray] = {}
    bar = tqdm(
        total=len(encoded), desc=description or model.spec.label, unit="text",
        disable=not progress, leave=False,
    )  # fmt: skip
    with torch.inference_mode(), bar:
        for group in groups:
            chosen = {s: (drawn[s][group] if s in drawn else None) for s in selectors}
            vectors = _forward(model, [encoded[i] for i in group], chosen)
            for name, tensor in vectors.items():
                array = tensor.float().cpu().numpy()
                if name not in outputs:
                    outputs[name] = np.empty((len(encoded), *array.shape[1:]), np.float32)
                outputs[name][group] = array
            bar.update(len(group))
    return outputs


def weights_per_token(model: LoadedModel) -> int:
    """Parameters every token is multiplied by: all but the embedding tables (a forward
    pass costs about twice this many FLOPs per token, attention aside)."""
    tables = {id(m.weight) for m in model.model.modules() if isinstance(m, torch.nn.Embedding)}
    return sum(p.numel() for p in model.model.parameters() if id(p) not in tables)


@dataclass
class Embedder:
    """Embeds texts with one model, caching the token choices each call asks for.

    ``seed`` fixes the ``random_token`` draw; ``cache`` may be None to keep nothing.

    With a cache, a list of texts not cached as a whole takes the vectors of the texts it
    shares with a list this embedder has already returned from the cache (same input form
    and token choice; for a random draw, the same drawn position) and runs only the others:
    chapter 5's released reader and stripped sentences are mostly the corpus's sentences
    again. Such a list is not stored (the lists it shares are); the vectors of the texts
    it ran are kept in memory for the next call. A list that shares less than half its
    texts runs whole, for the token choices asked for, and is stored. Vectors of a shared
    text come from the batch it was first run in, so they can differ from a pass of the
    new list in the last bits of float32 (padding changes the kernels).
    """

    model: LoadedModel
    cache: EmbeddingCache | None = None
    seed: int = 0
    token_budget: int = DEFAULT_TOKEN_BUDGET
    progress: bool = True  # mutants: equivalent: whether a progress bar is drawn by default changes no vector
    trace: Path | None = None  # a JSON-lines file each forward pass adds a line to (CVSP_TRACE)
    forward_passes: int = field(default=0, init=False)  # texts run, for tests and benchmarks
    # (form, selector, seed) -> [(texts, cache key or array, drawn positions)], see _shared
    _returned: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _scratch: tempfile.TemporaryDirectory | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def family(self) -> str:
        return self.model.spec.family

    def layers(self, variant: str) -> tuple[str, ...]:
        """The layer labels of a token choice for this model (its own number of blocks)."""
        return layers_for(self.family, variant, self.model.spec.pooler, self.model.blocks)

    def key(self, texts: Sequence[str], variant: str, seed: int | None = None) -> str:
        """The cache key of ``variant``'s vectors of ``texts`` (a random draw's with ``seed``,
        by default the embedder's): the key of what is computed from them, too."""
        form, selector = VARIANTS[self.family][variant]
        return self._key(form, selector, texts_digest(texts), seed)

    def _key(self, form: str, selector: str, digest: str, seed: int | None = None) -> str:
        parts = {
            "format": CACHE_FORMAT,
            "model": self.model.fingerprint,
            "form": form,
            "selector": selector,
            "seed": (self.seed if seed is None else seed) if selector in RANDOM_RULES else None,
            "texts": digest,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

    def _usable(self, array: np.ndarray | None, n: int, selector: str) -> bool:
        """Whether a cache entry is the array a forward pass would give: ``n`` rows, every
        layer, the model's width, float32. Anything else is recomputed, never used."""
        if array is None:
            return False
        variant = next(v for v, (_, s) in VARIANTS[self.family].items() if s.partition("#")[0] == selector)
        layers = len(self.layers(variant))
        width = self.model.model.config.hidden_size
        return array.dtype == np.float32 and array.shape == (n, layers, width)

    def __call__(self, texts: Sequence[str], variants: Sequence[str]) -> dict[str, LayerEmbeddings]:
        """``variant -> LayerEmbeddings`` for the given texts."""
        table = VARIANTS[self.family]
        unknown = [v for v in variants if v not in table]
        if unknown:
            raise EmbeddingError(
                f"Unknown token choice(s) {unknown} for {self.model.spec.label}; "
                f"choose from {sorted(table)}."
            )
        check_texts(texts)
        digest = texts_digest(texts)
        found: dict[tuple[str, str], np.ndarray] = {}
        for form in sorted({table[v][0] for v in variants}):
            selectors = sorted({s for f, s in table.values() if f == form})
            keys = {s: self._key(form, s, digest) for s in selectors}
            wanted = {table[v][1] for v in variants if table[v][0] == form}
            cached = {s: self.cache.get(keys[s]) if self.cache else None for s in wanted}
            missing = sorted(s for s in wanted if not self._usable(cached[s], len(texts), s))
            assembled = None
            if missing:
                encoded = encode(self.model, texts, form)
                assembled = self._from_returned(form, missing, selectors, texts, encoded)
                if assembled is None:  # nothing shared with an earlier list: one pass, stored
                    fresh = self._pass(encoded, missing, f"{self.model.spec.label} {form}")
                    if self.cache is not None:
                        for s, array in fresh.items():
                            self.cache.put(keys[s], array)
                cached.update(fresh if assembled is None else assembled)
            for s in wanted:
                found[(form, s)] = cached[s]
            if self.cache is not None:  # the lists the cache holds, for later lists to share
                for s in wanted if assembled is None else set(wanted) - set(assembled):
                    self._remember((form, s, self.seed if s in RANDOM_RULES else None), texts, keys[s])
        return {v: LayerEmbeddings(found[table[v]], self.layers(v)) for v in variants}

    def _pass(self, encoded: Sequence[Encoded], selectors: Sequence[str], description: str,
              positions: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
        """:func:`extract` with this embedder's settings, counted, and traced when asked."""
        start = time.perf_counter()
        vectors = extract(self.model, encoded, selectors, seed=self.seed, token_budget=self.token_budget,
                          progress=self.progress, description=description, positions=positions)  # fmt: skip
        self.forward_passes += len(encoded)
        if self.trace is not None:
            tokens = sum(len(e.ids) for e in encoded)
            append_record(self.trace, {
                "work": "forward", "model": self.model.spec.key, "texts": len(encoded), "tokens": tokens,
                "flops": 2 * weights_per_token(self.model) * tokens, "seconds": time.perf_counter() - start,
                "time": time.time(),
            })  # fmt: skip
        return vectors

    def _remember(self, where: tuple, texts: Sequence[str], source: str | np.ndarray,
                  positions: np.ndarray | None = None) -> None:  # fmt: skip
        """Note a list this embedder returned: its texts and its cache key (or array); for a
        random selector, ``positions`` where they are not the list's own draw."""
        known = self._returned.setdefault(where, [])
        if not any(entry[0] == tuple(texts) for entry in known):
            known.append((tuple(texts), source, positions))

    def _shared(self, where: tuple, texts: Sequence[str], drawn: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray]:
        """The vectors of ``texts`` found in lists returned before (for a random selector,
        at the same ``drawn`` position) and a mask of the texts not found."""
        form, selector, seed = where
        rows: dict[tuple, list[int]] = {}
        for i, text in enumerate(texts):
            rows.setdefault((text, None if drawn is None else int(drawn[i])), []).append(i)
        out, lacking = None, np.ones(len(texts), bool)
        known = self._returned.get(where, [])
        for n, (earlier, source, positions) in enumerate(known):
            if drawn is not None and positions is None:  # that list's draw, computed once
                positions = random_positions(encode(self.model, earlier, form), seed, selector)
                known[n] = (earlier, source, positions)
            at = {(t, None if positions is None else int(positions[r])): r for r, t in enumerate(earlier)}
            hits = [(i, at[k]) for k, mine in rows.items() if k in at and lacking[mine[0]] for i in mine]
            if not hits:
                continue
            array = source if isinstance(source, np.ndarray) else self.cache.get(source)
            if not self._usable(array, len(earlier), selector):
                continue
            if out is None:
                out = np.empty((len(texts), *array.shape[1:]), np.float32)
            mine, theirs = (np.array(side) for side in zip(*hits))
            out[mine] = array[theirs]
            lacking[mine] = False
        return out, lacking

    def _from_returned(self, form: str, wanted: Sequence[str], selectors: Sequence[str], texts: Sequence[str],
                       encoded: Sequence[Encoded]) -> dict[str, np.ndarray] | None:  # fmt: skip
        """``wanted`` selectors' vectors of ``texts`` from earlier lists, with one pass over
        only the texts they lack; None when they lack more than half (then the list runs
        whole, so a list that shares a few texts by chance is computed exactly as on its
        own). The pass reads every selector of the form, and the vectors of the texts it
        ran are remembered for the next call that asks for another token choice."""
        def where(s: str) -> tuple:
            return form, s, self.seed if s in RANDOM_RULES else None

        drawn = {s: random_positions(encoded, self.seed, s) for s in selectors if s in RANDOM_RULES}
        found, lacking = {}, np.zeros(len(texts), bool)
        for s in wanted:
            found[s], missing = self._shared(where(s), texts, drawn.get(s))
            if found[s] is None:
                return None
            lacking |= missing
        if lacking.sum() * 2 > len(texts):
            return None
        todo = np.flatnonzero(lacking)
        if len(todo):
            extra = self._pass([encoded[i] for i in todo], selectors,
                               f"{self.model.spec.label} {form} ({len(todo)} new texts)",
                               positions={s: p[todo] for s, p in drawn.items()})  # fmt: skip
            for s in wanted:
                found[s][todo] = extra[s]
            ran = [texts[i] for i in todo]
            for s in selectors:  # small: the texts just run
                self._remember(where(s), ran, extra[s], drawn[s][todo] if s in drawn else None)
        return found

    def random_draws(
        self, texts: Sequence[str], variant: str, seeds: Sequence[int], chunk: int = 5
    ) -> dict[int, LayerEmbeddings]:
        """``seed -> LayerEmbeddings`` of a random-token variant for several seeds.

        Each missing seed is drawn in the same forward pass as up to ``chunk - 1`` others.
        The draw of the embedder's own seed is the variant's cache entry; the other seeds'
        draws are kept only in this embedder's scratch folder (:meth:`scratch`), so the
        page that drew them reads them again without storing them for good.
        """
        form, selector = VARIANTS[self.family][variant]
        if selector not in RANDOM_RULES:
            raise EmbeddingError(f"{variant!r} is not a random-token variant.")
        check_texts(texts)
        digest = texts_digest(texts)
        stores = {seed: self.cache if seed == self.seed else self.scratch() for seed in seeds}
        keys = {seed: self._key(form, selector, digest, seed) for seed in seeds}
        found = {seed: stores[seed].get(keys[seed]) if stores[seed] else None for seed in seeds}
        missing = [seed for seed in seeds if not self._usable(found[seed], len(texts), selector)]
        for start in range(0, len(missing), chunk):
            group = missing[start : start + chunk]
            encoded = encode(self.model, texts, form)
            fresh = self._pass(encoded, [f"{selector}#{seed}" for seed in group],
                               f"{self.model.spec.label} {form} seeds {group}")
            for seed in group:
                found[seed] = fresh[f"{selector}#{seed}"]
                if stores[seed] is not None:
                    stores[seed].put(keys[seed], found[seed])
        layers = self.layers(variant)
        return {seed: LayerEmbeddings(found[seed], layers) for seed in seeds}

    def scratch(self) -> EmbeddingCache | None:
        """A folder inside the cache for arrays that need not outlive this embedder (made
        on first use, removed with the embedder or when the process ends); None without
        a cache."""
        if self.cache is None:
            return None
        if self._scratch is None:
            self._scratch = scratch_folder(self.cache.root)
        return EmbeddingCache(Path(self._scratch.name))
