"""Loading a model: real pretrained weights from the hub, or a seeded stand-in.

Real models come from the Hugging Face hub through ``from_pretrained`` at the one
commit :mod:`cvsp.hub` resolved (safetensors only, no remote code). Stand-ins have the
same architecture with seeded random weights and the real tokenizers (for the BERT
and SigLIP families, which have no tokenizer offline, a stand-in WordPiece tokenizer,
:mod:`cvsp.wordpiece`, or SentencePiece tokenizer, :mod:`cvsp.unigram`); they are written to the cache with ``save_pretrained`` once
and then loaded through the very same ``from_pretrained`` call as a real checkpoint.
Which models exist, and at which commit, is :mod:`cvsp.registry`'s.

Used by every chapter and by ``cvsp reproduce`` through :func:`load_models`.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertModel,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Model,
    PreTrainedTokenizerBase,
    SiglipConfig,
    SiglipModel,
    SiglipTextConfig,
    SiglipTextModel,
)

from cvsp import unigram, wordpiece
from cvsp.data import sha256_of
from cvsp.hub import (
    cached_commit,
    offline_message,
    resolve_all,
    resolve_revision,
    revision_for,
    unpinned_message,
    weights_digest,
)
from cvsp.registry import PAPER_MODELS, WEIGHTS_FILE, ModelSpec, ModelUnavailableError, check_family, spec_for
from cvsp.settings import Settings, StandinSize
from cvsp.storage import atomic_folder

STANDIN_MARKER = "stand-in.json"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference, with everything needed to say what it was."""

    spec: ModelSpec
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    source: str  # "real" or "stand-in"
    revision: str | None = None  # requested hub revision (real models)
    commit: str | None = None  # the commit every file was read from (real models)
    standin_seed: int | None = None
    standin_size: str | None = None  # "full" or "small" (stand-ins)
    weights_sha256: str | None = None
    tokenizer_note: str | None = None  # what a stand-in's tokenizer is, where it is not the real one

    @property
    def is_stand_in(self) -> bool:
        return self.source == "stand-in"

    @property
    def blocks(self) -> int:
        """The number of blocks (transformer layers), from the model's config: 12 for the
        paper's models, 24 for GPT-2 medium. Its hidden states are ``0``..``blocks``."""
        return int(self.model.config.num_hidden_layers)

    @property
    def fingerprint(self) -> str:
        """Identifies the exact weights, for cache keys."""
        if self.is_stand_in:
            sized = "" if self.standin_size in (None, "full") else f":{self.standin_size}"
            return f"stand-in:{self.spec.key}{sized}:seed{self.standin_seed}:{self.weights_sha256}"
        return f"{self.spec.hub_id}@{self.commit or self.revision}"

    def provenance(self) -> dict[str, Any]:
        return {
            "key": self.spec.key,
            "hub_id": self.spec.hub_id,
            "family": self.spec.family,
            "source": self.source,
            "revision": self.revision,
            "commit": self.commit,
            "pinned_revision": None if self.is_stand_in else self.spec.revision,
            "pinned_commit": None if self.is_stand_in else self.spec.pinned_commit,
            **({"pinned_commit_prefix": self.spec.commit_prefix} if self.spec.commit_prefix and not self.is_stand_in else {}),
            "standin_seed": self.standin_seed,
            **({"standin_size": self.standin_size} if self.is_stand_in else {}),
            "weights_sha256": self.weights_sha256,
            **({"published_sha256": self.spec.published_sha256} if self.spec.published_sha256 and not self.is_stand_in else {}),
            **({"tokenizer": self.tokenizer_note} if self.tokenizer_note else {}),
            **({"pin_verified": False} if not self.spec.verified else {}),
            "model_class": type(self.model).__name__,
            "device": str(self.device),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; other names are used as given."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _model_class(spec: ModelSpec) -> type:
    """The class that reads a family's checkpoints: the text tower alone for two-tower models."""
    return {"gpt2": GPT2Model, "clip": CLIPTextModelWithProjection, "bert": AutoModel,
            "siglip": SiglipTextModel}[spec.family]  # fmt: skip


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
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


def _check_vocabulary(spec: ModelSpec, model: torch.nn.Module, tokenizer: Any) -> None:
    vocab = model.config.vocab_size
    if len(tokenizer) != vocab:
        raise ModelUnavailableError(
            f"The {spec.label} tokenizer has {len(tokenizer)} tokens but the model's "
            f"vocabulary has {vocab}: the tokenizer does not belong to this model."
        )


def _finish(spec: ModelSpec, model: torch.nn.Module, tokenizer: Any, device: str) -> tuple:
    check_family(spec, model.config.model_type)
    _check_vocabulary(spec, model, tokenizer)
    resolved = resolve_device(device)
    model.to(resolved).eval()
    return model, tokenizer, resolved


def load_real(key: str, revision: str | None = None, device: str = "auto") -> LoadedModel:
    """Load pretrained weights at ``revision`` (default: the pinned commit)."""
    spec = spec_for(key)
    return load_hub(spec, revision or spec.revision, device)


def load_hub(
    spec: ModelSpec, revision: str | None = None, device: str = "auto",
    resolved: tuple[str, bool] | None = None,
) -> LoadedModel:  # fmt: skip
    """Load ``spec.hub_id`` from the one commit ``revision`` names; a clear error otherwise.

    Weights, config and tokenizer are all read at that commit (never at a moving branch),
    from safetensors only, so transformers' on-the-fly conversion is never triggered.
    """
    revision = revision or spec.revision
    if revision is None:
        raise ModelUnavailableError(unpinned_message(spec))
    commit, online = resolved or resolve_revision(spec, revision)
    options = dict(revision=commit, local_files_only=not online)
    try:
        with _quiet_transformers():
            config = AutoConfig.from_pretrained(spec.hub_id, trust_remote_code=False, **options)
        check_family(spec, config.model_type)  # before the weights are downloaded
        with _quiet_transformers():
            model = _model_class(spec).from_pretrained(
                spec.hub_id,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
                **options,
            )
            tokenizer = AutoTokenizer.from_pretrained(spec.hub_id, **options)
    except (OSError, ValueError) as error:
        if not online:
            raise ModelUnavailableError(offline_message(spec)) from error
        raise ModelUnavailableError(
            f"Could not load {spec.hub_id!r} at commit {commit} (revision {revision!r}): {error}"
        ) from error
    read_from = cached_commit(spec, commit)
    if read_from != commit:  # the files must come from the commit that was resolved
        raise ModelUnavailableError(
            f"{spec.hub_id}: files were read from {read_from}, not from commit {commit}."
        )
    model, tokenizer, resolved_device = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved_device, "real",
        revision=revision, commit=commit, weights_sha256=weights_digest(spec, commit),
    )  # fmt: skip


