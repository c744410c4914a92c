"""Stand-in checkpoints: the real architectures with seeded random weights.

A stand-in has its model's architecture (:func:`standin_config`: the family's reference
config as transformers defines it, changed as the registry's
:attr:`~cvsp.registry.ModelSpec.architecture` says; or the same depth at
:data:`SMALL_WIDTH` wide), weights drawn from a seed that depends on the model
(:func:`_standin_seed`) and the real tokenizer (for the BERT and SigLIP families, which
have none offline, a stand-in WordPiece tokenizer, :mod:`cvsp.wordpiece`, or SentencePiece
tokenizer, :mod:`cvsp.unigram`). :func:`standin_checkpoint` writes it once to the cache with
``save_pretrained``, beside a marker (:data:`STANDIN_MARKER`) that says what it is;
:func:`cvsp.models.load_model` then reads it through the very ``from_pretrained`` call a
real checkpoint goes through.

Used by :mod:`cvsp.models`.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import transformers
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertModel,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    SiglipConfig,
    SiglipModel,
    SiglipTextConfig,
)

from cvsp import unigram, wordpiece
from cvsp.data import sha256_of
from cvsp.facts import STANDIN_MARKER, standin_folder_name
from cvsp.registry import PAPER_MODELS, WEIGHTS_FILE, ModelSpec, ModelUnavailableError, spec_for
from cvsp.replay import store_for
from cvsp.settings import TORCH_MISSING, Settings, StandinSize

try:
    import torch
except ModuleNotFoundError as missing:  # the torch-free install replays; computing needs torch
    raise ModuleNotFoundError(TORCH_MISSING) from missing


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and bars (e.g. CLIP's unused vision weights)."""
    previous = transformers.logging.get_verbosity()
    bars = transformers.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(previous)
        if bars:
            transformers.logging.enable_progress_bar()


STANDIN_TOKENIZERS = {
    "bert": wordpiece,
    "siglip": unigram,
}  # families with no real tokenizer offline


def _standin_tokenizer(spec: ModelSpec, settings: Settings) -> Any:
    if spec.family in STANDIN_TOKENIZERS:  # no such vocabulary offline: a stand-in tokenizer
        return STANDIN_TOKENIZERS[spec.family].train(wordpiece.evaluation_texts(settings))
    if (
        settings.tokenizers_dir is not None
    ):  # a GPT-2 or CLIP: every model of the family shares its vocabulary
        folder = settings.tokenizers_dir / spec.family
        if not folder.is_dir():
            raise ModelUnavailableError(
                f"CVSP_TOKENIZERS_DIR ({settings.tokenizers_dir}) has no {spec.family}/ "
                "folder with the tokenizer files."
            )
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    try:
        return AutoTokenizer.from_pretrained(
            spec.hub_id, revision=settings.revision(spec.key, spec.revision)
        )
    except OSError as error:
        raise ModelUnavailableError(
            f"Stand-in {spec.label} needs the real tokenizer, which could not be loaded "
            f"from the hub ({spec.hub_id}); set CVSP_TOKENIZERS_DIR to a folder with "
            f"{spec.family}/vocab.json and merges.txt."
        ) from error


def _standin_config_vocabulary(spec: ModelSpec) -> int:
    config = standin_config(spec)
    return getattr(config, "text_config", config).vocab_size


def _standin_seed(spec: ModelSpec, seed: int) -> int:
    """The torch seed of a stand-in's weights. The paper's two models use the seed itself
    (as before the registry, so their stand-in numbers stay); the others mix in their key,
    so stand-ins of one architecture (BERT and its SimCSE fine-tunes) differ."""
    return (
        seed
        if spec.key in PAPER_MODELS
        else (seed * 1_000_003 + zlib.crc32(spec.key.encode())) % 2**31
    )


# a small stand-in's hidden (and projection) size; layers, vocabularies, positions stay real
SMALL_WIDTH = 64
_SMALL = dict(hidden_size=SMALL_WIDTH, intermediate_size=2 * SMALL_WIDTH, num_attention_heads=4)
# a two-tower checkpoint holds a vision tower: a tiny one, never run
_TINY_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=32,
    patch_size=16,
)


