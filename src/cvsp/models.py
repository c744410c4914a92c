"""The model registry and its loaders: real pretrained weights, or seeded stand-ins.

A model is named by a short key (``gpt2``, ``clip``, ``bert``, ...) of :data:`MODELS`,
or given on the command line as ``family:hub_id@revision`` (:func:`parse_model`). Its
family (:data:`FAMILIES`: GPT-2-like causal LMs, CLIP text towers, BERT-like encoders)
decides the model class, the input forms and the token choices. Real models come from
the Hugging Face hub through ``from_pretrained`` at one pinned commit (safetensors only,
no remote code). Stand-ins have the same architecture with seeded random weights and
the real tokenizers (for the BERT family, which has no tokenizer offline, a stand-in
WordPiece tokenizer, :mod:`cvsp.wordpiece`); they are written to the cache with
``save_pretrained`` once and then loaded through the very same ``from_pretrained`` call
as a real checkpoint.

Used by every chapter through :func:`load_models`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
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
)

from cvsp.data import sha256_of
from cvsp.settings import Settings, revision_variable

HUB_TIMEOUT_S = 5.0
COMMIT_RE = re.compile(r"[0-9a-f]{40}")
WEIGHTS_FILE = "model.safetensors"
STANDIN_MARKER = "stand-in.json"


@dataclass(frozen=True)
class Family:
    """A family of architectures that share input forms and token choices."""

    name: str
    description: str
    model_types: tuple[str, ...]  # the ``model_type`` values of configs this family reads
    max_tokens: int


FAMILIES: dict[str, Family] = {
    "gpt2": Family("gpt2", "GPT-2-like causal language model", ("gpt2",), 1024),
    "clip": Family("clip", "CLIP text tower", ("clip", "clip_text_model"), 77),
    "bert": Family("bert", "BERT-like encoder: BERT, RoBERTa and their SimCSE fine-tunes", ("bert", "roberta"), 512),
}


@dataclass(frozen=True)
class ModelSpec:
    """A model: hub id, pinned revision, architecture family, label.

    ``revision`` is what is loaded by default: a full commit, or (where the public facts
    give no full commit) a hub ref whose commit must start with ``commit_prefix``, the
    public short hash, so that a ref that has moved is refused. None where nothing could
    be verified, so real weights load only at a revision the user names. ``verified``
    says whether the pin was checked against public facts; ``published_sha256`` is the
    public LFS sha256 of its ``model.safetensors`` where known (recorded beside the
    sha256 of the file read); ``pooler`` adds the encoder's pooler output after the top
    layer (supervised SimCSE reads its sentences there).
    """

    key: str
    hub_id: str
    family: str
    label: str
    max_tokens: int  # longest input, special tokens included
    revision: str | None = "main"
    verified: bool = True
    pooler: bool = False
    note: str = ""
    commit_prefix: str | None = None
    published_sha256: str | None = None

    @property
    def pinned_commit(self) -> str | None:
        """The full commit of the pin, where the pin is one."""
        return self.revision if self.revision and is_commit(self.revision) else None

    def pin_text(self) -> str:
        """The pin for people: the commit, or ``refs/pr/4 (commit 8d6e532…)`` for a pinned ref."""
        if self.revision is None:
            return "none"
        if self.commit_prefix:
            return f"{self.revision} (commit {self.commit_prefix}…)"
        return self.revision


# The pinned commits. gpt2: main, which holds model.safetensors. CLIP: main
# (3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268) holds only pytorch_model.bin; its weights as
# safetensors are on the hub's conversion commit, the pull-request ref refs/pr/66.
# bert-base-uncased: main, which holds model.safetensors.
GPT2_COMMIT = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
CLIP_COMMIT = "c237dc49a33fc61debc9276459120b7eac67e7ef"
BERT_COMMIT = "86b5e0934494bd15c9632b12f734a8a67f723594"
# SimCSE. The main of both repositories holds pytorch_model.bin and a Flax export, no
# safetensors (sup. main 2d82fab19ac3a73a20dd20333d27eb8a52d6e97f; unsup. main 218baf6…,
# whose parent 6504ae026e02a1464538d443b15e36afc318e034 holds the same weights). The hub's
# safetensors conversions are SFconvertbot's pull requests, children of those commits:
# sup. refs/pr/3 (commit d9aa2ff…), unsup. refs/pr/4 (commit 8d6e532…, model.safetensors
# with LFS sha256 ffb787f1…). Their full hashes are not in public copies, so the refs are
# pinned and their commit must start with the public short hash (design in book/methods.md).
SIMCSE_UNSUP_REF, SIMCSE_UNSUP_PREFIX = "refs/pr/4", "8d6e532"
SIMCSE_SUP_REF, SIMCSE_SUP_PREFIX = "refs/pr/3", "d9aa2ff"
SIMCSE_UNSUP_SHA256 = "ffb787f190392c1feb834f09c0c82653ca5e61b97c45d90e08f6b10872c55b4d"
SIMCSE_NOTE = "the hub's safetensors conversion (SFconvertbot pull request) of the authors' weights"

MODELS: dict[str, ModelSpec] = {
    "gpt2": ModelSpec("gpt2", "gpt2", "gpt2", "GPT-2", 1024, GPT2_COMMIT),
    "clip": ModelSpec("clip", "openai/clip-vit-base-patch32", "clip", "CLIP", 77, CLIP_COMMIT),
    "bert": ModelSpec("bert", "bert-base-uncased", "bert", "BERT", 512, BERT_COMMIT),
    "simcse_unsup": ModelSpec("simcse_unsup", "princeton-nlp/unsup-simcse-bert-base-uncased", "bert",
                              "SimCSE unsup.", 512, SIMCSE_UNSUP_REF, note=SIMCSE_NOTE,
                              commit_prefix=SIMCSE_UNSUP_PREFIX, published_sha256=SIMCSE_UNSUP_SHA256),
    "simcse_sup": ModelSpec("simcse_sup", "princeton-nlp/sup-simcse-bert-base-uncased", "bert",
                            "SimCSE sup.", 512, SIMCSE_SUP_REF, pooler=True, note=SIMCSE_NOTE,
                            commit_prefix=SIMCSE_SUP_PREFIX),
}  # fmt: skip
PAPER_MODELS: tuple[str, ...] = ("gpt2", "clip")
MODEL_SETS: dict[str, tuple[str, ...]] = {
    "paper": PAPER_MODELS,  # the paper's two models, the default
    "contrast": (*PAPER_MODELS, "bert", "simcse_unsup", "simcse_sup"),  # chapter "Images or contrast?"
}
BOOK_MODELS: tuple[str, ...] = MODEL_SETS["contrast"]  # every model a chapter of the book loads


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
    tokenizer_note: str | None = None  # what a stand-in's tokenizer is, where it is not the real one

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
            "family": self.spec.family,
            "source": self.source,
            "revision": self.revision,
            "commit": self.commit,
            "pinned_revision": None if self.is_stand_in else self.spec.revision,
            "pinned_commit": None if self.is_stand_in else self.spec.pinned_commit,
            **({"pinned_commit_prefix": self.spec.commit_prefix} if self.spec.commit_prefix and not self.is_stand_in else {}),
            "standin_seed": self.standin_seed,
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


def _spec(key: str | ModelSpec) -> ModelSpec:
    if isinstance(key, ModelSpec):
        return key
    if key not in MODELS:
        raise ModelUnavailableError(f"Unknown model {key!r}; choose from {', '.join(MODELS)}.")
    return MODELS[key]


def parse_model(text: str) -> ModelSpec:
    """A model outside the registry, written ``family:hub_id@revision`` (e.g.
    ``bert:roberta-base@<commit>``); its key is the hub id. One sentence says what is wrong."""
    family, colon, rest = text.partition(":")
    hub_id, at, revision = rest.partition("@")
    if not colon or not hub_id.strip():
        raise ModelUnavailableError(
            f"Write a model as family:hub_id@revision, for example bert:roberta-base@<commit>, not {text!r}."
        )
    if family not in FAMILIES:
        raise ModelUnavailableError(
            f"Unknown model family {family!r} for {hub_id}; supported families: {', '.join(FAMILIES)}."
        )
    if not at or not revision.strip():
        raise ModelUnavailableError(
            f"Name the revision of {hub_id} to load ({family}:{hub_id}@<commit>): models outside "
            "cvsp's registry load only at a revision you pin."
        )
    spec = FAMILIES[family]
    return ModelSpec(hub_id, hub_id, family, hub_id, spec.max_tokens, revision.strip(), verified=False,
                     note="named on the command line")  # fmt: skip


def resolve_models(keys: tuple[str, ...] = PAPER_MODELS, extra: tuple[str, ...] = ()) -> list[ModelSpec]:
    """The specs of registry ``keys`` and of ``extra`` models written ``family:hub_id@revision``."""
    specs = [_spec(key) for key in keys] + [parse_model(text) for text in extra]
    seen = [s.key for s in specs]
    doubled = sorted({k for k in seen if seen.count(k) > 1})
    if doubled:
        raise ModelUnavailableError(f"Model {doubled[0]!r} is named twice.")
    return specs


def _model_class(spec: ModelSpec) -> type:
    return {"gpt2": GPT2Model, "clip": CLIPTextModelWithProjection, "bert": AutoModel}[spec.family]


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


def check_family(spec: ModelSpec, model_type: str) -> None:
    """Refuse a checkpoint whose architecture is not of the spec's family."""
    family = FAMILIES[spec.family]
    if model_type not in family.model_types:
        raise ModelUnavailableError(
            f"{spec.hub_id} is a {model_type!r} model, not a {family.description} "
            f"({', '.join(family.model_types)}); name it with the right family."
        )


