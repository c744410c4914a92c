"""The models cvsp knows, as plain data: families, specs, pinned commits, model sets, layers.

The ground floor of the package: it imports neither torch nor transformers, so the
settings, the paper's numbers, the figures and the command line's help read the
registry without loading a model library. A model is named by a short key of
:data:`MODELS` or, on the command line, as ``family:hub_id@revision``
(:func:`parse_model`). Its family (:data:`FAMILIES`) decides the model class, the input
forms and the token choices. How a revision is resolved against the hub lives in
:mod:`cvsp.hub`, how weights are loaded in :mod:`cvsp.models`.

Used by nearly every module: :mod:`cvsp.settings`, :mod:`cvsp.hub`, :mod:`cvsp.models`,
:mod:`cvsp.tokens`, :mod:`cvsp.experiments`, :mod:`cvsp.paper`, :mod:`cvsp.plots`,
:mod:`cvsp.reproduce`, :mod:`cvsp.notebook`, :mod:`cvsp.stamp`, :mod:`cvsp.cli`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

WEIGHTS_FILE = "model.safetensors"  # the only weights format cvsp reads
COMMIT_RE = re.compile(r"[0-9a-f]{40}")

# Layers: a model with B blocks has B + 1 hidden states (the embedding output and each
# block), labelled "0".."B"; B comes from the model's config (:func:`hidden_layers`). The
# paper's two models have 12 blocks, so 13 hidden states; the points after the top layer
# that some token choices add come last.
N_LAYERS = 13  # the hidden states of the paper's two models (and of every 12-block model)
HIDDEN_LAYERS: tuple[str, ...] = tuple(str(i) for i in range(N_LAYERS))
CLIP_EXTRA_LAYERS: tuple[str, ...] = (
    "final_ln",
    "projection",
)  # a CLIP-like EOS: final layer norm, projection
POOLER_LAYER = "pooler"  # an encoder's pooler output over [CLS], after the top layer


def hidden_layers(blocks: int = N_LAYERS - 1) -> tuple[str, ...]:
    """The labels of the hidden states of a model with ``blocks`` blocks: ``"0"``..``str(blocks)``."""
    if blocks < 1:
        raise ValueError(f"A model has at least one block, not {blocks}.")
    return HIDDEN_LAYERS if blocks == N_LAYERS - 1 else tuple(str(i) for i in range(blocks + 1))


def hidden_count(layers: tuple[str, ...] | list[str]) -> int:
    """How many of ``layers`` are hidden states (``"0"``, ``"1"``, …; they come first)."""
    return sum(label.isdigit() for label in layers)


class ModelUnavailableError(RuntimeError):
    """The requested weights cannot be loaded; the message says what to do."""


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
    "bert": Family(
        "bert",
        "BERT-like encoder: BERT, RoBERTa and their SimCSE fine-tunes",
        ("bert", "roberta"),
        512,
    ),
    "siglip": Family(
        "siglip",
        "SigLIP text tower: bidirectional, padded to its 64 positions, read at the last",
        ("siglip", "siglip_text_model"),
        64,
    ),
}


def is_commit(revision: str) -> bool:
    """Whether a revision is a full 40-digit commit (not a branch, tag or ref)."""
    return bool(COMMIT_RE.fullmatch(revision))


def revision_variable(key: str) -> str:
    """The environment variable that overrides the pinned revision of model ``key``."""
    return f"CVSP_{key.upper()}_REVISION"


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
    architecture: tuple[tuple[str, object], ...] = ()
    download_mb: float | None = None  # size of the pinned model.safetensors (MB, 10^6 bytes)

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

# Beyond the paper's pair (chapter "Beyond one CLIP"): public hub facts, each commit
# holding model.safetensors. LAION's B/32 (trained on LAION-2B) differs from OpenAI's in
# data and in its activation (GELU where OpenAI's uses quick_gelu); L/14's text tower is
# 768 wide; SigLIP base (sigmoid loss) has a SentencePiece vocabulary of 32,000, 64
# positions, bidirectional attention and reads the last position; GPT-2 medium is 1,024
# wide with 24 blocks.
CLIP_LAION_COMMIT = "08f73555f1b2fb7c82058aebbd492887a94968ef"
CLIP_LAION_SHA256 = "74813fbcdc750f235c9784c367ca1394d2a5c25eb0aac92761752ac239db7cff"
CLIP_LARGE_COMMIT = "32bd64288804d66eefd0ccbe215aa642df71cc41"
SIGLIP_COMMIT = "7fd15f0689c79d79e38b1c2e2e2370a7bf2761ed"
GPT2_MEDIUM_COMMIT = "6dcaa7a952f72f9298047fd5137cd6e4f05f41da"

MODELS: dict[str, ModelSpec] = {
    "gpt2": ModelSpec("gpt2", "gpt2", "gpt2", "GPT-2", 1024, GPT2_COMMIT),
    "clip": ModelSpec("clip", "openai/clip-vit-base-patch32", "clip", "CLIP", 77, CLIP_COMMIT),
    "bert": ModelSpec("bert", "bert-base-uncased", "bert", "BERT", 512, BERT_COMMIT),
    "simcse_unsup": ModelSpec(
        "simcse_unsup",
        "princeton-nlp/unsup-simcse-bert-base-uncased",
        "bert",
        "SimCSE unsup.",
        512,
        SIMCSE_UNSUP_REF,
        note=SIMCSE_NOTE,
        commit_prefix=SIMCSE_UNSUP_PREFIX,
        published_sha256=SIMCSE_UNSUP_SHA256,
    ),
    "simcse_sup": ModelSpec(
        "simcse_sup",
        "princeton-nlp/sup-simcse-bert-base-uncased",
        "bert",
        "SimCSE sup.",
        512,
        SIMCSE_SUP_REF,
        pooler=True,
        note=SIMCSE_NOTE,
        commit_prefix=SIMCSE_SUP_PREFIX,
    ),
    "clip_laion": ModelSpec(
        "clip_laion",
        "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        "clip",
        "CLIP LAION-2B",
        77,
        CLIP_LAION_COMMIT,
        published_sha256=CLIP_LAION_SHA256,
        note="OpenCLIP's ViT-B/32 trained on LAION-2B, in transformers' format",
        architecture=(("hidden_act", "gelu"),),
    ),
    "clip_large": ModelSpec(
        "clip_large",
        "openai/clip-vit-large-patch14",
        "clip",
        "CLIP L/14",
        77,
        CLIP_LARGE_COMMIT,
        architecture=(
            ("hidden_size", 768),
            ("intermediate_size", 3072),
            ("num_attention_heads", 12),
            ("projection_dim", 768),
        ),
    ),
    "siglip": ModelSpec(
        "siglip", "google/siglip-base-patch16-224", "siglip", "SigLIP", 64, SIGLIP_COMMIT
    ),
    "gpt2_medium": ModelSpec(
        "gpt2_medium",
        "openai-community/gpt2-medium",
        "gpt2",
        "GPT-2 medium",
        1024,
        GPT2_MEDIUM_COMMIT,
        architecture=(("n_embd", 1024), ("n_layer", 24), ("n_head", 16)),
    ),
}
# The size of each pinned model.safetensors (MB), as the hub lists it: what a first real
# run downloads for the model (its config and tokenizer add well under 1 % more).
DOWNLOAD_MB = {
    "gpt2": 548.1,
    "clip": 605.2,
    "bert": 440.5,
    "simcse_unsup": 438.0,
    "simcse_sup": 438.0,
    "clip_laion": 605.2,
    "clip_large": 1710.5,
    "siglip": 812.7,
    "gpt2_medium": 1520.0,
}
MODELS = {key: replace(spec, download_mb=DOWNLOAD_MB.get(key)) for key, spec in MODELS.items()}
PAPER_MODELS: tuple[str, ...] = ("gpt2", "clip")
MODEL_SETS: dict[str, tuple[str, ...]] = {
    "paper": PAPER_MODELS,  # the paper's two models, the default
    "contrast": (
        *PAPER_MODELS,
        "bert",
        "simcse_unsup",
        "simcse_sup",
    ),  # chapter "Images or contrast?"
    "beyond": (
        *PAPER_MODELS,
        "clip_laion",
        "clip_large",
        "siglip",
        "gpt2_medium",
    ),  # chapter "Beyond one CLIP"
}
# the model set each chapter of the book loads (its notebook's notebook.start(chapter))
CHAPTERS: dict[str, str] = {
    "01_cwe_anisotropy": "paper",
    "02_word_similarity": "paper",
    "03_sts": "paper",
    "04_sentence_self_similarity": "paper",
    "05_reproducing_the_reproduction": "paper",
    "06_geometry": "paper",
    "07_images_or_contrast": "contrast",
    "08_beyond_one_clip": "beyond",
}
# every model a chapter of the book loads
BOOK_MODELS: tuple[str, ...] = tuple(dict.fromkeys(MODEL_SETS["contrast"] + MODEL_SETS["beyond"]))


def spec_for(key: str | ModelSpec) -> ModelSpec:
    """The spec of a registry key (a spec is returned as it is); unknown keys are refused."""
    if isinstance(key, ModelSpec):
        return key
    if key not in MODELS:
        raise ModelUnavailableError(f"Unknown model {key!r}; choose from {', '.join(MODELS)}.")
    return MODELS[key]


def check_family(spec: ModelSpec, model_type: str) -> None:
    """Refuse a checkpoint whose architecture is not of the spec's family."""
    family = FAMILIES[spec.family]
    if model_type not in family.model_types:
        raise ModelUnavailableError(
            f"{spec.hub_id} is a {model_type!r} model, not a {family.description} "
            f"({', '.join(family.model_types)}); name it with the right family."
        )


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
    return ModelSpec(
        hub_id,
        hub_id,
        family,
        hub_id,
        spec.max_tokens,
        revision.strip(),
        verified=False,
        note="named on the command line",
    )


def resolve_models(
    keys: tuple[str, ...] = PAPER_MODELS, extra: tuple[str, ...] = ()
) -> list[ModelSpec]:
    """The specs of registry ``keys`` and of ``extra`` models written ``family:hub_id@revision``."""
    specs = [spec_for(key) for key in keys] + [parse_model(text) for text in extra]
    seen = [s.key for s in specs]
    doubled = sorted({k for k in seen if seen.count(k) > 1})
    if doubled:
        raise ModelUnavailableError(f"Model {doubled[0]!r} is named twice.")
    return specs
