"""GPT-2 and CLIP's text encoder: real pretrained weights, or seeded stand-ins.

A model is named by a short key (``gpt2``, ``clip``). Real models come from the
Hugging Face hub through ``from_pretrained`` (safetensors only, no remote code).
Stand-ins have the same architecture with seeded random weights and the real
tokenizers; they are written to the cache with ``save_pretrained`` once and then
loaded through the very same ``from_pretrained`` call as a real checkpoint.

Used by every chapter through :func:`load_models`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (
    AutoTokenizer,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Model,
    PreTrainedTokenizerBase,
)

from cvsp.data import sha256_of
from cvsp.settings import Settings

HUB_TIMEOUT_S = 5.0
WEIGHTS_FILE = "model.safetensors"
STANDIN_MARKER = "stand-in.json"


@dataclass(frozen=True)
class ModelSpec:
    """What the paper calls a model: hub id, architecture family, display name."""

    key: str
    hub_id: str
    family: str
    label: str
    max_tokens: int  # longest input, special tokens included


MODELS: dict[str, ModelSpec] = {
    "gpt2": ModelSpec("gpt2", "gpt2", "gpt2", "GPT-2", 1024),
    "clip": ModelSpec("clip", "openai/clip-vit-base-patch32", "clip", "CLIP", 77),
}


class ModelUnavailableError(RuntimeError):
    """The requested weights cannot be loaded; the message says what to do."""


def offline_message(spec: ModelSpec) -> str:
    return (
        f"The Hugging Face hub cannot be reached, so the real {spec.label} weights "
        f"({spec.hub_id}) cannot be downloaded and are not in the local hub cache; "
        "connect to the internet, or run with stand-in models (random weights) "
        "using --models stand-in or CVSP_MODELS=stand-in."
    )


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference, with everything needed to say what it was."""

    spec: ModelSpec
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    source: str  # "real" or "stand-in"
    revision: str | None = None  # requested hub revision (real models)
    commit: str | None = None  # resolved hub commit (real models)
    standin_seed: int | None = None
    weights_sha256: str | None = None  # stand-ins

    @property
    def is_stand_in(self) -> bool:
        return self.source == "stand-in"

    @property
    def fingerprint(self) -> str:
        """Identifies the exact weights, for cache keys."""
        if self.is_stand_in:
            return f"stand-in:{self.spec.key}:seed{self.standin_seed}:{self.weights_sha256}"
        return f"{self.spec.hub_id}@{self.commit or self.revision}"

    def provenance(self) -> dict[str, Any]:
        return {
            "key": self.spec.key,
            "hub_id": self.spec.hub_id,
            "source": self.source,
            "revision": self.revision,
            "commit": self.commit,
            "standin_seed": self.standin_seed,
            "weights_sha256": self.weights_sha256,
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


def _spec(key: str) -> ModelSpec:
    if key not in MODELS:
        raise ModelUnavailableError(f"Unknown model {key!r}; choose from {', '.join(MODELS)}.")
    return MODELS[key]


def _model_class(spec: ModelSpec) -> type:
    return GPT2Model if spec.family == "gpt2" else CLIPTextModelWithProjection


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
    _check_vocabulary(spec, model, tokenizer)
    resolved = resolve_device(device)
    model.to(resolved).eval()
    return model, tokenizer, resolved


# --------------------------------------------------------------------------- real models


def _hub_status(spec: ModelSpec, revision: str) -> int | None:
    """HTTP status of the hub's page for this revision, or None when unreachable."""
    from huggingface_hub import constants, get_session

    url = f"{constants.ENDPOINT}/api/models/{spec.hub_id}/revision/{revision}"
    try:
        return get_session().head(url, timeout=HUB_TIMEOUT_S).status_code
    except Exception:  # DNS, proxy, TLS and timeout errors all mean "unreachable"
        return None


def _resolved_commit(spec: ModelSpec, revision: str) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.hub_id, "config.json", revision=revision)
    return Path(cached).parent.name if isinstance(cached, str) else None


def load_real(key: str, revision: str = "main", device: str = "auto") -> LoadedModel:
    """Load pretrained weights from the hub (or the local hub cache when offline)."""
    return load_hub(_spec(key), revision, device)