# ----------------------------------------------------------------------------- stand-ins


STANDIN_TOKENIZERS = {"bert": wordpiece, "siglip": unigram}  # families with no real tokenizer offline


def _standin_tokenizer(spec: ModelSpec, settings: Settings) -> Any:
    if spec.family in STANDIN_TOKENIZERS:  # no such vocabulary offline: a stand-in tokenizer
        return STANDIN_TOKENIZERS[spec.family].train(wordpiece.evaluation_texts(settings))
    if settings.tokenizers_dir is not None:  # a GPT-2 or CLIP: every model of the family shares its vocabulary
        folder = settings.tokenizers_dir / spec.family
        if not folder.is_dir():
            raise ModelUnavailableError(
                f"CVSP_TOKENIZERS_DIR ({settings.tokenizers_dir}) has no {spec.family}/ "
                "folder with the tokenizer files."
            )
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    try:
        return AutoTokenizer.from_pretrained(spec.hub_id, revision=settings.revision(spec.key, spec.revision))
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
    return seed if spec.key in PAPER_MODELS else (seed * 1_000_003 + zlib.crc32(spec.key.encode())) % 2**31


SMALL_WIDTH = 64  # a small stand-in's hidden (and projection) size; layers, vocabularies, positions stay real
_SMALL = dict(hidden_size=SMALL_WIDTH, intermediate_size=2 * SMALL_WIDTH, num_attention_heads=4)
_TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                    image_size=32, patch_size=16)  # fmt: skip  # never run: a two-tower checkpoint holds a vision tower


def standin_config(key: str | ModelSpec, size: StandinSize = "full") -> transformers.PretrainedConfig:
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
        small = ({gpt2_names[k]: v for k, v in _SMALL.items() if k in gpt2_names} if spec.family == "gpt2"
                 else {**_SMALL, **({"projection_dim": SMALL_WIDTH} if spec.family == "clip" else {})})  # fmt: skip
        changes = {k: v for k, v in changes.items() if k not in ("n_inner", "intermediate_size")} | small
    if spec.family == "gpt2":
        return GPT2Config(**changes)
    if spec.family == "bert":
        return BertConfig(**changes)
    if spec.family == "clip":
        text = CLIPTextConfig(**changes)
        vision = {**_TINY_VISION, "projection_dim": text.projection_dim}
        return CLIPConfig(text_config=text.to_dict(), vision_config=vision, projection_dim=text.projection_dim)
    if spec.family == "siglip":
        return SiglipConfig(text_config=SiglipTextConfig(**changes).to_dict(), vision_config=_TINY_VISION)
    raise ValueError(f"No stand-in config for the family {spec.family!r}.")


def _standin_model(spec: ModelSpec, size: StandinSize) -> torch.nn.Module:
    """The full checkpoint the hub holds (GPT-2 with its LM head, BERT with its pooler,
    CLIP and SigLIP with both towers), at the stand-in's size."""
    classes = {"gpt2": GPT2LMHeadModel, "bert": BertModel, "clip": CLIPModel, "siglip": SiglipModel}
    return classes[spec.family](standin_config(spec, size))


