"""The nine repositories the book reads, laid out as on the hub, with random stand-in weights.

Layouts follow the hub's public listings (see the pinned commits in :mod:`cvsp.registry`):

- ``gpt2``: ``main`` is commit ``607a30d7…``, which holds ``model.safetensors`` beside
  ``pytorch_model.bin`` and the TF/Flax/Rust/TFLite/ONNX exports.
- ``openai/clip-vit-base-patch32``: ``main`` is commit ``3d74acf9…``, which holds
  ``pytorch_model.bin`` and no safetensors; the hub's safetensors conversion is commit
  ``c237dc49…`` (``refs/pr/66``), the same files plus ``model.safetensors``.
- ``bert-base-uncased`` and the two SimCSE repositories: see :func:`bert_repos`.
- The four of the chapter "Beyond one CLIP" (``laion/CLIP-ViT-B-32-laion2B-s34B-b79K``,
  ``openai/clip-vit-large-patch14``, ``google/siglip-base-patch16-224``,
  ``openai-community/gpt2-medium``): see :func:`beyond_extra_repos`. ``main`` is the
  pinned commit, which holds ``model.safetensors`` (beside other exports, where the hub
  has them).

Weights are seeded random tensors of the real architectures at the small stand-ins'
size (:func:`cvsp.standins.standin_config`: 64 wide, the real numbers of layers, the real
vocabularies and positions, a tiny vision tower), or with ``full_size=True`` at the real
sizes, vision towers included (the rehearsal of the Pages build,
``benchmarks/rehearse.py``), so that its download and disk figures are the real ones.
Tokenizers are the real ones from ``CVSP_TOKENIZERS_DIR`` for the GPT-2 and CLIP families
(every CLIP shares CLIP's files, every GPT-2 GPT-2's); the BERT family's is the stand-in
WordPiece tokenizer and SigLIP's the stand-in SentencePiece one, since neither
vocabulary can be read offline. Files the project must never fetch (``.bin``, the other
frameworks' exports, OpenCLIP's own files) hold a marker instead of weights.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import torch
from hub_replica import Repo
from transformers import (
    AutoTokenizer,
    CLIPConfig,
    CLIPModel,
    GPT2LMHeadModel,
    SiglipConfig,
    SiglipModel,
)

from cvsp.registry import MODELS
from cvsp.standins import standin_config

CLIP_MAIN = "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268"
CLIP_PR = "refs/pr/66"
NEVER = b"cvsp must never request this file: it is not safetensors.\n"
UNUSED_EXPORTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def marked_never(hub, repos: list[Repo]) -> list[str]:
    """The requests ``hub`` answered for files that hold the :data:`NEVER` marker."""
    from urllib.parse import unquote

    served = {repo.repo_id: repo for repo in repos}
    found = []
    for request in hub.requests("/resolve/"):
        repo_id, rest = request.path.split("?", 1)[0].lstrip("/").split("/resolve/", 1)
        parts = unquote(rest).split("/")
        cut = 3 if parts[0] == "refs" else 1  # refs/pr/N, a branch or a commit
        repo = served.get(repo_id)
        commit = repo.resolve("/".join(parts[:cut])) if repo else None
        if commit and repo.commits[commit].get("/".join(parts[cut:])) == NEVER:
            found.append(request.path)
    return found


def _saved(model: torch.nn.Module) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=True)
        return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


def _tokenizer_files(folder: Path, extra: tuple[str, ...] = ()) -> dict[str, bytes]:
    """The real tokenizer files, plus the ``tokenizer.json`` the hub also holds."""
    files = {
        name: (folder / name).read_bytes()
        for name in ("vocab.json", "merges.txt", "tokenizer_config.json")
    }
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    with tempfile.TemporaryDirectory() as out:
        tokenizer.save_pretrained(out)
        for name in ("tokenizer.json", *extra):
            if (Path(out) / name).is_file():
                files[name] = (Path(out) / name).read_bytes()
    return files


def gpt2_repo(tokenizers_dir: Path, seed: int = 0, full_size: bool = False) -> Repo:
    torch.manual_seed(seed)
    weights = _saved(GPT2LMHeadModel(standin_config("gpt2", "full" if full_size else "small")))
    files = {
        ".gitattributes": GITATTRIBUTES,
        "README.md": b"# GPT-2 (replica with small random weights)\n",
        "config.json": weights["config.json"],
        "generation_config.json": json.dumps(
            {"bos_token_id": 50256, "eos_token_id": 50256}
        ).encode(),
        "model.safetensors": weights["model.safetensors"],
        "rust_model.ot": NEVER,
        "64.tflite": NEVER,
        "onnx/decoder_model.onnx": NEVER,
        **{name: NEVER for name in UNUSED_EXPORTS},
        **_tokenizer_files(tokenizers_dir / "gpt2"),
    }
    commit = MODELS["gpt2"].revision
    lfs = frozenset(
        n
        for n in files
        if n.endswith((".safetensors", ".bin", ".h5", ".msgpack", ".ot", ".tflite", ".onnx"))
    )
    return Repo("gpt2", commits={commit: files}, refs={"main": commit}, lfs=lfs)


def clip_repo(tokenizers_dir: Path, seed: int = 0, full_size: bool = False) -> Repo:
    # full size: CLIPConfig's defaults are the whole ViT-B/32 (text tower 512 wide, vision
    # 768), as large as the hub's file, for the rehearsal's download and disk figures
    config = CLIPConfig() if full_size else standin_config("clip", "small")
    torch.manual_seed(seed)
    weights = _saved(CLIPModel(config))
    main = {
        ".gitattributes": GITATTRIBUTES,
        "README.md": b"# CLIP ViT-B/32 (replica with small random weights)\n",
        "config.json": weights["config.json"],
        "preprocessor_config.json": json.dumps(
            {"crop_size": 224, "image_processor_type": "CLIPImageProcessor"}
        ).encode(),
        **{name: NEVER for name in UNUSED_EXPORTS},
        **_tokenizer_files(tokenizers_dir / "clip", extra=("special_tokens_map.json",)),
    }
    converted = {**main, "model.safetensors": weights["model.safetensors"]}
    pinned = MODELS["clip"].revision
    lfs = frozenset(n for n in converted if n.endswith((".safetensors", ".bin", ".h5", ".msgpack")))
    return Repo(
        "openai/clip-vit-base-patch32",
        commits={CLIP_MAIN: main, pinned: converted},
        refs={"main": CLIP_MAIN, CLIP_PR: pinned},
        lfs=lfs,
    )


# BERT and its SimCSE fine-tunes, in the layouts of the hub's public listings (see
# cvsp.models). bert-base-uncased: main is the pinned commit and holds model.safetensors
# beside the other frameworks' exports. The SimCSE repositories: main holds
# pytorch_model.bin and flax_model.msgpack, no safetensors, and a tokenizer given as
# vocab.txt (no tokenizer.json); the hub's safetensors conversions are SFconvertbot's pull
# requests, each main's files plus model.safetensors. Full hashes that are not public are
# the replica's own, beginning with the public short hash (replica_commit).
SIMCSE_KEYS = ("simcse_unsup", "simcse_sup")
SIMCSE_SUP_MAIN = "2d82fab19ac3a73a20dd20333d27eb8a52d6e97f"
SIMCSE_UNSUP_PARENT = "6504ae026e02a1464538d443b15e36afc318e034"


def replica_commit(prefix: str, label: str) -> str:
    """A 40-hex commit id beginning with the public short hash ``prefix``, the rest the replica's own."""
    import hashlib

    return prefix + hashlib.sha1(f"cvsp hub replica: {label}".encode()).hexdigest()[len(prefix) :]