def _finish(spec: ModelSpec, model: torch.nn.Module, tokenizer: Any, device: str) -> tuple:
    check_family(spec, model.config.model_type)
    _check_vocabulary(spec, model, tokenizer)
    resolved = resolve_device(device)
    model.to(resolved).eval()
    return model, tokenizer, resolved


# --------------------------------------------------------------------------- real models


def is_commit(revision: str) -> bool:
    return bool(COMMIT_RE.fullmatch(revision))


def refusal_message(spec: ModelSpec, revision: str) -> str:
    """Why a revision without safetensors weights is refused, and what to do instead."""
    if spec.key in MODELS and spec.revision:
        remedy = (f"unset {revision_variable(spec.key)} to use the pinned default {spec.revision} "
                  f"or name another revision that holds {WEIGHTS_FILE}")  # fmt: skip
    else:
        remedy = f"name a revision that holds {WEIGHTS_FILE}, such as the hub's safetensors conversion commit"
    return (
        f"{spec.hub_id} at revision {revision!r} holds no {WEIGHTS_FILE}; cvsp reads "
        "safetensors weights only (it never unpickles .bin files nor asks the hub to "
        f"convert them), so {remedy}."
    )


def unpinned_message(spec: ModelSpec) -> str:
    """Why a model without a pinned revision needs a revision from the user."""
    return (
        f"{spec.hub_id} has no pinned commit in cvsp's registry ({spec.note}), so its real weights load "
        f"only at a revision you name: set {revision_variable(spec.key)} to a commit that holds {WEIGHTS_FILE}."
    )


