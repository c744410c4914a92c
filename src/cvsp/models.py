"""Loading a model: real pretrained weights from the hub, or a seeded stand-in.

Real models come from the Hugging Face hub through ``from_pretrained`` at the one
commit :mod:`cvsp.hub` resolved (safetensors only, no remote code). Stand-ins (the same
architectures with seeded random weights, :mod:`cvsp.standins`) are written to the cache
once and then loaded through the very same ``from_pretrained`` call as a real checkpoint.
Which models exist, and at which commit, is :mod:`cvsp.registry`'s.

Used by every chapter and by ``cvsp reproduce`` through :func:`load_models`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import transformers
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    CLIPTextModelWithProjection,
    GPT2Model,
    PreTrainedTokenizerBase,
    SiglipTextModel,
)

from cvsp.facts import hub_fingerprint, standin_fingerprint
from cvsp.hub import (
    cached_commit,
    offline_message,
    resolve_all,
    resolve_revision,
    revision_for,
    unpinned_message,
    weights_digest,
)
from cvsp.registry import (
    PAPER_MODELS,
    WEIGHTS_FILE,
    ModelSpec,
    ModelUnavailableError,
    check_family,
    spec_for,
)
from cvsp.settings import TORCH_MISSING, Settings
from cvsp.standins import STANDIN_MARKER, quiet_transformers, standin_checkpoint

try:
    import torch
except ModuleNotFoundError as missing:  # the torch-free install replays; computing needs torch
    raise ModuleNotFoundError(TORCH_MISSING) from missing


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
    tokenizer_note: str | None = None  # a stand-in's tokenizer, where not the real one

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
            return standin_fingerprint(
                self.spec, self.standin_seed, self.standin_size, self.weights_sha256
            )
        return hub_fingerprint(self.spec, self.commit or self.revision)

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
            **(
                {"pinned_commit_prefix": self.spec.commit_prefix}
                if self.spec.commit_prefix and not self.is_stand_in
                else {}
            ),
            "standin_seed": self.standin_seed,
            **({"standin_size": self.standin_size} if self.is_stand_in else {}),
            "weights_sha256": self.weights_sha256,
            **(
                {"published_sha256": self.spec.published_sha256}
                if self.spec.published_sha256 and not self.is_stand_in
                else {}
            ),
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
    return {
        "gpt2": GPT2Model,
        "clip": CLIPTextModelWithProjection,
        "bert": AutoModel,
        "siglip": SiglipTextModel,
    }[spec.family]


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
    spec: ModelSpec,
    revision: str | None = None,
    device: str = "auto",
    resolved: tuple[str, bool] | None = None,
) -> LoadedModel:
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
        with quiet_transformers():
            config = AutoConfig.from_pretrained(spec.hub_id, trust_remote_code=False, **options)
        check_family(spec, config.model_type)  # before the weights are downloaded
        with quiet_transformers():
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
        spec,
        model,
        tokenizer,
        resolved_device,
        "real",
        revision=revision,
        commit=commit,
        weights_sha256=weights_digest(spec, commit),
    )


# ----------------------------------------------------------------------------- stand-ins


def read_checkpoint(spec: ModelSpec, folder: Path) -> tuple[torch.nn.Module, Any]:
    """``from_pretrained`` on a local checkpoint folder; safetensors weights only."""
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"{folder} is not a model checkpoint (no config.json).")
    check_family(
        spec, json.loads((folder / "config.json").read_text()).get("model_type", "unknown")
    )
    has_safetensors = (
        any(folder.glob("*.safetensors")) or (folder / f"{WEIGHTS_FILE}.index.json").is_file()
    )
    if not has_safetensors:
        found = ", ".join(sorted(p.name for p in folder.glob("*.bin"))) or "no weights"
        raise ModelUnavailableError(
            f"{folder} has no safetensors weights ({found}); cvsp loads safetensors only "
            "and never unpickles .bin files. Convert the checkpoint or delete the folder."
        )
    try:
        with quiet_transformers():
            model = _model_class(spec).from_pretrained(
                folder,
                use_safetensors=True,
                trust_remote_code=False,
                dtype=torch.float32,
                local_files_only=True,
            )
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(
            f"Could not load the checkpoint in {folder}: {error}"
        ) from error
    return model, tokenizer


def load_stand_in(key: str | ModelSpec, settings: Settings, device: str = "auto") -> LoadedModel:
    """Load the seeded stand-in through the same ``from_pretrained`` path as real weights."""
    spec = spec_for(key)
    folder = standin_checkpoint(spec, settings)
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    model, tokenizer = read_checkpoint(spec, folder)
    model, tokenizer, resolved = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec,
        model,
        tokenizer,
        resolved,
        "stand-in",
        standin_seed=marker["seed"],
        standin_size=marker.get("size", "full"),
        weights_sha256=marker["weights_sha256"],
        tokenizer_note=marker.get("tokenizer"),
    )


def load_model(key: str | ModelSpec, settings: Settings, device: str | None = None) -> LoadedModel:
    """Load model ``key`` as the settings say: real weights or a stand-in."""
    chosen = device or settings.device
    if settings.is_stand_in:
        return load_stand_in(key, settings, chosen)
    spec = spec_for(key)
    return load_hub(spec, revision_for(spec, settings), chosen)


def load_models(
    settings: Settings,
    keys: tuple[str | ModelSpec, ...] = PAPER_MODELS,
    device: str | None = None,
    resolved: Mapping[str, tuple[str, tuple[str, bool]]] | None = None,
) -> dict[str, LoadedModel]:
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
