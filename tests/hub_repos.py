"""The two repositories of the paper, laid out as on the hub, with small stand-in weights.

Layouts follow the hub's public listings (see the pinned commits in :mod:`cvsp.models`):

- ``gpt2``: ``main`` is commit ``607a30d7…``, which holds ``model.safetensors`` beside
  ``pytorch_model.bin`` and the TF/Flax/Rust/TFLite/ONNX exports.
- ``openai/clip-vit-base-patch32``: ``main`` is commit ``3d74acf9…``, which holds
  ``pytorch_model.bin`` and no safetensors; the hub's safetensors conversion is commit
  ``c237dc49…`` (``refs/pr/66``), the same files plus ``model.safetensors``.

Weights are seeded random tensors of the real architectures at a small width (12
layers, the real vocabularies, CLIP's 77 positions kept); tokenizers are the real ones
from ``CVSP_TOKENIZERS_DIR``. Files the project must never fetch (``.bin`` and the other
frameworks' exports) hold a marker instead of weights.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    GPT2Config,
    GPT2LMHeadModel,
)

from cvsp.models import MODELS
from hub_replica import Repo

CLIP_MAIN = "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268"
CLIP_PR = "refs/pr/66"
NEVER = b"cvsp must never request this file: it is not safetensors.\n"
WIDTH = 64  # hidden and projection size (512 and 512 in CLIP); layers, vocabularies, positions are real
UNUSED_EXPORTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def _saved(model: torch.nn.Module) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=True)
        return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


def _tokenizer_files(folder: Path, extra: tuple[str, ...] = ()) -> dict[str, bytes]:
    """The real tokenizer files, plus the ``tokenizer.json`` the hub also holds."""
    files = {name: (folder / name).read_bytes() for name in ("vocab.json", "merges.txt", "tokenizer_config.json")}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    with tempfile.TemporaryDirectory() as out:
        tokenizer.save_pretrained(out)
        for name in ("tokenizer.json", *extra):
            if (Path(out) / name).is_file():
                files[name] = (Path(out) / name).read_bytes()
    return files


def gpt2_repo(tokenizers_dir: Path, seed: int = 0) -> Repo:
    config = GPT2Config(n_embd=WIDTH, n_head=4, n_layer=12)
    torch.manual_seed(seed)
    weights = _saved(GPT2LMHeadModel(config))
    files = {
        ".gitattributes": GITATTRIBUTES,
        "README.md": b"# GPT-2 (replica with small random weights)\n",
        "config.json": weights["config.json"],
        "generation_config.json": json.dumps({"bos_token_id": 50256, "eos_token_id": 50256}).encode(),
        "model.safetensors": weights["model.safetensors"],
        "rust_model.ot": NEVER,
        "64.tflite": NEVER,
        "onnx/decoder_model.onnx": NEVER,
        **{name: NEVER for name in UNUSED_EXPORTS},
        **_tokenizer_files(tokenizers_dir / "gpt2"),
    }
    commit = MODELS["gpt2"].revision
    lfs = frozenset(n for n in files if n.endswith((".safetensors", ".bin", ".h5", ".msgpack", ".ot", ".tflite", ".onnx")))
    return Repo("gpt2", commits={commit: files}, refs={"main": commit}, lfs=lfs)


def clip_repo(tokenizers_dir: Path, seed: int = 0) -> Repo:
    text = CLIPTextConfig(hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_attention_heads=4,
                          num_hidden_layers=12, max_position_embeddings=77, projection_dim=WIDTH)  # fmt: skip
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=16, projection_dim=WIDTH)  # fmt: skip
    torch.manual_seed(seed)
    weights = _saved(CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision, projection_dim=WIDTH)))
    main = {
        ".gitattributes": GITATTRIBUTES,
        "README.md": b"# CLIP ViT-B/32 (replica with small random weights)\n",
        "config.json": weights["config.json"],
        "preprocessor_config.json": json.dumps({"crop_size": 224, "image_processor_type": "CLIPImageProcessor"}).encode(),
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


# BERT and its SimCSE fine-tunes. bert-base-uncased: main is the pinned commit and holds
# model.safetensors. The SimCSE repositories have no verified commits (cvsp.models): the
# replica lays them out as public copies suggest, main with pytorch_model.bin only and a
# safetensors conversion on refs/pr/1, under commit hashes of its own (labelled below).
SIMCSE_KEYS = ("simcse_unsup", "simcse_sup")


def replica_commit(label: str) -> str:
    """A 40-hex commit id of the replica's own, for repositories whose real commits are unknown."""
    import hashlib

    return hashlib.sha1(f"cvsp hub replica: {label}".encode()).hexdigest()


def simcse_commits(key: str) -> tuple[str, str]:
    """``(main, conversion)`` commits of a SimCSE repository in the replica."""
    return replica_commit(f"{key} main"), replica_commit(f"{key} refs/pr/1")


def bert_repos(settings, seed: int = 0) -> list[Repo]:
    from transformers import BertConfig, BertModel

    from cvsp import wordpiece

    tokenizer = wordpiece.train(wordpiece.evaluation_texts(settings))  # no BERT vocabulary offline
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        tokenizer_files = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
    repos = []
    for offset, key in enumerate(("bert", *SIMCSE_KEYS)):
        spec = MODELS[key]
        torch.manual_seed(seed + offset)
        config = BertConfig(hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_attention_heads=4, num_hidden_layers=12)
        weights = _saved(BertModel(config))
        base = {
            ".gitattributes": GITATTRIBUTES,
            "README.md": f"# {spec.hub_id} (replica: small random weights, stand-in WordPiece tokenizer)\n".encode(),
            "config.json": weights["config.json"],
            **{name: NEVER for name in UNUSED_EXPORTS},
            **tokenizer_files,
        }
        converted = {**base, "model.safetensors": weights["model.safetensors"]}
        lfs = frozenset(n for n in converted if n.endswith((".safetensors", ".bin", ".h5", ".msgpack")))
        if key == "bert":
            repos.append(Repo(spec.hub_id, commits={spec.revision: converted}, refs={"main": spec.revision}, lfs=lfs))
        else:
            main, conversion = simcse_commits(key)
            repos.append(Repo(spec.hub_id, commits={main: base, conversion: converted},
                              refs={"main": main, "refs/pr/1": conversion}, lfs=lfs))  # fmt: skip
    return repos
