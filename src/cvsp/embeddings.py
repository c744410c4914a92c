"""Layerwise embeddings: one forward pass per text, one vector per layer for a chosen token.

Token choices (``variant``):

| variant | GPT-2 input -> position | CLIP input -> position | BERT-like input -> position |
| --- | --- | --- | --- |
| ``last_subtoken`` / ``last_token`` | ``text`` -> last token | ``[BOS] text [EOS]`` -> token before EOS | ``[CLS] text [SEP]`` -> token before SEP |
| ``eos`` | ``<|endoftext|> text <|endoftext|>`` -> final EOS | ``[BOS] text [EOS]`` -> EOS | — |
| ``cls`` | — | — | ``[CLS] text [SEP]`` -> ``[CLS]`` (``<s>`` for RoBERTa) |
| ``mean`` | ``text`` -> mean of its tokens | ``[BOS] text [EOS]`` -> mean of the text's tokens | ``[CLS] text [SEP]`` -> mean of the text's tokens |
| ``mean_no_first`` | ``text`` -> mean of its tokens but position 0 | (the same as ``mean``) | — |
| ``random_token`` | ``text`` -> one of its tokens, drawn (seeded) | ``[BOS] text [EOS]`` -> one text token | ``[CLS] text [SEP]`` -> one text token |
| ``random_token_no_first`` | ``text`` -> one of its tokens but position 0 | (the same rule) | — |
| ``random_token_released`` | positions 1 .. n-1 of the input (n tokens) | ``[BOS] text [EOS]`` -> a text token or EOS | — |

The random rules are in :data:`RANDOM_RULES`; ``random_token`` (the text's own tokens)
is the default of the CWE result, our choice: the paper's text does not say which
positions are drawn, and this rule is the same for both models, gives every token of
the sentence the same chance and never draws a special token (``book/methods.md``).
Where a rule leaves a one-token text no position, the text's only token is used.
Positions come from each text's own token span, never from searching for a token id
(CLIP pads with its EOS id). Layers are the 13 hidden states (embedding output and 12
blocks); CLIP's ``eos`` adds ``final_ln`` (final layer norm) and ``projection`` (the
projected text embedding); an encoder whose spec reads its pooler (supervised SimCSE)
adds ``pooler`` to ``cls``. Every variant that shares an input text is read from the
same forward pass and cached on disk.

Used by every chapter; ``01_cwe_anisotropy`` uses the ``random_token`` variants.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from cvsp.models import LoadedModel

CACHE_FORMAT = 1
N_LAYERS = 13
HIDDEN_LAYERS: tuple[str, ...] = tuple(str(i) for i in range(N_LAYERS))
CLIP_EXTRA_LAYERS: tuple[str, ...] = ("final_ln", "projection")
POOLER_LAYER = "pooler"  # an encoder's pooler output over [CLS], after the top layer
DEFAULT_TOKEN_BUDGET = 2048

# variant -> (input form, selector); the form decides the forward pass.
VARIANTS: dict[str, dict[str, tuple[str, str]]] = {
    "gpt2": {
        "last_subtoken": ("bare", "last"),
        "last_token": ("bare", "last"),
        "mean": ("bare", "mean"),
        "mean_no_first": ("bare", "mean_no_first"),
        "random_token": ("bare", "random"),
        "random_token_no_first": ("bare", "random_no_first"),
        "random_token_released": ("bare", "random_released"),
        "eos": ("eos_wrapped", "eos"),
    },
    "clip": {
        "last_subtoken": ("clip", "last"),
        "last_token": ("clip", "last"),
        "mean": ("clip", "mean"),
        "random_token": ("clip", "random"),
        "random_token_no_first": ("clip", "random_no_first"),
        "random_token_released": ("clip", "random_released"),
        "eos": ("clip", "eos"),
    },
    "bert": {
        "last_subtoken": ("encoder", "last"),
        "last_token": ("encoder", "last"),
        "cls": ("encoder", "cls"),
        "mean": ("encoder", "mean"),
        "random_token": ("encoder", "random"),
    },
}

# Which input positions a random draw may land on (selector -> rule), see :func:`allowed_positions`.
RANDOM_RULES: dict[str, str] = {
    "random": "own tokens of the text",
    "random_no_first": "own tokens of the text except input position 0 (GPT-2's first token)",
    "random_released": "input positions 1 .. n-1 (for CLIP the released code's rule: text tokens and EOS)",
}


class EmbeddingError(ValueError):
    """A text cannot be embedded as asked."""


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text as fed to the model, and the span of the text's own tokens."""

    ids: tuple[int, ...]
    start: int  # first token of the text itself
    stop: int  # one past its last token


@dataclass(frozen=True)
class LayerEmbeddings:
    """``values[i, l]`` is the vector of text ``i`` at layer ``layers[l]``."""

    values: np.ndarray  # [n_texts, n_layers, dim], float32
    layers: tuple[str, ...]

    def layer(self, name: str | int) -> np.ndarray:
        return self.values[:, self.layers.index(str(name))]