def simcse_layout(key: str) -> tuple[dict[str, str], str]:
    """``(refs, main)``: the refs of a SimCSE repository in the replica and its main commit."""
    if key == "simcse_sup":
        refs = {
            "main": SIMCSE_SUP_MAIN,
            "refs/pr/3": replica_commit("d9aa2ff", "sup refs/pr/3"),
            "refs/pr/5": replica_commit("90bd602", "sup refs/pr/5"),
        }
    else:
        refs = {
            "main": replica_commit("218baf6", "unsup main"),
            "refs/pr/4": replica_commit("8d6e532", "unsup refs/pr/4"),
            "refs/pr/5": replica_commit("99b4eb6", "unsup refs/pr/5"),
        }
    return refs, refs["main"]


def _vocab_txt(tokenizer) -> bytes:
    """The tokenizer's vocabulary as ``vocab.txt``: one piece a line, in id order."""
    ordered = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    return "".join(f"{piece}\n" for piece, _ in ordered).encode()


def bert_repos(settings, seed: int = 0, full_size: bool = False) -> list[Repo]:
    from transformers import BertModel

    from cvsp import wordpiece

    tokenizer = wordpiece.train(wordpiece.evaluation_texts(settings))  # no BERT vocabulary offline
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        fast = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
    specials = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    legacy = {  # a tokenizer saved in 2021: vocab.txt, no tokenizer.json
        "vocab.txt": _vocab_txt(tokenizer),
        "tokenizer_config.json": json.dumps(
            {"do_lower_case": True, "model_max_length": 512}
        ).encode(),
        "special_tokens_map.json": json.dumps(specials).encode(),
    }
    repos = []
    for offset, key in enumerate(("bert", *SIMCSE_KEYS)):
        spec = MODELS[key]
        torch.manual_seed(seed + offset)
        weights = _saved(BertModel(standin_config("bert", "full" if full_size else "small")))
        readme = (
            f"# {spec.hub_id} (replica: random weights, stand-in WordPiece tokenizer)\n".encode()
        )
        if key == "bert":
            files = {
                ".gitattributes": GITATTRIBUTES,
                "README.md": readme,
                "LICENSE": b"Apache-2.0\n",
                "config.json": weights["config.json"],
                "model.safetensors": weights["model.safetensors"],
                "rust_model.ot": NEVER,
                "coreml/fill-mask/float32_model.mlpackage/Manifest.json": NEVER,
                **{name: NEVER for name in UNUSED_EXPORTS},
                **legacy,
                "tokenizer.json": fast["tokenizer.json"],
            }
            lfs = frozenset(
                n for n in files if n.endswith((".safetensors", ".bin", ".h5", ".msgpack", ".ot"))
            )
            repos.append(
                Repo(
                    spec.hub_id,
                    commits={spec.revision: files},
                    refs={"main": spec.revision},
                    lfs=lfs,
                )
            )
            continue
        refs, main = simcse_layout(key)
        base = {
            ".gitattributes": GITATTRIBUTES,
            "config.json": weights["config.json"],
            "pytorch_model.bin": NEVER,
            "flax_model.msgpack": NEVER,
            **legacy,
        }
        converted = {**base, "model.safetensors": weights["model.safetensors"]}
        commits = {commit: converted for ref, commit in refs.items() if ref.startswith("refs/pr/")}
        commits[main] = {**base, "README.md": readme}
        if key == "simcse_unsup":  # main is a README merge; its parent holds the same weights
            commits[SIMCSE_UNSUP_PARENT] = base
        lfs = frozenset(n for n in converted if n.endswith((".safetensors", ".bin", ".msgpack")))
        repos.append(Repo(spec.hub_id, commits=commits, refs=refs, lfs=lfs))
    return repos