def load_hub(spec: ModelSpec, revision: str = "main", device: str = "auto") -> LoadedModel:
    """Load ``spec.hub_id`` at ``revision``; a clear error when that cannot be done."""
    from huggingface_hub import constants

    local_only = bool(constants.HF_HUB_OFFLINE)
    if not local_only:
        status = _hub_status(spec, revision)
        if status is None:
            local_only = True  # a populated hub cache still works without a network
        elif status == 404:
            raise ModelUnavailableError(
                f"The hub has no model {spec.hub_id!r} at revision {revision!r}; check "
                "the model id and the CVSP_*_REVISION setting."
            )
        elif status >= 400:
            raise ModelUnavailableError(
                f"The hub refused {spec.hub_id!r} at revision {revision!r} (HTTP {status})."
            )
    options = dict(revision=revision, local_files_only=local_only)
    try:
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
        if local_only:
            raise ModelUnavailableError(offline_message(spec)) from error
        raise ModelUnavailableError(
            f"Could not load {spec.hub_id!r} at revision {revision!r}: {error}"
        ) from error
    model, tokenizer, resolved = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved, "real",
        revision=revision, commit=_resolved_commit(spec, revision),
    )  # fmt: skip


# ----------------------------------------------------------------------------- stand-ins


def _standin_tokenizer(spec: ModelSpec, settings: Settings) -> Any:
    if settings.tokenizers_dir is not None:
        folder = settings.tokenizers_dir / spec.key
        if not folder.is_dir():
            raise ModelUnavailableError(
                f"CVSP_TOKENIZERS_DIR ({settings.tokenizers_dir}) has no {spec.key}/ "
                "folder with the tokenizer files."
            )
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    try:
        return AutoTokenizer.from_pretrained(spec.hub_id, revision=settings.revisions[spec.key])
    except OSError as error:
        raise ModelUnavailableError(
            f"Stand-in {spec.label} needs the real tokenizer, which could not be loaded "
            f"from the hub ({spec.hub_id}); set CVSP_TOKENIZERS_DIR to a folder with "
            f"{spec.key}/vocab.json and merges.txt."
        ) from error


def _standin_model(spec: ModelSpec) -> torch.nn.Module:
    """The full checkpoint the hub holds, with default (= paper-size) configs."""
    if spec.family == "gpt2":
        return GPT2LMHeadModel(GPT2Config())
    tiny_vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, image_size=32, patch_size=16,
    )  # fmt: skip
    config = CLIPConfig(text_config=CLIPTextConfig().to_dict(), vision_config=tiny_vision)
    return CLIPModel(config)


def standin_checkpoint(key: str, settings: Settings) -> Path:
    """Folder of the seeded stand-in checkpoint, written on first use (atomically)."""
    spec = _spec(key)
    seed = settings.standin_seed
    root = settings.cache_dir / "stand-ins"
    folder = root / f"{key}-seed{seed}"
    if (folder / STANDIN_MARKER).is_file() and (folder / WEIGHTS_FILE).is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tokenizer = _standin_tokenizer(spec, settings)
    expected = GPT2Config().vocab_size if spec.family == "gpt2" else CLIPTextConfig().vocab_size
    if len(tokenizer) != expected:  # checked before anything is written to the cache
        raise ModelUnavailableError(
            f"The tokenizer for the {spec.label} stand-in has {len(tokenizer)} tokens but "
            f"{spec.label}'s vocabulary has {expected}: check CVSP_TOKENIZERS_DIR/{spec.key}."
        )
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder.name}-"))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _standin_model(spec)
        with _quiet_transformers():
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
        marker = {
            "what": f"stand-in for {spec.hub_id}: real architecture, RANDOM weights",
            "seed": seed,
            "weights_sha256": sha256_of(staging / WEIGHTS_FILE),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
        (staging / STANDIN_MARKER).write_text(json.dumps(marker, indent=2))
        if folder.exists():  # left behind by an interrupted run, without its marker
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_checkpoint(spec: ModelSpec, folder: Path) -> tuple[torch.nn.Module, Any]:
    """``from_pretrained`` on a local checkpoint folder; safetensors weights only."""
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"{folder} is not a model checkpoint (no config.json).")
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


def load_stand_in(key: str, settings: Settings, device: str = "auto") -> LoadedModel:
    """Load the seeded stand-in through the same ``from_pretrained`` path as real weights."""
    spec = _spec(key)
    folder = standin_checkpoint(key, settings)
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    model, tokenizer = read_checkpoint(spec, folder)
    model, tokenizer, resolved = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved, "stand-in",
        standin_seed=marker["seed"], weights_sha256=marker["weights_sha256"],
    )  # fmt: skip


def load_model(key: str, settings: Settings, device: str | None = None) -> LoadedModel:
    """Load model ``key`` as the settings say: real weights or a stand-in."""
    chosen = device or settings.device
    if settings.is_stand_in:
        return load_stand_in(key, settings, chosen)
    return load_real(key, settings.revisions.get(key, "main"), chosen)


def load_models(
    settings: Settings, keys: tuple[str, ...] = ("gpt2", "clip"), device: str | None = None
) -> dict[str, LoadedModel]:
    """Load several models; every key is checked before any weights are read."""
    for key in keys:
        _spec(key)
    return {key: load_model(key, settings, device) for key in keys}