def standin_checkpoint(key: str | ModelSpec, settings: Settings) -> Path:
    """Folder of the seeded stand-in checkpoint, written on first use (atomically)."""
    spec = spec_for(key)
    seed, size = settings.standin_seed, settings.standin_size
    root = settings.cache_dir / "stand-ins"
    sized = "" if size == "full" else f"-{size}"  # full-size folders keep their names
    folder = root / f"{spec.key.replace('/', '--')}-seed{seed}{sized}"
    if (folder / STANDIN_MARKER).is_file() and (folder / WEIGHTS_FILE).is_file():
        return folder
    tokenizer = _standin_tokenizer(spec, settings)
    expected = _standin_config_vocabulary(spec)
    if len(tokenizer) != expected:  # checked before anything is written to the cache
        raise ModelUnavailableError(
            f"The tokenizer for the {spec.label} stand-in has {len(tokenizer)} tokens but "
            f"{spec.label}'s vocabulary has {expected}: check CVSP_TOKENIZERS_DIR/{spec.key}."
        )
    with atomic_folder(folder) as staging:  # replaces a folder an interrupted run left without its marker
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_standin_seed(spec, seed))
            model = _standin_model(spec, size)
        with _quiet_transformers():
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
        marker = {
            "what": f"stand-in for {spec.hub_id}: real architecture, RANDOM weights",
            "seed": seed,
            "size": size,
            **({"tokenizer": STANDIN_TOKENIZERS[spec.family].LABEL} if spec.family in STANDIN_TOKENIZERS else {}),
            "weights_sha256": sha256_of(staging / WEIGHTS_FILE),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
        (staging / STANDIN_MARKER).write_text(json.dumps(marker, indent=2))
    return folder


def read_checkpoint(spec: ModelSpec, folder: Path) -> tuple[torch.nn.Module, Any]:
    """``from_pretrained`` on a local checkpoint folder; safetensors weights only."""
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"{folder} is not a model checkpoint (no config.json).")
    check_family(spec, json.loads((folder / "config.json").read_text()).get("model_type", "unknown"))
    has_safetensors = any(folder.glob("*.safetensors")) or (folder / f"{WEIGHTS_FILE}.index.json").is_file()
    if not has_safetensors:
        found = ", ".join(sorted(p.name for p in folder.glob("*.bin"))) or "no weights"
        raise ModelUnavailableError(
            f"{folder} has no safetensors weights ({found}); cvsp loads safetensors only "
            "and never unpickles .bin files. Convert the checkpoint or delete the folder."
        )
    try:
        with _quiet_transformers():
            model = _model_class(spec).from_pretrained(
                folder, use_safetensors=True, trust_remote_code=False,
                dtype=torch.float32, local_files_only=True,
            )  # fmt: skip
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(f"Could not load the checkpoint in {folder}: {error}") from error
    return model, tokenizer


def load_stand_in(key: str | ModelSpec, settings: Settings, device: str = "auto") -> LoadedModel:
    """Load the seeded stand-in through the same ``from_pretrained`` path as real weights."""
    spec = spec_for(key)
    folder = standin_checkpoint(spec, settings)
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    model, tokenizer = read_checkpoint(spec, folder)
    model, tokenizer, resolved = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved, "stand-in",
        standin_seed=marker["seed"], standin_size=marker.get("size", "full"),
        weights_sha256=marker["weights_sha256"], tokenizer_note=marker.get("tokenizer"),
    )  # fmt: skip


def load_model(key: str | ModelSpec, settings: Settings, device: str | None = None) -> LoadedModel:
    """Load model ``key`` as the settings say: real weights or a stand-in."""
    chosen = device or settings.device
    if settings.is_stand_in:
        return load_stand_in(key, settings, chosen)
    spec = spec_for(key)
    return load_hub(spec, revision_for(spec, settings), chosen)


def load_models(
    settings: Settings, keys: tuple[str | ModelSpec, ...] = PAPER_MODELS, device: str | None = None,
    resolved: Mapping[str, tuple[str, tuple[str, bool]]] | None = None,
) -> dict[str, LoadedModel]:  # fmt: skip
    """Load several models (registry keys or specs of :func:`parse_model`); every key, and
    for real models every revision, is checked (and a revision without safetensors
    refused) before any weights are downloaded. ``resolved``: what :func:`cvsp.hub.resolve_all`
    returned for these models, where a caller has checked them already."""
    specs = [spec_for(key) for key in keys]
    if settings.is_stand_in:
        return {s.key: load_model(s, settings, device) for s in specs}
    chosen = device or settings.device
    resolved = resolved or resolve_all(specs, settings)
    return {s.key: load_hub(s, resolved[s.key][0], chosen, resolved[s.key][1]) for s in specs}
