"""Every setting of the project, read from environment variables in one place.

| variable | meaning | default |
| --- | --- | --- |
| ``CVSP_MODELS`` | ``real`` (pretrained weights from the hub) or ``stand-in`` | ``real`` |
| ``CVSP_DATA_DIR`` | folder holding local copies of the six evaluation files | unset: download |
| ``CVSP_TOKENIZERS_DIR`` | folder with ``gpt2/`` and ``clip/`` tokenizers for stand-ins | unset: hub |
| ``CVSP_CACHE_DIR`` | stand-in checkpoints, downloaded data, embedding cache | per-user cache |
| ``CVSP_GPT2_REVISION`` | hub revision (commit, tag or branch) of ``gpt2`` | pinned commit ``607a30d7…`` |
| ``CVSP_CLIP_REVISION`` | hub revision of ``openai/clip-vit-base-patch32`` | pinned commit ``c237dc49…`` |
| ``CVSP_STANDIN_SEED`` | seed of the stand-in models' random weights | ``0`` |
| ``CVSP_DEVICE`` | ``auto`` (cuda > mps > cpu), ``cpu``, ``cuda``, ``mps`` | ``auto`` |

Settings are an immutable value: functions receive them as an argument rather than
reading the environment themselves, so tests and notebooks can build their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pooch

ModelSource = Literal["real", "stand-in"]
MODEL_SOURCES: tuple[str, ...] = ("real", "stand-in")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


class SettingsError(ValueError):
    """A setting has a value the project cannot use."""


def revision_variable(key: str) -> str:
    """The environment variable that overrides the pinned revision of model ``key``."""
    return f"CVSP_{key.upper()}_REVISION"


def _optional_dir(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """Where data, tokenizers and caches live, and which weights to run."""

    models: ModelSource = "real"
    data_dir: Path | None = None
    tokenizers_dir: Path | None = None
    cache_dir: Path = field(default_factory=lambda: Path(pooch.os_cache("cvsp")))
    revisions: Mapping[str, str] = field(default_factory=dict)  # key -> revision, if overridden
    standin_seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.models not in MODEL_SOURCES:
            raise SettingsError(
                f"CVSP_MODELS must be one of {', '.join(MODEL_SOURCES)}, not {self.models!r}."
            )
        if self.device not in DEVICES:
            raise SettingsError(
                f"CVSP_DEVICE must be one of {', '.join(DEVICES)}, not {self.device!r}."
            )

    @property
    def is_stand_in(self) -> bool:
        return self.models == "stand-in"

    def revision(self, key: str, pinned: str) -> str:
        """The hub revision to load for model ``key``: the override, else ``pinned``."""
        return self.revisions.get(key) or pinned

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (``settings.with_(models="stand-in")``)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the ``CVSP_*`` variables (``os.environ`` unless another mapping is given)."""
        env = os.environ if environ is None else environ
        seed_text = env.get("CVSP_STANDIN_SEED", "0")
        try:
            seed = int(seed_text)
        except ValueError:
            raise SettingsError(
                f"CVSP_STANDIN_SEED must be an integer, not {seed_text!r}."
            ) from None
        cache = _optional_dir(env.get("CVSP_CACHE_DIR"))
        return cls(
            models=env.get("CVSP_MODELS", "real").strip().lower(),  # type: ignore[arg-type]
            data_dir=_optional_dir(env.get("CVSP_DATA_DIR")),
            tokenizers_dir=_optional_dir(env.get("CVSP_TOKENIZERS_DIR")),
            cache_dir=cache if cache is not None else Path(pooch.os_cache("cvsp")),
            revisions={
                key: env[revision_variable(key)].strip()
                for key in ("gpt2", "clip")
                if env.get(revision_variable(key), "").strip()
            },
            standin_seed=seed,
            device=env.get("CVSP_DEVICE", "auto").strip().lower(),
        )
