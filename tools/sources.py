"""Where each figure of tools/figures.py comes from: named values and how to compute
them (the registry, ``cvsp.data``, the settings' defaults, the code's constants,
``benchmarks/results.json`` and ``benchmarks/rehearsal.json``, a test's support module).
Each is computed only when a ledgered figure asks for it."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path

from cvsp import data, experiments, released
from cvsp.registry import MODELS
from cvsp.settings import Settings


@dataclass(frozen=True)
class Source:
    """A named value: where it comes from, in words, and how to compute it."""

    said: str
    compute: Callable[[Path], float]


def _json(name: str) -> Callable[[Path], dict]:
    return lambda root: json.loads((root / name).read_text())


_results = _json("benchmarks/results.json")
_rehearsal = _json("benchmarks/rehearsal.json")


def _mb(*keys: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        return sum(MODELS[key].download_mb for key in keys)

    return compute


def _rows(name: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        return data.FILES[name].rows

    return compute


def _tokens(key: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        return MODELS[key].max_tokens

    return compute


def _architecture(key: str, field: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        return dict(MODELS[key].architecture)[field]

    return compute


def _data_mb(*names: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        settings = Settings.from_env()
        chosen = names or tuple(data.FILES)
        return sum(data.fetch(name, settings).stat().st_size for name in chosen) / 1e6

    return compute


def _code(module: str, name: str) -> Source:
    """A constant of the package, named by where it is defined."""
    return Source(f"{module}.{name}", _constant(module, name))


def _default(function: str, parameter: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        module, name = function.rsplit(".", 1)
        signature = inspect.signature(getattr(import_module(module), name))
        return signature.parameters[parameter].default

    return compute


def _constant(module: str, name: str) -> Callable[[Path], float]:
    def compute(root: Path) -> float:
        return getattr(import_module(module), name)

    return compute


def _file_constant(path: str, name: str) -> Callable[[Path], float]:
    """A constant of a file outside the package (a test's support module), read as Python."""

    def compute(root: Path) -> float:
        tree = ast.parse((root / path).read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
                return ast.literal_eval(node.value)
        raise KeyError(f"{name} is not a constant of {path}")

    return compute


@cache
def _sts_counts(root: Path) -> dict[str, float]:
    """Counts of the STS Benchmark test file as the book and the released code read it."""
    text = data.fetch("stsb", Settings.from_env()).read_text(encoding="utf-8")
    own = data.parse_sts(text)
    cells = [*own["sentence1"], *own["sentence2"]]
    table = released.read_sts_as_released(text)
    return {
        "sentences": len(data.unique_sentences(own)),
        "spaced_cells": sum(c != c.strip() for c in cells),
        "spaced_sentences": len({c for c in cells if c != c.strip()}),
        "released_pairs": len(table),
        "released_corrupted": int(table["corrupted"].sum()),
    }


def _sts(name: str) -> Callable[[Path], float]:
    return lambda root: _sts_counts(root)[name]


def _words(root: Path) -> float:
    return len(experiments.load_word_data(Settings.from_env()).vocabulary())


def _bootstrap(root: Path) -> float:
    return Settings.__dataclass_fields__["bootstrap"].default


SOURCES: dict[str, Source] = {
    **{
        f"{key}_mb": Source(f"the registry's size of {key}'s pinned weights", _mb(key))
        for key in (
            "bert",
            "clip_laion",
            "siglip",
        )
    },
    **{
        f"{key}_gb": Source(
            f"the registry's size of {key}'s pinned weights", lambda r, k=key: _mb(k)(r) / 1000
        )
        for key in ("gpt2", "clip", "clip_large", "gpt2_medium")
    },
    "beyond_gb": Source(
        "the registry's sizes of chapter 8's four extra weights",
        lambda root: _mb("clip_laion", "clip_large", "siglip", "gpt2_medium")(root) / 1000,
    ),
    "gpt2_medium_width": Source(
        "the registry: GPT-2 medium's config (n_embd)", _architecture("gpt2_medium", "n_embd")
    ),
    "gpt2_medium_heads": Source(
        "the registry: GPT-2 medium's config (n_head)", _architecture("gpt2_medium", "n_head")
    ),
    "hidden_layers": Source(
        "cvsp.registry.HIDDEN_LAYERS: the hidden states of a 12-block model",
        lambda root: len(_constant("cvsp.registry", "HIDDEN_LAYERS")(root)),
    ),
    **{
        name: Source(
            f"the STS Benchmark test file, read by cvsp.data and cvsp.released: {name}", _sts(name)
        )
        for name in (
            "sentences",
            "spaced_cells",
            "spaced_sentences",
            "released_pairs",
            "released_corrupted",
        )
    },
    "words": Source("the five word tests' vocabulary (cvsp.experiments.WordData)", _words),
    "wordpiece_pieces": _code("cvsp.wordpiece", "TRAINED_PIECES"),
    "bert_ids": _code("cvsp.wordpiece", "BERT_VOCAB_SIZE"),
    "unigram_pieces": _code("cvsp.unigram", "TRAINED_PIECES"),
    "siglip_ids": _code("cvsp.unigram", "SIGLIP_VOCAB_SIZE"),
    "slow_tests_gb": Source(
        "tests/support/disk.py: the free disk the slow tests ask for",
        _file_constant("tests/support/disk.py", "SLOW_TESTS_NEED_GB"),
    ),
    "web_assets_mib": Source(
        "benchmarks/results.json: the web assets in the cold book's cache",
        lambda root: _results(root)["book"]["cache_mib"]["web-assets"],
    ),
    "engine_percent": Source(
        "benchmarks/results.json: the engine's best share of the matmul rate",
        lambda root: 100 * _results(root)["book"]["engine_fraction"],
    ),
    "subset_size": Source(
        "cvsp.fidelity.measure's default subset size",
        _default("cvsp.fidelity.measure", "subset_size"),
    ),
    "smallest_subset": Source(
        "cvsp.experiments.CWE_CORPUS_SIZES: the smallest",
        lambda root: min(_constant("cvsp.experiments", "CWE_CORPUS_SIZES")(root)),
    ),
    "largest_subset": Source(
        "cvsp.experiments.CWE_CORPUS_SIZES: the largest",
        lambda root: max(_constant("cvsp.experiments", "CWE_CORPUS_SIZES")(root)),
    ),
    "small_width": _code("cvsp.standins", "SMALL_WIDTH"),
    "blocks": Source(
        "cvsp.registry.HIDDEN_LAYERS, less the embeddings",
        lambda root: len(_constant("cvsp.registry", "HIDDEN_LAYERS")(root)) - 1,
    ),
    "gpt2_medium_blocks": Source(
        "the registry: GPT-2 medium's config (n_layer)", _architecture("gpt2_medium", "n_layer")
    ),
    "clip_large_width": Source(
        "the registry: CLIP L/14's text config (hidden_size)",
        _architecture("clip_large", "hidden_size"),
    ),
    "clip_large_heads": Source(
        "the registry: CLIP L/14's text config (num_attention_heads)",
        _architecture("clip_large", "num_attention_heads"),
    ),
    "phone_px": Source(
        "cvsp.plots.phone.PHONE_WIDTH, in CSS px (96 per inch)",
        lambda root: 96 * _constant("cvsp.plots.phone", "PHONE_WIDTH")(root),
    ),
    "phone_pt": _code("cvsp.plots.phone", "SMALLEST_PT"),
    "phone_css": Source(
        "cvsp.plots.phone.SMALLEST_PT, in CSS px (96 / 72 per pt)",
        lambda root: _constant("cvsp.plots.phone", "SMALLEST_PT")(root) * 96 / 72,
    ),
    "phone_media": Source(
        "cvsp.picture.PHONE_MEDIA: the widest screen that gets the phone layout",
        lambda root: float(
            _constant("cvsp.picture", "PHONE_MEDIA")(root).split(":")[1].strip(" px)")
        ),
    ),
    "phone_screen": Source(
        "tests/test_site.py: the phone's viewport",
        lambda root: _file_constant("tests/test_site.py", "VIEWPORTS")(root)["phone"]["width"],
    ),
    "shown_percent": Source(
        "tests/test_site.py: the least share of its natural width a figure may show at",
        lambda root: 100 * _file_constant("tests/test_site.py", "SHOWN_AT_LEAST")(root),
    ),
    "siglip_tokens": Source("the registry: SigLIP's positions", _tokens("siglip")),
    "siglip_pieces": Source(
        "the registry: SigLIP's positions, less the one its end token takes",
        lambda root: _tokens("siglip")(root) - 1,
    ),
    "shuffles": Source(
        "cvsp.experiments.shuffled_similarity's default shuffles",
        _default("cvsp.experiments.diagnostics.shuffled_similarity", "shuffles"),
    ),
    "shuffle_sample": Source(
        "cvsp.experiments.shuffled_similarity's default sample",
        _default("cvsp.experiments.diagnostics.shuffled_similarity", "sample"),
    ),
    "shuffled_texts": Source(
        "shuffled_similarity's defaults: shuffles x sample",
        lambda root: SOURCES["shuffles"].compute(root) * SOURCES["shuffle_sample"].compute(root),
    ),
    **{
        f"{name}_rows": Source(
            f"cvsp.data.FILES: the rows of {name} (checked on load)", _rows(name)
        )
        for name in ("rg65", "wordsim353", "simlex999", "simverb3500", "bellezza", "stsb")
    },
    "clip_tokens": Source("the registry: CLIP's longest input", _tokens("clip")),
    "gpt2_tokens": Source("the registry: GPT-2's longest input", _tokens("gpt2")),
    "bootstrap": Source("cvsp.settings: the default bootstrap replicates", _bootstrap),
    "data_mb": Source("the six evaluation files' sizes", _data_mb()),
    "sts_mb": Source("the size of sts-test.csv", _data_mb("stsb")),
    "word_lists_mb": Source(
        "the sizes of the five word files",
        _data_mb("rg65", "wordsim353", "simlex999", "simverb3500", "bellezza"),
    ),
    "runner_free_gb": Source(
        "benchmarks/rehearsal.json: the free disk of GitHub's standard runner",
        lambda root: _rehearsal(root)["runner_limits"]["free_disk_gb"],
    ),
    "runner_cache_gb": Source(
        "benchmarks/rehearsal.json: GitHub's cache limit per repository",
        lambda root: _rehearsal(root)["runner_limits"]["cache_gb"],
    ),
}
