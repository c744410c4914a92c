"""Every setting of the project, read from environment variables in one place.

:data:`VARIABLES` names each variable with its meaning and default; the tables of the
CONTRIBUTING.md, the book and ``cvsp --help`` are generated from it (:func:`settings_table`,
:func:`settings_help`). Settings are an immutable value: functions receive them as an
argument rather than reading the environment themselves, so tests and notebooks can
build their own.

Used by nearly every module; it reads the model keys from :mod:`cvsp.registry` and
imports no model library, so ``cvsp --help`` answers at once.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pooch

from cvsp.registry import MODELS, revision_variable

ModelSource = Literal["real", "stand-in"]
MODEL_SOURCES: tuple[str, ...] = ("real", "stand-in")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
StandinSize = Literal["full", "small"]
STANDIN_SIZES: tuple[str, ...] = ("full", "small")
MIN_BOOTSTRAP = 100  # fewer replicates make the 2.5 % and 97.5 % percentiles meaningless
REPLAY_OFF = "off"  # CVSP_REPLAY=off: compute, whatever a chapter's REPLAY line says
TORCH_MISSING = (
    "Computing with the models needs PyTorch, which is not installed here: install it with "
    "pip install 'cvsp[compute]' (or pip install torch), or replay a published build instead "
    "(a chapter's REPLAY line, or CVSP_REPLAY)."
)


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, what it sets, and the default."""

    name: str
    meaning: str
    default: str


def _pinned(key: str) -> str:
    return f"the pinned commit `{MODELS[key].revision[:8]}…`"


# Every ``CVSP_*`` variable, in the order the documentation lists them.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "CVSP_MODELS",
        "`real` (pretrained weights from the hub) or `stand-in` (random weights); `--models` overrides",
        "`real`",
    ),
    Variable(
        "CVSP_DATA_DIR",
        "folder holding local copies of the six evaluation files (checked by sha256)",
        "unset: download from the authors' repository at a pinned commit",
    ),
    Variable(
        "CVSP_TOKENIZERS_DIR",
        "folder with `gpt2/` and `clip/` tokenizers, used for stand-ins of the GPT-2 and CLIP families (BERT and SigLIP stand-ins build their own stand-in tokenizers)",
        "unset: the hub",
    ),
    Variable(
        "CVSP_CACHE_DIR",
        "stand-in checkpoints, downloaded data and the embedding cache",
        "the per-user cache folder (`~/.cache/cvsp` on Linux)",
    ),
    Variable(
        revision_variable("gpt2"),
        "hub revision (commit, tag or branch) of `gpt2`",
        _pinned("gpt2"),
    ),
    Variable(
        revision_variable("clip"),
        "hub revision of `openai/clip-vit-base-patch32`; it must hold `model.safetensors`",
        _pinned("clip") + " (`refs/pr/66`)",
    ),
    Variable(
        "CVSP_<KEY>_REVISION",
        "hub revision of another registry model, e.g. `CVSP_BERT_REVISION`, `CVSP_SIMCSE_SUP_REVISION` (see `cvsp models`)",
        "its pinned revision: a commit, or for the SimCSE models the hub's safetensors conversion ref, refused unless its commit is the verified one",
    ),
    Variable("CVSP_STANDIN_SEED", "seed of the stand-ins' random weights", "`0`"),
    Variable(
        "CVSP_STANDIN_SIZE",
        "`full` (the real widths) or `small` (64 wide, same layers, vocabularies and positions: a quick check of the pipeline and the pages; the test suite uses it)",
        "`full`",
    ),
    Variable(
        "CVSP_DEVICE",
        "`auto` (cuda, then mps, then cpu), `cpu`, `cuda` or `mps`; `--device` overrides",
        "`auto`",
    ),
    Variable(
        "CVSP_BOOTSTRAP",
        "bootstrap replicates of every 95 % interval (at least 100); `--bootstrap` overrides",
        "`2000`",
    ),
    Variable(
        "CVSP_TRACE",
        "file to which every forward pass and bootstrap appends one JSON line (what ran, how long); the benchmark reads it to compare each page with its compute floor",
        "unset: no trace",
    ),
    Variable(
        "CVSP_LEDGER",
        "file to which every table read from or written to the cache adds its path (the book's build sets it, and bundles those tables for replay)",
        "unset: no ledger",
    ),
    Variable(
        "CVSP_REPLAY",
        "a build's replay bundle (the `replay/` folder of its site, or its URL): a chapter reads the tables it shows from it instead of computing them, with no model and no torch; each file is checked against the bundle's manifest. `off`: compute, whatever a chapter's `REPLAY` line says (the book's build sets it)",
        "unset: a chapter run by hand replays the published book (its `REPLAY` line); everything else computes",
    ),
    Variable(
        "CVSP_REPLAY_ANY_VERSION",
        "`1`: replay a bundle made by another version of cvsp (refused otherwise)",
        "unset",
    ),
)


