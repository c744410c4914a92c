"""The numbers Wolfe & Caliskan (ACL 2022) report, in one place, and how ours compare
(and, at the end, the published SimCSE numbers of the chapter "Images or contrast?").

Each :class:`Reported` value names the result, model, token choice(s), dataset and
layer(s) it is about, how the paper states it (``≈`` a value, or a bound such as
``<``), and where in the paper it appears. :func:`compare` sets them beside a results
table from :mod:`cvsp.experiments`.

Used by every chapter's "Comparison with the paper" section and by ``cvsp reproduce``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvsp.registry import HIDDEN_LAYERS

PAPER = (
    "Wolfe, R. & Caliskan, A. (2022). Contrastive Visual Semantic Pretraining Magnifies "
    "the Semantics of Natural Language Representations. ACL 2022, 3050-3061. "
    "arXiv:2203.07511"
)
APPROX_TOLERANCE = 0.03  # |ours - paper| allowed for an "≈" value with the real models
# The paper prints two decimals, so a bound holds for anything that rounds onto its side:
# "≤ .45" for values up to .455, "≥ .97" from .965, "> .95" from .945, "< .25" up to .255.
ROUNDING = 0.005
_FLOAT_SLACK = 1e-12  # so that e.g. .45 + .005 itself counts as rounding to .45


def _below(ours: float, bound: float) -> bool:
    return ours <= bound + ROUNDING + _FLOAT_SLACK


def _above(ours: float, bound: float) -> bool:
    return ours >= bound - ROUNDING - _FLOAT_SLACK


_RELATIONS = {
    "≈": lambda ours, paper: abs(ours - paper) <= APPROX_TOLERANCE,
    "<": _below,
    "≤": _below,
    ">": _above,
    "≥": _above,
}
# The bounds read literally, without the paper's rounding: only to measure what the
# rounding changes (chapter "Reproducing the reproduction").
_STRICT = {
    "<": lambda ours, paper: ours < paper,
    "≤": lambda ours, paper: ours <= paper,
    ">": lambda ours, paper: ours > paper,
    "≥": lambda ours, paper: ours >= paper,
}


@dataclass(frozen=True)
class Reported:
    """One number the paper reports.

    ``statistic`` says how our per-layer values are reduced before comparing: ``value``
    (the single layer in ``layers``), ``max`` or ``min`` over ``layers`` (and over the
    token choices in ``variants``).
    """

    result: str
    model: str
    variants: tuple[str, ...]
    task: str
    layers: tuple[str, ...]
    statistic: str
    relation: str
    value: float
    source: str
    text: str

    def ours(self, scores: pd.DataFrame) -> float:
        """Our number for this claim, from a results table (NaN if not in the table)."""
        rows = scores[
            (scores["result"] == self.result)
            & (scores["model"] == self.model)
            & (scores["task"] == self.task)
            & scores["variant"].isin(self.variants)
            & scores["layer"].astype(str).isin(self.layers)
        ]["value"]
        if rows.empty:
            return float("nan")
        if self.statistic == "value":
            return float(rows.iloc[0])
        return float(rows.max() if self.statistic == "max" else rows.min())

    def holds(self, ours: float, rounded: bool = True) -> bool:
        """Whether ``ours`` meets the claim; a bound is read at the paper's two decimals.

        ``rounded=False`` reads a bound literally (``≤ .45`` fails at .452); ``≈`` is
        the same either way.
        """
        return meets(self.relation, self.value, ours, rounded)


def meets(relation: str, paper: float, ours: float, rounded: bool = True) -> bool:
    """Whether ``ours`` meets ``relation paper`` (see :meth:`Reported.holds`); never for NaN."""
    if not np.isfinite(ours):
        return False
    relations = _RELATIONS if rounded or relation == "≈" else _STRICT
    return bool(relations[relation](ours, paper))


_FIG1 = "Figure 1 (CWE self-similarity by layer)"
_ABSTRACT = "Abstract"
_GPT2_CWE = (
    0.659,
    0.737,
    0.661,
    0.629,
    0.588,
    0.573,
    0.552,
    0.551,
    0.565,
    0.588,
    0.633,
    0.770,
    0.964,
)
_CLIP_CWE = (0.159, 0.149, 0.127, 0.080, 0.057)  # the first layers, read from Figure 1's data


def _series(model: str, label: str, values: tuple[float, ...]) -> list[Reported]:
    return [
        Reported(
            "cwe_self_similarity",
            model,
            ("random_token",),
            "sts_sentences",
            (str(layer),),
            "value",
            "≈",
            value,
            _FIG1,
            f"{label} CWE self-similarity, layer {layer}",
        )
        for layer, value in enumerate(values)
    ]


REPORTED: tuple[Reported, ...] = (
    *_series("gpt2", "GPT-2", _GPT2_CWE),
    *_series("clip", "CLIP", _CLIP_CWE),
    Reported(
        "cwe_self_similarity",
        "clip",
        ("random_token",),
        "sts_sentences",
        HIDDEN_LAYERS,
        "max",
        "<",
        0.25,
        _ABSTRACT,
        "CLIP CWE self-similarity is under .25 in all layers",
    ),
    Reported(
        "cwe_self_similarity",
        "gpt2",
        ("random_token",),
        "sts_sentences",
        ("12",),
        "value",
        ">",
        0.95,
        _ABSTRACT,
        "GPT-2 CWE self-similarity is above .95 in the top layer",
    ),
    Reported(
        "word_similarity",
        "clip",
        ("last_subtoken", "eos"),
        "rg65",
        HIDDEN_LAYERS,
        "max",
        "≈",
        0.88,
        _ABSTRACT,
        "CLIP reaches rho = .88 on RG65 (ours: best layer and token choice; the abstract names neither)",
    ),
    Reported(
        "sts",
        "clip",
        ("eos",),
        "stsb",
        HIDDEN_LAYERS,
        "max",
        "≈",
        0.73,
        _ABSTRACT,
        "CLIP reaches rho = .73 on STS-B (ours: best layer of CLIP's EOS token; the abstract names neither layer nor token)",
    ),
    Reported(
        "sts",
        "gpt2",
        ("last_token", "eos"),
        "stsb",
        HIDDEN_LAYERS,
        "max",
        "≤",
        0.45,
        _ABSTRACT,
        "GPT-2 is no higher than rho = .45 in any layer on STS-B (ours: every layer of the last token and the EOS token; the abstract names no token)",
    ),
    Reported(
        "sentence_self_similarity",
        "clip",
        ("eos",),
        "sts_sentences",
        ("12",),
        "value",
        "≈",
        0.25,
        _ABSTRACT,
        "CLIP sentence self-similarity finishes at .25 in the top layer (ours: EOS token; the abstract names no token)",
    ),
    Reported(
        "sentence_self_similarity",
        "gpt2",
        ("eos",),
        "sts_sentences",
        HIDDEN_LAYERS,
        "min",
        "≥",
        0.97,
        _ABSTRACT,
        "GPT-2 EOS sentence self-similarity never falls below .97",
    ),
)


def reported(result: str | None = None) -> list[Reported]:
    """The paper's numbers, optionally for one result."""
    return [r for r in REPORTED if result is None or r.result == result]