def layers_for(family: str, variant: str, pooler: bool = False) -> tuple[str, ...]:
    """Layer labels of a variant: 0..12, plus CLIP's two extra points for ``eos`` and an
    encoder's pooler output for ``cls`` where its spec reads it."""
    if family == "clip" and variant == "eos":
        return HIDDEN_LAYERS + CLIP_EXTRA_LAYERS
    if family == "bert" and variant == "cls" and pooler:
        return HIDDEN_LAYERS + (POOLER_LAYER,)
    return HIDDEN_LAYERS


def _content_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def check_texts(texts: Sequence[str]) -> None:
    """Refuse what cannot be embedded: no texts, non-strings, empty or blank strings."""
    if len(texts) == 0:
        raise EmbeddingError("No texts to embed.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise EmbeddingError(f"Text {index} is {type(text).__name__}, not a string.")
        if not text.strip():  # GPT-2 would embed bare spaces, CLIP nothing: refuse both
            raise EmbeddingError(f"Text {index} ({text!r}) is empty or only whitespace.")


def encode(model: LoadedModel, texts: Sequence[str], form: str) -> list[Encoded]:
    """Tokenize texts into the given input form (see :data:`VARIANTS`)."""
    check_texts(texts)
    tok = model.tokenizer
    encoded = []
    for index, text in enumerate(texts):
        content = _content_ids(tok, text)
        if not content:
            raise EmbeddingError(f"Text {index} ({text!r}) has no tokens to embed.")
        if form == "bare":
            ids = content
            start = 0
        elif form == "eos_wrapped":
            ids = [tok.eos_token_id, *content, tok.eos_token_id]
            start = 1
        elif form == "clip":
            ids = [tok.bos_token_id, *content, tok.eos_token_id]
            start = 1
        elif form == "encoder":  # [CLS] text [SEP]; RoBERTa's cls/sep are <s> and </s>
            ids = [tok.cls_token_id, *content, tok.sep_token_id]
            start = 1
        else:
            raise EmbeddingError(f"Unknown input form {form!r}.")
        if len(ids) > model.spec.max_tokens:
            raise EmbeddingError(
                f"Text {index} has {len(ids)} tokens, more than {model.spec.label}'s "
                f"limit of {model.spec.max_tokens}; filter with fits_clip() first."
            )
        encoded.append(Encoded(tuple(ids), start, start + len(content)))
    return encoded


def clip_token_counts(clip_tokenizer, texts: Sequence[str]) -> np.ndarray:
    """Number of CLIP tokens of each text including BOS and EOS."""
    return np.array([len(_content_ids(clip_tokenizer, t)) + 2 for t in texts], dtype=int)


def fits_clip(clip_tokenizer, texts: Sequence[str], limit: int = 77) -> np.ndarray:
    """Boolean mask: texts that fit CLIP's context of ``limit`` tokens."""
    return clip_token_counts(clip_tokenizer, texts) <= limit


def allowed_positions(e: Encoded, selector: str) -> range:
    """Input positions a random draw (or the ``mean_no_first`` mean) may use for one text.

    ``random``: the text's own tokens. ``random_no_first`` and ``mean_no_first``: the same
    without input position 0, which for GPT-2's bare input is the first token (its
    attention sink); for CLIP position 0 is BOS, never an own token, so nothing changes.
    ``random_released``: positions 1 .. n-1 of the n-token input. For CLIP that is the
    text tokens and EOS, the rule of the authors' released code (``word_gathering.py``,
    line 34: ``random.randint(1, n)`` with n the length of the tokenization with BOS and
    EOS). ``randint`` includes its top value n, one past EOS: in the authors' padded batch
    a padding position (their pad token is EOS, ``embedding_gathering.py`` line 85), or
    out of range for the longest sentence of a batch. That value has no vector of its
    own text, so we leave it out and draw uniformly from the n-1 others. The released
    code has no rule for GPT-2; on GPT-2's bare input the same positions are the rule
    without position 0. A rule that leaves no position keeps the text's only token.
    """
    if selector == "random":
        allowed = range(e.start, e.stop)
    elif selector in ("random_no_first", "mean_no_first"):
        allowed = range(max(e.start, 1), e.stop)
    elif selector == "random_released":
        allowed = range(1, len(e.ids))
    else:
        raise EmbeddingError(f"Unknown token selector {selector!r}.")
    return allowed if len(allowed) else range(e.start, e.stop)


def random_positions(encoded: Sequence[Encoded], seed: int, selector: str = "random") -> np.ndarray:
    """One position per text, uniform over :func:`allowed_positions` (seeded, order-fixed)."""
    rng = np.random.default_rng(seed)
    spans = [allowed_positions(e, selector) for e in encoded]
    return np.array([rng.integers(span.start, span.stop) for span in spans], dtype=np.int64)


def batches(lengths: Sequence[int], token_budget: int) -> list[np.ndarray]:
    """Indices grouped so that each padded batch holds at most ``token_budget`` tokens.

    Texts are sorted by length (longest first) so padding stays small.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        width = lengths[current[0]] if current else lengths[index]
        if current and width * (len(current) + 1) > token_budget:
            groups.append(current)
            current = []
        current.append(int(index))
    if current:
        groups.append(current)
    return [np.array(g) for g in groups]


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
    hidden = torch.stack(out.hidden_states, dim=1)  # [B, 13, T, dim]
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
            if model.spec.family == "clip":
                final = out.last_hidden_state[rows, ends]
                projected = model.model.text_projection(final)
                vectors = torch.cat([vectors, final[:, None], projected[:, None]], dim=1)
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


def extract(
    model: LoadedModel,
    encoded: Sequence[Encoded],
    selectors: Sequence[str],
    *,
    seed: int = 0,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    progress: bool = True,
    description: str = "",
) -> dict[str, np.ndarray]:
    """Run every text once and read each selector's vectors: ``selector -> [n, L, dim]``.

    A random selector draws with ``seed``; written ``rule#s`` (e.g. ``random#3``) it draws
    with seed ``s``, so one pass can serve several seeds.
    """
    drawn = {}
    for name in selectors:
        rule, _, own_seed = name.partition("#")
        if rule in RANDOM_RULES:
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


# ---------------------------------------------------------------------------- the cache


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of an ordered list of texts."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class EmbeddingCache:
    """Arrays on disk under ``root``, one ``.npy`` file per key, written atomically."""

    root: Path

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            warnings.warn(
                f"Embedding cache entry {path} is unreadable ({error}); recomputing it.",
                stacklevel=2,
            )
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, array: np.ndarray) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, array, allow_pickle=False)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path(key))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


@dataclass
class Embedder:
    """Embeds texts with one model, caching every variant that a forward pass yields.

    ``seed`` fixes the ``random_token`` draw; ``cache`` may be None to keep nothing.
    """

    model: LoadedModel
    cache: EmbeddingCache | None = None
    seed: int = 0
    token_budget: int = DEFAULT_TOKEN_BUDGET
    progress: bool = True
    forward_passes: int = field(default=0, init=False)  # texts run, for tests and benchmarks

    @property
    def family(self) -> str:
        return self.model.spec.family

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
        layers = len(layers_for(self.family, variant, self.model.spec.pooler))
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
            if not all(self._usable(cached[s], len(texts), s) for s in wanted):
                encoded = encode(self.model, texts, form)
                fresh = extract(
                    self.model, encoded, selectors, seed=self.seed,
                    token_budget=self.token_budget, progress=self.progress,
                    description=f"{self.model.spec.label} {form}",
                )  # fmt: skip
                self.forward_passes += len(texts)
                if self.cache is not None:
                    for s, array in fresh.items():
                        self.cache.put(keys[s], array)
                cached = fresh
            for s in wanted:
                found[(form, s)] = cached[s]
        pooler = self.model.spec.pooler
        return {
            v: LayerEmbeddings(found[table[v]], layers_for(self.family, v, pooler)) for v in variants
        }

    def random_draws(
        self, texts: Sequence[str], variant: str, seeds: Sequence[int], chunk: int = 5
    ) -> dict[int, LayerEmbeddings]:
        """``seed -> LayerEmbeddings`` of a random-token variant for several seeds.

        Each missing seed is drawn in the same forward pass as up to ``chunk - 1`` others,
        and cached under the key an :class:`Embedder` with that seed would use.
        """
        form, selector = VARIANTS[self.family][variant]
        if selector not in RANDOM_RULES:
            raise EmbeddingError(f"{variant!r} is not a random-token variant.")
        check_texts(texts)
        digest = texts_digest(texts)
        keys = {seed: self._key(form, selector, digest, seed) for seed in seeds}
        found = {seed: self.cache.get(keys[seed]) if self.cache else None for seed in seeds}
        missing = [seed for seed in seeds if not self._usable(found[seed], len(texts), selector)]
        for start in range(0, len(missing), chunk):
            group = missing[start : start + chunk]
            encoded = encode(self.model, texts, form)
            fresh = extract(
                self.model, encoded, [f"{selector}#{seed}" for seed in group],
                token_budget=self.token_budget, progress=self.progress,
                description=f"{self.model.spec.label} {form} seeds {group}",
            )  # fmt: skip
            self.forward_passes += len(texts)
            for seed in group:
                found[seed] = fresh[f"{selector}#{seed}"]
                if self.cache is not None:
                    self.cache.put(keys[seed], found[seed])
        layers = layers_for(self.family, variant, self.model.spec.pooler)
        return {seed: LayerEmbeddings(found[seed], layers) for seed in seeds}