def moved_message(spec: ModelSpec, commit: str) -> str:
    """Why a pinned ref whose commit is not the verified one is refused."""
    return (
        f"{spec.hub_id}: the pinned ref {spec.revision} now names commit {commit}, not the verified "
        f"commit {spec.commit_prefix}…, so the ref has moved and cvsp will not load it; set "
        f"{revision_variable(spec.key)} to a commit you have checked that holds {WEIGHTS_FILE}."
    )


def check_pin(spec: ModelSpec, revision: str, commit: str) -> None:
    """Refuse the registry's pinned ref when it names another commit than the verified one."""
    if spec.commit_prefix and revision == spec.revision and not commit.startswith(spec.commit_prefix):
        raise ModelUnavailableError(moved_message(spec, commit))


def cached_commit(spec: ModelSpec, revision: str) -> str | None:
    """The commit a revision names in the local hub cache (a commit names itself)."""
    if is_commit(revision):
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
            commit = str(info.sha)
            check_pin(spec, revision, commit)
            if not is_commit(revision):
                _remember_ref(spec, revision, commit)
            return commit, True
    commit = cached_commit(spec, revision)
    if commit is None:
        raise ModelUnavailableError(offline_message(spec))
    check_pin(spec, revision, commit)
    found = [try_to_load_from_cache(spec.hub_id, name, revision=commit)
             for name in (WEIGHTS_FILE, f"{WEIGHTS_FILE}.index.json")]  # fmt: skip
    if any(isinstance(path, str) for path in found):
        return commit, False
    if found[0] is not None:  # the hub said earlier that this commit has no safetensors
        raise ModelUnavailableError(refusal_message(spec, revision))
    raise ModelUnavailableError(offline_message(spec))