def reported_table(result: str | None = None) -> pd.DataFrame:
    """The paper's numbers as a table: claim, model, relation, value, source."""
    return pd.DataFrame(
        [
            {
                "claim": r.text,
                "model": r.model,
                "relation": r.relation,
                "value": r.value,
                "source": r.source,
            }
            for r in reported(result)
        ]
    ).set_index("claim")


def reference_points(result: str, model: str, variant: str, task: str) -> dict[str, float]:
    """Per-layer values the paper gives for one series (for markers in figures)."""
    return {
        r.layers[0]: r.value
        for r in REPORTED
        if (r.result, r.model, r.task) == (result, model, task)
        and variant in r.variants
        and r.statistic == "value"
        and r.relation == "≈"
    }


def reference_levels(result: str, task: str) -> list[Reported]:
    """Numbers the paper gives for a whole series (a best value or a bound), for figures."""
    return [r for r in REPORTED if (r.result, r.task) == (result, task) and len(r.layers) > 1]


def compare(
    scores: pd.DataFrame,
    result: str | None = None,
    intervals: pd.DataFrame | None = None,
    *,
    rounded: bool = True,
) -> pd.DataFrame:
    """The paper's numbers beside ours: ``paper``, ``ours``, ``difference``, ``holds``.

    ``rounded`` (default ``True``): a bound holds for anything that rounds onto its side
    at the paper's two decimals; ``False`` reads the bounds literally (see
    :meth:`Reported.holds`).

    With ``intervals`` (``claim, ci_low, ci_high`` from :func:`cvsp.experiments.uncertainty`)
    the table also gives our interval and ``paper_inside``: whether the paper's number
    lies inside it.
    """
    rows = []
    for r in reported(result):
        ours = r.ours(scores)
        rows.append(
            {
                "result": r.result,
                "model": r.model,
                "claim": r.text,
                "relation": r.relation,
                "paper": r.value,
                "ours": ours,
                "difference": ours - r.value,
                "holds": r.holds(ours, rounded),
                "source": r.source,
            }
        )
    table = pd.DataFrame(rows)
    if intervals is None:
        return table
    table = table.merge(intervals, on="claim", how="left")
    table["paper_inside"] = (table["ci_low"] <= table["paper"]) & (
        table["paper"] <= table["ci_high"]
    )
    return table[[c for c in table.columns if c != "source"] + ["source"]]


