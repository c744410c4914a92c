"""Layerwise embeddings: the forward passes, one vector per layer for a chosen token.

The token choices (``variant``) and their input forms are in :mod:`cvsp.tokens` (with
:class:`~cvsp.tokens.EmbeddingError`, raised for a text that cannot be embedded). Layers
are the hidden states, the embedding output and one per block (13 for the paper's
models, as many as the model's config has blocks plus one for others); a CLIP-like
``eos`` (CLIP, SigLIP) adds ``final_ln`` (final layer norm) and ``projection`` (the
projected text embedding: CLIP's projection, SigLIP's head); an encoder whose spec reads
its pooler (supervised SimCSE) adds ``pooler`` to ``cls``.

:class:`Embedder` runs texts through one model in padded batches and reads the vectors
of the token choices asked for; it keeps nothing. What is stored, and read again instead
of run, is :class:`cvsp.cached.CachedEmbedder`'s job, which every chapter uses.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cvsp.cache import Store
from cvsp.cached import CachedEmbedder
from cvsp.facts import Described
from cvsp.models import LoadedModel
from cvsp.settings import TORCH_MISSING
from cvsp.storage import append_record
from cvsp.tokens import (
    EXTRA_AFTER_EOS,
    RANDOM_RULES,
    EmbeddingError,
    Encoded,
    allowed_positions,
    batches,
    encode,
    layers_for,
    random_positions,
)

try:
    import torch
except ModuleNotFoundError as missing:  # the torch-free install replays; computing needs torch
    raise ModuleNotFoundError(TORCH_MISSING) from missing

DEFAULT_TOKEN_BUDGET = 2048


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
                vectors = torch.cat(
                    [vectors, final[:, None], _projected(model, final)[:, None]], dim=1
                )
            result[name] = vectors
        elif name in ("mean", "mean_no_first"):
            spans = [
                range(e.start, e.stop) if name == "mean" else allowed_positions(e, name)
                for e in encoded
            ]
            first = torch.tensor([span.start for span in spans], device=device)
            last = torch.tensor([span.stop for span in spans], device=device)
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
    label = description or model.spec.label
    bar = tqdm(total=len(encoded), desc=label, unit="text", disable=not progress, leave=False)
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
    """Runs texts through one model: :meth:`run` gives each selector's vectors of a list
    of encoded texts (``selector -> [n, L, dim]``), in batches of about ``token_budget``
    tokens. ``seed`` draws the random token; ``trace`` is a JSON-lines file each pass
    adds a line to (``CVSP_TRACE``)."""

    model: LoadedModel
    seed: int = 0
    token_budget: int = DEFAULT_TOKEN_BUDGET
    progress: bool = (
        True  # mutants: equivalent: whether a progress bar is drawn by default changes no vector
    )
    trace: Path | None = None
    forward_passes: int = field(default=0, init=False)  # texts run, for tests and benchmarks

    @property
    def family(self) -> str:
        return self.model.spec.family

    @property
    def label(self) -> str:
        return self.model.spec.label

    @property
    def facts(self) -> Described:
        """What a replayed page knows of this model (:class:`cvsp.facts.Described`)."""
        spec = self.model.spec
        return Described(
            spec.key, spec.family, self.seed, self.fingerprint, self.blocks, spec.pooler, self.width
        )

    @property
    def fingerprint(self) -> str:
        """The weights' identity (:attr:`cvsp.models.LoadedModel.fingerprint`)."""
        return self.model.fingerprint

    @property
    def blocks(self) -> int:
        return self.model.blocks

    @property
    def width(self) -> int:
        return int(self.model.model.config.hidden_size)

    def layers(self, variant: str) -> tuple[str, ...]:
        """The layer labels of a token choice for this model (its own number of blocks)."""
        return layers_for(self.family, variant, self.model.spec.pooler, self.model.blocks)

    def encode(self, texts: Sequence[str], form: str) -> list[Encoded]:
        return encode(self.model, texts, form)

    def positions(
        self, encoded: Sequence[Encoded], selector: str, seed: int | None = None
    ) -> np.ndarray:
        """The positions a random ``selector`` draws (with ``seed``, by default the embedder's)."""
        return random_positions(encoded, self.seed if seed is None else seed, selector)

    def run(
        self,
        encoded: Sequence[Encoded],
        selectors: Sequence[str],
        description: str = "",
        positions: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """:func:`extract` with this embedder's settings, counted, and traced when asked."""
        start = time.perf_counter()
        vectors = extract(
            self.model,
            encoded,
            selectors,
            seed=self.seed,
            token_budget=self.token_budget,
            progress=self.progress,
            description=description,
            positions=positions,
        )
        self.forward_passes += len(encoded)
        if self.trace is not None:
            tokens = sum(len(e.ids) for e in encoded)
            record = {"work": "forward", "model": self.model.spec.key, "texts": len(encoded)}
            record |= {"tokens": tokens, "flops": 2 * weights_per_token(self.model) * tokens}
            append_record(
                self.trace, record | {"seconds": time.perf_counter() - start, "time": time.time()}
            )
        return vectors


def cached(model: LoadedModel, store: Store | None = None, **options) -> CachedEmbedder:
    """``model``'s :class:`Embedder` (``options``: its fields) behind ``store`` (None: keep
    nothing): what the chapters, the reproduction and the tests embed with."""
    return CachedEmbedder(Embedder(model, **options), store)
