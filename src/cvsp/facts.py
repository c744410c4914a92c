"""What a model is, read from its files without loading it: the facts its cache keys need.

A page whose tables are cached needs of a model only what names them
(:class:`Described`: its fingerprint, layers and width), not the model. For
real weights these come from the commit the revision resolves to and the checkpoint's
``config.json`` (from the hub cache, or one small download); for a stand-in from its
checkpoint folder's marker and config. No torch here, unless a stand-in's checkpoint has
never been written: then it is written, as loading it would. The facts equal those of
the loaded model (:attr:`cvsp.embeddings.Embedder.facts`; the tests compare them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import hf_hub_download

from cvsp.cached import embedding_key
from cvsp.registry import ModelSpec
from cvsp.settings import Settings
from cvsp.tokens import layers_for

STANDIN_MARKER = "stand-in.json"
# what transformers' text configs default to where a config.json leaves a field out
# (CLIPTextConfig, SiglipTextConfig, GPT2Config, BertConfig): (blocks, width)
DEFAULT_SHAPE = {"clip": (12, 512), "siglip": (12, 768), "gpt2": (12, 768), "bert": (12, 768)}


@dataclass(frozen=True)  # mutants: equivalent: nothing sets a field or hashes one; a value
class Described:
    """A model by its facts alone (:mod:`cvsp.facts` reads them from its files, a replay
    bundle's manifest lists them): what names its cached values, without its weights."""

    name: str  # the registry's key, e.g. "gpt2"
    family: str
    seed: int
    fingerprint: str
    blocks: int
    pooler: bool  # whether it reads a pooler (supervised SimCSE)
    width: int = 0  # mutants: equivalent: no model has it; a bundle that predates the field

    def layers(self, variant: str) -> tuple[str, ...]:
        return layers_for(self.family, variant, self.pooler, self.blocks)

    def key(self, texts: Sequence[str], variant: str, seed: int | None = None) -> str:
        return embedding_key(self, texts, variant, seed)

    @property
    def stand_in(self) -> bool:
        return self.fingerprint.startswith("stand-in:")


def text_shape(family: str, config: dict) -> tuple[int, int]:
    """``(blocks, width)`` of the text model a family's class reads from a checkpoint's
    ``config.json``: a two-tower checkpoint's ``text_config``, GPT-2's ``n_layer`` and
    ``n_embd``, the others' ``num_hidden_layers`` and ``hidden_size``."""
    text = config
    if family in ("clip", "siglip"):  # a two-tower checkpoint; older CLIP configs say it twice
        text = {**(config.get("text_config") or {}), **(config.get("text_config_dict") or {})}
        text = text or config  # a text tower saved alone
    default_blocks, default_width = DEFAULT_SHAPE[family]
    blocks = text.get("num_hidden_layers", text.get("n_layer", default_blocks))
    width = text.get("hidden_size", text.get("n_embd", default_width))
    return int(blocks), int(width)


def standin_folder_name(spec: ModelSpec, settings: Settings) -> str:
    """The name of a stand-in's checkpoint folder in the cache's ``stand-ins``."""
    size = settings.standin_size
    sized = "" if size == "full" else f"-{size}"  # full-size folders keep their names
    return f"{spec.key.replace('/', '--')}-seed{settings.standin_seed}{sized}"


def standin_fingerprint(spec: ModelSpec, seed: int, size: str | None, weights_sha256: str) -> str:
    """A stand-in's fingerprint (:attr:`cvsp.models.LoadedModel.fingerprint`)."""
    sized = "" if size in (None, "full") else f":{size}"  # weights_label reads it
    return f"stand-in:{spec.key}{sized}:seed{seed}:{weights_sha256}"


def hub_fingerprint(spec: ModelSpec, commit: str) -> str:
    """Real weights' fingerprint: the repository and the commit its files are read from."""
    return f"{spec.hub_id}@{commit}"


def of_standin(spec: ModelSpec, folder: Path, seed: int = 0) -> Described:
    """The facts of the stand-in checkpoint in ``folder`` (``seed``: the random token's)."""
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    blocks, width = text_shape(spec.family, json.loads((folder / "config.json").read_text()))
    fingerprint = standin_fingerprint(
        spec, marker["seed"], marker.get("size", "full"), marker["weights_sha256"]
    )
    return Described(spec.key, spec.family, seed, fingerprint, blocks, spec.pooler, width)


def of_hub(spec: ModelSpec, commit: str, online: bool, seed: int = 0) -> Described:
    """The facts of ``spec.hub_id`` at ``commit`` (resolved: :func:`cvsp.hub.resolve_all`),
    from its ``config.json`` (in the hub cache, or downloaded when ``online``)."""
    path = hf_hub_download(spec.hub_id, "config.json", revision=commit, local_files_only=not online)
    blocks, width = text_shape(spec.family, json.loads(Path(path).read_text()))
    return Described(
        spec.key, spec.family, seed, hub_fingerprint(spec, commit), blocks, spec.pooler, width
    )


def weights_label(described: list[Described]) -> str:
    """How a page's figures and tables name the weights of ``described``: stand-ins (small,
    where they are), or each repository at the first seven digits of its commit."""
    if any(d.stand_in for d in described):
        small = any(":small:" in d.fingerprint for d in described)
        return f"{'small ' if small else ''}stand-in models (random weights)"
    commits = (d.fingerprint.partition("@") for d in described)
    return f"pretrained models ({', '.join(f'{hub_id}@{commit[:7]}' for hub_id, _, commit in commits)})"