# The chapter "Beyond one CLIP": the four models beyond the paper's pair (MODEL_SETS["beyond"]),
# each at its pinned commit, which is main and holds model.safetensors. The files beside
# it follow the hub's listings: LAION's repository also holds OpenCLIP's own checkpoint
# (open_clip_model.safetensors, open_clip_pytorch_model.bin) and pytorch_model.bin; L/14
# the PyTorch, TF and Flax exports; SigLIP base safetensors only, with a SentencePiece
# tokenizer (spiece.model); GPT-2 medium the exports of gpt2.
BEYOND_EXTRA_KEYS = ("clip_laion", "clip_large", "siglip", "gpt2_medium")
LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".ot", ".tflite", ".onnx", ".model")
# the real vision towers, for full-size files (the text towers are standin_config's "full")
FULL_VISION = {
    "clip_laion": {
        "hidden_act": "gelu"
    },  # CLIPVisionConfig's defaults are B/32's tower; LAION's uses GELU
    "clip_large": {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "patch_size": 14,
        "image_size": 224,
    },
}


def _lfs(files: dict[str, bytes]) -> frozenset[str]:
    return frozenset(n for n in files if n.endswith(LFS_SUFFIXES))


def _weights(key: str, seed: int, full_size: bool) -> dict[str, bytes]:
    """``save_pretrained`` of the whole checkpoint the hub holds for ``key`` (both towers of
    a two-tower model, GPT-2 with its LM head): small stand-in size, or the real size."""
    config = standin_config(key, "full" if full_size else "small")
    family = MODELS[key].family
    if full_size and family == "clip":
        text = config.text_config
        vision = {**FULL_VISION[key], "projection_dim": text.projection_dim}
        config = CLIPConfig(
            text_config=text.to_dict(), vision_config=vision, projection_dim=text.projection_dim
        )
    elif full_size and family == "siglip":  # SiglipConfig's defaults: base, patch 16, 224 pixels
        config = SiglipConfig(text_config=config.text_config.to_dict())
    classes = {"clip": CLIPModel, "siglip": SiglipModel, "gpt2": GPT2LMHeadModel}
    torch.manual_seed(seed)
    return _saved(classes[family](config))