def _remember_ref(spec: ModelSpec, revision: str, commit: str) -> None:
    """Record in the hub cache which commit a branch or ref named, so that a later run
    without the hub finds the commit of ``refs/pr/4`` as it finds that of ``main``:
    ``config.json`` is fetched by the ref's name (huggingface_hub then writes the ref)."""
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(spec.hub_id, "config.json", revision=revision, etag_timeout=HUB_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 (any failure here is the hub's)
        raise ModelUnavailableError(
            f"Could not read {spec.hub_id} at revision {revision!r} from the hub: {error}"
        ) from None
    if Path(path).parent.name != commit:  # the ref moved between two requests
        raise ModelUnavailableError(
            f"{spec.hub_id}: revision {revision!r} named two commits in a row ({commit}, "
            f"{Path(path).parent.name}); try again, or name a commit."
        )


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
        revision=revision, commit=commit, weights_sha256=_weights_digest(spec, commit),
    )  # fmt: skip


# ----------------------------------------------------------------------------- stand-ins


def _standin_tokenizer(spec: ModelSpec, settings: Settings) -> Any:
    if spec.family == "bert":  # no BERT vocabulary offline: a stand-in WordPiece tokenizer
        from cvsp import wordpiece

        return wordpiece.train(wordpiece.evaluation_texts(settings))
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


def _standin_config_vocabulary(spec: ModelSpec) -> int:
    return {"gpt2": GPT2Config, "clip": CLIPTextConfig, "bert": BertConfig}[spec.family]().vocab_size


def _standin_seed(spec: ModelSpec, seed: int) -> int:
    """The torch seed of a stand-in's weights. The paper's two models use the seed itself
    (as before the registry, so their stand-in numbers stay); the others mix in their key,
    so stand-ins of one architecture (BERT and its SimCSE fine-tunes) differ."""
    return seed if spec.key in PAPER_MODELS else (seed * 1_000_003 + zlib.crc32(spec.key.encode())) % 2**31


def _standin_model(spec: ModelSpec) -> torch.nn.Module:
    """The full checkpoint the hub holds, with default (= paper-size) configs."""
    if spec.family == "gpt2":
        return GPT2LMHeadModel(GPT2Config())
    if spec.family == "bert":
        return BertModel(BertConfig())  # with its pooler
    tiny_vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, image_size=32, patch_size=16,
    )  # fmt: skip
    config = CLIPConfig(text_config=CLIPTextConfig().to_dict(), vision_config=tiny_vision)
    return CLIPModel(config)


def standin_checkpoint(key: str | ModelSpec, settings: Settings) -> Path:
    """Folder of the seeded stand-in checkpoint, written on first use (atomically)."""
    spec = _spec(key)
    seed = settings.standin_seed
    root = settings.cache_dir / "stand-ins"
    folder = root / f"{spec.key.replace('/', '--')}-seed{seed}"
    if (folder / STANDIN_MARKER).is_file() and (folder / WEIGHTS_FILE).is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tokenizer = _standin_tokenizer(spec, settings)
    expected = _standin_config_vocabulary(spec)
    if len(tokenizer) != expected:  # checked before anything is written to the cache
        raise ModelUnavailableError(
            f"The tokenizer for the {spec.label} stand-in has {len(tokenizer)} tokens but "
            f"{spec.label}'s vocabulary has {expected}: check CVSP_TOKENIZERS_DIR/{spec.key}."
        )
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder.name}-"))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_standin_seed(spec, seed))
            model = _standin_model(spec)
        with _quiet_transformers():
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
        marker = {
            "what": f"stand-in for {spec.hub_id}: real architecture, RANDOM weights",
            "seed": seed,
            **({"tokenizer": _wordpiece_label()} if spec.family == "bert" else {}),
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


def _wordpiece_label() -> str:
    from cvsp import wordpiece

    return wordpiece.LABEL


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
    spec = _spec(key)
    folder = standin_checkpoint(spec, settings)
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    model, tokenizer = read_checkpoint(spec, folder)
    model, tokenizer, resolved = _finish(spec, model, tokenizer, device)
    return LoadedModel(
        spec, model, tokenizer, resolved, "stand-in",
        standin_seed=marker["seed"], weights_sha256=marker["weights_sha256"],
        tokenizer_note=marker.get("tokenizer"),
    )  # fmt: skip


def revision_for(spec: ModelSpec, settings: Settings) -> str:
    """The revision to load: the user's override, else the pinned commit; none is an error."""
    revision = settings.revision(spec.key, spec.revision) if spec.key in MODELS else spec.revision
    if not revision:
        raise ModelUnavailableError(unpinned_message(spec))
    return revision


def load_model(key: str | ModelSpec, settings: Settings, device: str | None = None) -> LoadedModel:
    """Load model ``key`` as the settings say: real weights or a stand-in."""
    chosen = device or settings.device
    if settings.is_stand_in:
        return load_stand_in(key, settings, chosen)
    spec = _spec(key)
    return load_hub(spec, revision_for(spec, settings), chosen)


def load_models(
    settings: Settings, keys: tuple[str | ModelSpec, ...] = PAPER_MODELS, device: str | None = None
) -> dict[str, LoadedModel]:
    """Load several models (registry keys or specs of :func:`parse_model`); every key, and
    for real models every revision, is checked (and a revision without safetensors
    refused) before any weights are downloaded."""
    specs = [_spec(key) for key in keys]
    if settings.is_stand_in:
        return {s.key: load_model(s, settings, device) for s in specs}
    chosen = device or settings.device
    revisions = {s.key: revision_for(s, settings) for s in specs}
    resolved = {s.key: resolve_revision(s, revisions[s.key]) for s in specs}
    return {s.key: load_hub(s, revisions[s.key], chosen, resolved[s.key]) for s in specs}
