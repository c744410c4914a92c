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
import re
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
from cvsp.settings import Settings, revision_variable

HUB_TIMEOUT_S = 5.0
COMMIT_RE = re.compile(r"[0-9a-f]{40}")
WEIGHTS_FILE = "model.safetensors"
STANDIN_MARKER = "stand-in.json"


@dataclass(frozen=True)
class ModelSpec:
    """What the paper calls a model: hub id, pinned commit, architecture family, label."""

    key: str
    hub_id: str
    family: str
    label: str
    max_tokens: int  # longest input, special tokens included
    revision: str = "main"  # the commit loaded by default; a full hash for the paper's models


# The pinned commits. gpt2: main, which holds model.safetensors. CLIP: main
# (3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268) holds only pytorch_model.bin; its weights as
# safetensors are on the hub's conversion commit, the pull-request ref refs/pr/66.
GPT2_COMMIT = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
CLIP_COMMIT = "c237dc49a33fc61debc9276459120b7eac67e7ef"

MODELS: dict[str, ModelSpec] = {
    "gpt2": ModelSpec("gpt2", "gpt2", "gpt2", "GPT-2", 1024, GPT2_COMMIT),
    "clip": ModelSpec("clip", "openai/clip-vit-base-patch32", "clip", "CLIP", 77, CLIP_COMMIT),
}


class ModelUnavailableError(RuntimeError):
    """The requested weights cannot be loaded; the message says what to do."""


def offline_message(spec: ModelSpec) -> str:
    return (
        f"The Hugging Face hub cannot be reached (or HF_HUB_OFFLINE is set), so the real {spec.label} weights "
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
    commit: str | None = None  # the commit every file was read from (real models)
    standin_seed: int | None = None
    weights_sha256: str | None = None

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
            "pinned_commit": None if self.is_stand_in else self.spec.revision,
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


def _is_commit(revision: str) -> bool:
    return bool(COMMIT_RE.fullmatch(revision))


def refusal_message(spec: ModelSpec, revision: str) -> str:
    """Why a revision without safetensors weights is refused, and what to do instead."""
    return (
        f"{spec.hub_id} at revision {revision!r} holds no {WEIGHTS_FILE}; cvsp reads "
        "safetensors weights only (it never unpickles .bin files nor asks the hub to "
        f"convert them), so unset {revision_variable(spec.key)} to use the pinned default "
        f"{spec.revision} or name another revision that holds {WEIGHTS_FILE}."
    )


def _cached_commit(spec: ModelSpec, revision: str) -> str | None:
    """The commit a revision names in the local hub cache (a commit names itself)."""
    if _is_commit(revision):
        return revision
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.hub_id, "config.json", revision=revision)
    return Path(cached).parent.name if isinstance(cached, str) else None


def _has_safetensors(names: set[str]) -> bool:
    return WEIGHTS_FILE in names or f"{WEIGHTS_FILE}.index.json" in names


def resolve_revision(spec: ModelSpec, revision: str) -> tuple[str, bool]:
    """``(commit, online)``: the commit ``revision`` names, asked of the hub or its cache.

    A revision whose commit holds no safetensors weights is refused here, before any
    download. Offline (``HF_HUB_OFFLINE=1``) or when the hub cannot be reached, the
    commit comes from the local hub cache, and a clear error says when it is not there.
    """
    from huggingface_hub import HfApi, constants, errors, try_to_load_from_cache

    if not constants.is_offline_mode():
        try:
            info = HfApi().model_info(spec.hub_id, revision=revision, timeout=HUB_TIMEOUT_S)
        except errors.RepositoryNotFoundError:
            raise ModelUnavailableError(
                f"The hub has no model {spec.hub_id!r} (or it is private); check the model id."
            ) from None
        except errors.RevisionNotFoundError:
            raise ModelUnavailableError(
                f"The hub has no revision {revision!r} of {spec.hub_id}; check "
                f"{revision_variable(spec.key)} (pinned default {spec.revision})."
            ) from None
        except errors.HfHubHTTPError as error:
            status = getattr(error.response, "status_code", "?")
            raise ModelUnavailableError(
                f"The hub answered HTTP {status} when asked for {spec.hub_id} at revision "
                f"{revision!r}; try again later, or set HF_HUB_OFFLINE=1 to use the local hub cache."
            ) from None
        except Exception:  # refused connections, DNS, proxy, TLS, time-outs: unreachable
            pass
        else:
            if not _has_safetensors({s.rfilename for s in info.siblings or ()}):
                raise ModelUnavailableError(refusal_message(spec, revision))
            return str(info.sha), True
    commit = _cached_commit(spec, revision)
    if commit is None:
        raise ModelUnavailableError(offline_message(spec))
    found = [try_to_load_from_cache(spec.hub_id, name, revision=commit)
             for name in (WEIGHTS_FILE, f"{WEIGHTS_FILE}.index.json")]  # fmt: skip
    if any(isinstance(path, str) for path in found):
        return commit, False
    if found[0] is not None:  # the hub said earlier that this commit has no safetensors
        raise ModelUnavailableError(refusal_message(spec, revision))
    raise ModelUnavailableError(offline_message(spec))


def _weights_digest(spec: ModelSpec, commit: str) -> str | None:
    """sha256 of the cached weights: the hub stores LFS files under their sha256."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.hub_id, WEIGHTS_FILE, revision=commit)
    if not isinstance(cached, str):
        return None
    blob = Path(cached).resolve()
    return blob.name if re.fullmatch(r"[0-9a-f]{64}", blob.name) else sha256_of(blob)


def load_real(key: str, revision: str | None = None, device: str = "auto") -> LoadedModel:
    """Load pretrained weights at ``revision`` (default: the pinned commit)."""
    spec = _spec(key)
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
    commit, online = resolved or resolve_revision(spec, revision)
    options = dict(revision=commit, local_files_only=not online)
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
        if not online:
            raise ModelUnavailableError(offline_message(spec)) from error
        raise ModelUnavailableError(
            f"Could not load {spec.hub_id!r} at commit {commit} (revision {revision!r}): {error}"
        ) from error
    read_from = _cached_commit(spec, commit)
    if read_from != commit:  # the files must come from the commit that was resolved
        raise ModelUnavailableError(
            f"{spec.hub_id}: files were read from {read_from}, not from commit {commit}."
        )
    model, tokenizer, resolved_device = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved_device, "real",
        revision=revision, commit=commit, weights_sha256=_weights_digest(spec, commit),
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
        return AutoTokenizer.from_pretrained(spec.hub_id, revision=settings.revision(spec.key, spec.revision))
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
    spec = _spec(key)
    return load_hub(spec, settings.revision(key, spec.revision), chosen)


def load_models(
    settings: Settings, keys: tuple[str, ...] = ("gpt2", "clip"), device: str | None = None
) -> dict[str, LoadedModel]:
    """Load several models; every key, and for real models every revision, is checked
    (and a revision without safetensors refused) before any weights are downloaded."""
    specs = [_spec(key) for key in keys]
    if settings.is_stand_in:
        return {key: load_model(key, settings, device) for key in keys}
    chosen = device or settings.device
    revisions = {s.key: settings.revision(s.key, s.revision) for s in specs}
    resolved = {s.key: resolve_revision(s, revisions[s.key]) for s in specs}
    return {s.key: load_hub(s, revisions[s.key], chosen, resolved[s.key]) for s in specs}