def siglip_tokenizer_files(settings) -> dict[str, bytes]:
    """The stand-in SentencePiece tokenizer's files, as SigLIP's repository lays its own
    out: ``spiece.model``, ``tokenizer_config.json``, ``special_tokens_map.json``."""
    from cvsp import unigram, wordpiece

    tokenizer = unigram.train(wordpiece.evaluation_texts(settings))  # no SigLIP vocabulary offline
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        files = {
            p.name: p.read_bytes()
            for p in Path(folder).iterdir()
            if p.name in ("spiece.model", "tokenizer_config.json", "special_tokens_map.json")
        }
    files.setdefault("special_tokens_map.json", json.dumps(tokenizer.special_tokens_map).encode())
    return files


def beyond_extra_repos(
    settings, tokenizers_dir: Path, seed: int = 0, full_size: bool = False
) -> list[Repo]:
    """The four repositories of ``MODEL_SETS["beyond"]`` beyond the paper's pair, each at
    its pinned commit (``main``)."""
    from cvsp import unigram

    size = "random weights of the real size" if full_size else "small random weights"
    clip_tokenizer = _tokenizer_files(tokenizers_dir / "clip", extra=("special_tokens_map.json",))
    clip_preprocessor = json.dumps(
        {"crop_size": 224, "image_processor_type": "CLIPImageProcessor"}
    ).encode()
    repos = []
    for offset, key in enumerate(BEYOND_EXTRA_KEYS, start=10):
        spec = MODELS[key]
        weights = _weights(key, seed + offset, full_size)
        files = {
            ".gitattributes": GITATTRIBUTES,
            "README.md": f"# {spec.hub_id} (replica with {size})\n".encode(),
            "config.json": weights["config.json"],
            "model.safetensors": weights["model.safetensors"],
        }
        if key == "clip_laion":
            files |= {
                "open_clip_config.json": NEVER,
                "open_clip_model.safetensors": NEVER,
                "open_clip_pytorch_model.bin": NEVER,
                "pytorch_model.bin": NEVER,
                "preprocessor_config.json": clip_preprocessor,
                **clip_tokenizer,
            }
        elif key == "clip_large":
            files |= {
                **{name: NEVER for name in UNUSED_EXPORTS},
                "preprocessor_config.json": clip_preprocessor,
                **clip_tokenizer,
            }
        elif key == "siglip":
            readme = f"# {spec.hub_id} (replica with {size}; its tokenizer is a STAND-IN: {unigram.LABEL})\n"
            preprocessor = {
                "image_processor_type": "SiglipImageProcessor",
                "size": {"height": 224, "width": 224},
            }
            files |= {
                ".gitattributes": GITATTRIBUTES + b"*.model filter=lfs diff=lfs merge=lfs -text\n",
                "README.md": readme.encode(),
                "preprocessor_config.json": json.dumps(preprocessor).encode(),
                **siglip_tokenizer_files(settings),
            }
        else:  # gpt2_medium: gpt2's layout
            generation = {"bos_token_id": 50256, "eos_token_id": 50256}
            files |= {
                "generation_config.json": json.dumps(generation).encode(),
                "rust_model.ot": NEVER,
                "64-8bits.tflite": NEVER,
                "onnx/decoder_model.onnx": NEVER,
                **{name: NEVER for name in UNUSED_EXPORTS},
                **_tokenizer_files(tokenizers_dir / "gpt2"),
            }
        repos.append(
            Repo(
                spec.hub_id,
                commits={spec.revision: files},
                refs={"main": spec.revision},
                lfs=_lfs(files),
            )
        )
    return repos


def real_tokenizers(settings, folder) -> object:
    """CVSP_TOKENIZERS_DIR, or the real tokenizer files fetched from the hub at the pinned
    commits (where it can be reached, e.g. on GitHub's runners)."""
    if settings.tokenizers_dir is not None:
        return settings.tokenizers_dir
    from huggingface_hub import hf_hub_download

    from cvsp.registry import MODELS, PAPER_MODELS

    try:
        for key, spec in ((k, MODELS[k]) for k in PAPER_MODELS):
            for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
                hf_hub_download(spec.hub_id, name, revision=spec.revision, local_dir=folder / key)
    except Exception as error:  # no network and no CVSP_TOKENIZERS_DIR
        pytest.skip(f"the hub replica needs the real tokenizers: set CVSP_TOKENIZERS_DIR ({error})")
    return folder