def variables() -> tuple[Variable, ...]:
    """Every ``CVSP_*`` variable, in the order the documentation lists them."""
    return VARIABLES


def settings_table() -> str:
    """The settings as a Markdown table (CONTRIBUTING.md, the book)."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.meaning} | {v.default} |" for v in variables()]
    return "\n".join(rows)


def settings_help() -> str:
    """The settings as plain text for ``cvsp --help``."""
    plain = [(v.name, v.meaning.replace("`", ""), v.default.replace("`", "")) for v in variables()]
    column = max(len(name) for name, _, _ in plain)  # the names in one column, the longest too
    lines = ["environment variables (see the book's 'Running it yourself' page):"]
    for name, meaning, default in plain:
        lines.append(
            textwrap.fill(
                f"{meaning} (default: {default})",
                width=88,
                initial_indent=f"  {name:<{column}} ",
                subsequent_indent=" " * (column + 3),
            )
        )
    return "\n".join(lines) + "\n"


class SettingsError(ValueError):
    """A setting has a value the project cannot use."""


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
    standin_size: StandinSize = "full"
    device: str = "auto"
    bootstrap: int = 2000  # replicates of every bootstrap interval
    trace: Path | None = None  # a JSON-lines file of the work done (CVSP_TRACE)
    ledger: Path | None = None  # a JSON-lines file of the tables read or written (CVSP_LEDGER)
    replay: str | None = None  # a build's replay bundle, a folder or URL, or "off" (CVSP_REPLAY)
    replay_any_version: bool = False  # replay a bundle of another version (CVSP_REPLAY_ANY_VERSION)

    def __post_init__(self) -> None:
        if not isinstance(self.bootstrap, int) or self.bootstrap < MIN_BOOTSTRAP:
            raise SettingsError(
                f"The bootstrap replicates (CVSP_BOOTSTRAP or --bootstrap) must be an integer of at least {MIN_BOOTSTRAP}, not {self.bootstrap!r}."
            )
        if self.models not in MODEL_SOURCES:
            raise SettingsError(
                f"CVSP_MODELS must be one of {', '.join(MODEL_SOURCES)}, not {self.models!r}."
            )
        if self.standin_size not in STANDIN_SIZES:
            raise SettingsError(
                f"CVSP_STANDIN_SIZE must be one of {', '.join(STANDIN_SIZES)}, not {self.standin_size!r}."
            )
        if self.device not in DEVICES:
            raise SettingsError(
                f"CVSP_DEVICE must be one of {', '.join(DEVICES)}, not {self.device!r}."
            )

    @property
    def is_stand_in(self) -> bool:
        return self.models == "stand-in"

    def replay_source(self, default: str | None = None) -> str | None:
        """The bundle to replay: ``CVSP_REPLAY``'s, else ``default`` (a chapter's ``REPLAY``
        line); None, computing, with ``CVSP_REPLAY=off`` or neither."""
        chosen = self.replay or default
        return None if chosen is None or chosen.lower() == REPLAY_OFF else chosen

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
        bootstrap_text = env.get("CVSP_BOOTSTRAP", "2000").strip()
        try:
            bootstrap = int(bootstrap_text)
        except ValueError:
            raise SettingsError(
                f"The bootstrap replicates (CVSP_BOOTSTRAP or --bootstrap) must be an integer of at least {MIN_BOOTSTRAP}, not {bootstrap_text!r}."
            ) from None
        cache = _optional_dir(env.get("CVSP_CACHE_DIR"))
        return cls(
            models=env.get("CVSP_MODELS", "real").strip().lower(),  # type: ignore[arg-type]
            data_dir=_optional_dir(env.get("CVSP_DATA_DIR")),
            tokenizers_dir=_optional_dir(env.get("CVSP_TOKENIZERS_DIR")),
            cache_dir=cache if cache is not None else Path(pooch.os_cache("cvsp")),
            revisions={
                key: env[revision_variable(key)].strip()
                for key in MODELS
                if env.get(revision_variable(key), "").strip()
            },
            standin_seed=seed,
            standin_size=env.get("CVSP_STANDIN_SIZE", "full").strip().lower(),  # type: ignore[arg-type]
            device=env.get("CVSP_DEVICE", "auto").strip().lower(),
            bootstrap=bootstrap,
            trace=_optional_dir(env.get("CVSP_TRACE")),
            ledger=_optional_dir(env.get("CVSP_LEDGER")),
            replay=env.get("CVSP_REPLAY", "").strip() or None,
            replay_any_version=env.get("CVSP_REPLAY_ANY_VERSION", "").strip().lower()
            in ("1", "true", "yes"),
        )