# ----------------------------------------------- other papers' numbers (chapter "Images or contrast?")

SIMCSE_PAPER = (
    "Gao, T., Yao, X. & Chen, D. (2021). SimCSE: Simple Contrastive Learning of Sentence "
    "Embeddings. EMNLP 2021, 6894-6910. arXiv:2104.08821"
)


@dataclass(frozen=True)
class Anchor:
    """A published STS-B test score (Spearman's ρ) of a model beside which we set ours.

    ``variant`` and ``layers`` say how we read the model to match the publication: the
    layers' vectors are averaged (two layers: SimCSE's "first-last average").
    """

    model: str
    readout: str  # how the publication reads the sentence vector
    variant: str
    layers: tuple[str, ...]
    value: float  # Spearman's ρ, as a fraction (the publication prints ρ × 100)
    source: str


ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "simcse_unsup",
        "[CLS] of the top layer, without the pooler (as its authors evaluate it)",
        "cls",
        ("12",),
        0.7685,
        "Gao et al. 2021, STS-B test, unsupervised SimCSE-BERT-base",
    ),
    Anchor(
        "simcse_sup",
        "[CLS] through the trained pooler",
        "cls",
        ("pooler",),
        0.8425,
        "Gao et al. 2021, STS-B test, supervised SimCSE-BERT-base",
    ),
    Anchor(
        "bert",
        "first-last average: mean token of layers 1 and 12, averaged",
        "mean",
        ("1", "12"),
        0.5387,
        "Gao et al. 2021, STS-B test, BERT-base (first-last avg.)",
    ),
    # Which "first" layer is meant (the embedding output or block 1) has varied between
    # implementations; the second reading measures how much the choice matters.
    Anchor(
        "bert",
        "first-last average with the embedding output as the first layer (0 and 12)",
        "mean",
        ("0", "12"),
        0.5387,
        "Gao et al. 2021, STS-B test, BERT-base (first-last avg.)",
    ),
)


# ------------------------------------------- published numbers of the chapter "Beyond one CLIP"

# ImageNet-1k zero-shot top-1 accuracy of each CLIP-like model of the chapter, from one
# table for all: OpenCLIP's evaluation of every model it can load (SigLIP through its
# OpenCLIP port). It measures the image side; no published STS-B numbers of these text
# towers were found, so the chapter sets none beside ours.
OPEN_CLIP_RESULTS = (
    "OpenCLIP's results table (mlfoundations/open_clip, docs/openclip_results.csv at commit f862f86c): "
    "ImageNet-1k zero-shot top-1 accuracy"
)
ZERO_SHOT_IMAGENET: dict[
    str, tuple[str, float]
] = {  # key -> (OpenCLIP's name of the model, accuracy)
    "clip": ("ViT-B-32, openai", 0.6332),
    "clip_laion": ("ViT-B-32, laion2b_s34b_b79k", 0.6656),
    "clip_large": ("ViT-L-14, openai", 0.7554),
    "siglip": ("ViT-B-16-SigLIP, webli", 0.7604),
}