def standin_config(
    key: str | ModelSpec, size: StandinSize = "full"
) -> transformers.PretrainedConfig:
    """The config of a stand-in checkpoint of registry model ``key`` (the paper's keys
    ``gpt2`` and ``clip`` are also their families' reference models).

    ``full``: the real architecture, the family's reference model (transformers' defaults
    are GPT-2 small, CLIP B/32's text tower, BERT-base, SigLIP base) changed as
    :attr:`cvsp.registry.ModelSpec.architecture` says. ``small``: the same numbers of
    layers, vocabulary and positions, :data:`SMALL_WIDTH` wide with 4 heads. A two-tower
    model's vision tower is always a tiny one, never run.
    """
    spec = spec_for(key)
    changes = dict(spec.architecture)
    if size == "small":
        gpt2_names = {"hidden_size": "n_embd", "num_attention_heads": "n_head"}
        small = (
            {gpt2_names[k]: v for k, v in _SMALL.items() if k in gpt2_names}
            if spec.family == "gpt2"
            else {**_SMALL, **({"projection_dim": SMALL_WIDTH} if spec.family == "clip" else {})}
        )
        changes = {
            k: v for k, v in changes.items() if k not in ("n_inner", "intermediate_size")
        } | small
    if spec.family == "gpt2":
        return GPT2Config(**changes)
    if spec.family == "bert":
        return BertConfig(**changes)
    if spec.family == "clip":
        text = CLIPTextConfig(**changes)
        vision = {**_TINY_VISION, "projection_dim": text.projection_dim}
        return CLIPConfig(
            text_config=text.to_dict(), vision_config=vision, projection_dim=text.projection_dim
        )
    if spec.family == "siglip":
        return SiglipConfig(
            text_config=SiglipTextConfig(**changes).to_dict(), vision_config=_TINY_VISION
        )
    raise ValueError(f"No stand-in config for the family {spec.family!r}.")


def _standin_model(spec: ModelSpec, size: StandinSize) -> torch.nn.Module:
    """The full checkpoint the hub holds (GPT-2 with its LM head, BERT with its pooler,
    CLIP and SigLIP with both towers), at the stand-in's size."""
    classes = {"gpt2": GPT2LMHeadModel, "bert": BertModel, "clip": CLIPModel, "siglip": SiglipModel}
    return classes[spec.family](standin_config(spec, size))


def standin_checkpoint(key: str | ModelSpec, settings: Settings) -> Path:
    """Folder of the seeded stand-in checkpoint in the cache, written on first use."""
    spec = spec_for(key)
    seed, size = settings.standin_seed, settings.standin_size
    name = standin_folder_name(spec, settings)

    def complete(folder: Path) -> bool:
        return (folder / STANDIN_MARKER).is_file() and (folder / WEIGHTS_FILE).is_file()

    store = store_for(settings)
    if complete(store.path("stand-ins", name)):
        return store.path("stand-ins", name)
    tokenizer = _standin_tokenizer(spec, settings)
    expected = _standin_config_vocabulary(spec)
    if len(tokenizer) != expected:  # checked before anything is written to the cache
        raise ModelUnavailableError(
            f"The tokenizer for the {spec.label} stand-in has {len(tokenizer)} tokens but "
            f"{spec.label}'s vocabulary has {expected}: check CVSP_TOKENIZERS_DIR/{spec.key}."
        )

    def fill(staging: Path) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_standin_seed(spec, seed))
            model = _standin_model(spec, size)
        with quiet_transformers():
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
        marker = {
            "what": f"stand-in for {spec.hub_id}: real architecture, RANDOM weights",
            "seed": seed,
            "size": size,
            **_tokenizer_note(spec),
            "weights_sha256": sha256_of(staging / WEIGHTS_FILE),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
        (staging / STANDIN_MARKER).write_text(json.dumps(marker, indent=2))

    # replaces a folder an interrupted run left without its marker
    return store.folder("stand-ins", name, complete, fill)


def _tokenizer_note(spec: ModelSpec) -> dict[str, str]:
    """The marker's note of a stand-in tokenizer, for the families that have one."""
    if spec.family not in STANDIN_TOKENIZERS:
        return {}
    return {"tokenizer": STANDIN_TOKENIZERS[spec.family].LABEL}
