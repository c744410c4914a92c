"""The paper's claims beyond its two models: each claim restated per model, verdicts with
intervals, and paired differences between models of different depths.

The paper makes its claims about one CLIP and one GPT-2. :func:`restated_claims` states
each claim of its abstract (:data:`cvsp.paper.REPORTED`) for another model of the same
*role*: CLIP's claims for every contrastive text tower (CLIP-like and SigLIP), GPT-2's
for a bigger GPT-2. "Every layer" becomes every hidden layer of that model and "the top
layer" its own top (layer 24 of GPT-2 medium). :func:`verdicts` gives each restated claim
our number, its 95 % bootstrap interval (best or worst layer re-chosen inside each
replicate, as :func:`.paired.claim_intervals` does for the paper's pair) and a verdict
that reads the interval: ``holds`` when the whole interval meets the claim, ``fails``
when none of it does, ``undecided`` otherwise.

:func:`depth_differences` compares two models on the same items (paired resamples) at
equal *relative* depth, layer / number of blocks: layer 2k of a 24-block model beside
layer k of a 12-block one; for equal depths that is layer by layer. :func:`with_depth`
adds the relative depth to a tidy table, whose ``layer`` stays the absolute layer.
:func:`beyond_tables` computes all of it from one set of replicates.

Used by ``cvsp reproduce --model-set beyond`` and the chapter "Beyond one CLIP".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from math import gcd

import numpy as np
import pandas as pd

from cvsp import paper, stats
from cvsp.experiments.bootstrap import Replicates, replicates
from cvsp.experiments.choices import CWE_VARIANT, SENTENCE_VARIANTS, WORD_VARIANTS
from cvsp.experiments.comparisons import contrast_table
from cvsp.experiments.inputs import SentenceData, WordData
from cvsp.experiments.paired import COMPARED, claim_interval, compared_series, interval_table
from cvsp.registry import HIDDEN_LAYERS, PAPER_MODELS, hidden_count, hidden_layers
from cvsp.verdicts import interval_side

ROLES: dict[str, str] = {
    "clip": "clip",
    "siglip": "clip",
    "gpt2": "gpt2",
}  # family -> whose claims it is tested on
TOP = HIDDEN_LAYERS[-1]  # "the top layer" of the paper's models
# The abstract's claims, named for a table (the paper's own wording is the claim's text).
SHORT: dict[str, str] = {
    "CLIP CWE self-similarity is under .25 in all layers": "CWE self-similarity < .25 in every layer",
    "GPT-2 CWE self-similarity is above .95 in the top layer": "CWE self-similarity > .95 at the top",
    "CLIP reaches rho = .88 on RG65": "RG65 ρ ≈ .88 (best layer)",
    "CLIP reaches rho = .73 on STS-B": "STS-B ρ ≈ .73 (best EOS layer)",
    "GPT-2 is no higher than rho = .45 in any layer on STS-B": "STS-B ρ ≤ .45 in every layer",
    "CLIP sentence self-similarity finishes at .25 in the top layer": "sentence self-similarity ≈ .25 at the top",
    "GPT-2 EOS sentence self-similarity never falls below .97": "EOS sentence self-similarity ≥ .97 in every layer",
}
VERDICT_COLUMNS: list[str] = [
    "model",
    "role",
    "claim",
    "relation",
    "paper",
    "ours",
    "ci_low",
    "ci_high",
    "holds",
    "interval",
    "layers",
]
DEPTH_COLUMNS: list[str] = [
    "result",
    "task",
    "model",
    "base",
    "variant",
    "base_variant",
    "layer",
    "base_layer",
    "depth",
    "difference",
    "ci_low",
    "ci_high",
]


def short_name(claim: paper.Reported) -> str:
    """The claim's name in a table: :data:`SHORT` for the abstract's claims."""
    return next((name for text, name in SHORT.items() if claim.text.startswith(text)), claim.text)


def abstract_claims() -> list[paper.Reported]:
    """The claims of the paper's abstract (not Figure 1's per-layer values)."""
    return [claim for claim in paper.REPORTED if claim.source == "Abstract"]


def restated_claims(model: str, family: str, blocks: int) -> list[paper.Reported]:
    """The abstract's claims about the model of ``family``'s role (:data:`ROLES`), stated
    for ``model`` with ``blocks`` blocks: its hidden layers for "every layer", its top for
    "the top layer"."""
    role = ROLES.get(family)
    hidden = hidden_layers(blocks)
    restated = []
    for claim in abstract_claims():
        if claim.model != role:
            continue
        layers = (
            hidden
            if claim.layers == HIDDEN_LAYERS
            else tuple(hidden[-1] if la == TOP else la for la in claim.layers)
        )
        restated.append(replace(claim, model=model, layers=layers))
    return restated


@dataclass(frozen=True)
class ModelDepth:
    """What the restatement needs of a model: its family and number of blocks."""

    family: str
    blocks: int


def depths_of(embedders: Mapping) -> dict[str, ModelDepth]:
    """``key -> ModelDepth`` of each embedder's model (from its config)."""
    return {key: ModelDepth(e.family, e.blocks) for key, e in embedders.items()}


def verdicts(
    scores: pd.DataFrame, reps: Mapping[tuple, Replicates], boot, models: Mapping[str, ModelDepth]
) -> pd.DataFrame:
    """Every restated claim for every model: our number (from ``scores``), its 95 %
    interval (from ``reps``), whether our number meets it at the paper's rounding
    (``holds``) and the reading of its ``interval``; columns :data:`VERDICT_COLUMNS`."""
    rows = []
    for key, depth in models.items():
        for claim in restated_claims(key, depth.family, depth.blocks):
            low, high = claim_interval(claim, reps, boot)
            ours = claim.ours(scores)
            span = (
                claim.layers[0]
                if len(claim.layers) == 1
                else f"{claim.layers[0]}-{claim.layers[-1]}"
            )
            rows.append(
                (
                    key,
                    ROLES[depth.family],
                    short_name(claim),
                    claim.relation,
                    claim.value,
                    ours,
                    low,
                    high,
                    claim.holds(ours),
                    interval_side(claim.relation, claim.value, low, high),
                    span,
                )
            )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def matched_layers(blocks: int, base_blocks: int) -> list[tuple[int, int]]:
    """``(layer, base_layer)`` pairs at equal relative depth: every layer of each model
    whose depth the other model also has (layer 2k beside layer k for 24 and 12 blocks)."""
    common = gcd(blocks, base_blocks)
    return [(i * blocks // common, i * base_blocks // common) for i in range(common + 1)]


def depth_differences(
    reps: Mapping[tuple, Replicates],
    model: str,
    base: str,
    compared: Mapping[str, Sequence[tuple[str, str]]],
    boot,
) -> list[tuple]:
    """Rows of :data:`DEPTH_COLUMNS`: ``model − base`` at each relative depth both have
    (:func:`matched_layers`), and for the best layers (re-chosen inside each replicate;
    ``layer`` and ``base_layer`` are ``best``), with 95 % paired-bootstrap intervals."""
    rows = []
    for result, task, variant, base_variant, ours, other in compared_series(
        reps, model, base, compared
    ):
        blocks, base_blocks = hidden_count(ours.layers) - 1, hidden_count(other.layers) - 1
        pairs = matched_layers(blocks, base_blocks)
        a = ours.values[:, [layer for layer, _ in pairs]]
        b = other.values[:, [layer for _, layer in pairs]]
        low, high = stats.percentile_interval(a - b, boot.level)
        key = (result, task, model, base, variant, base_variant)
        for i, (layer, base_layer) in enumerate(pairs):
            difference = ours.point[layer] - other.point[base_layer]
            rows.append(
                (*key, str(layer), str(base_layer), layer / blocks, difference, low[i], high[i])
            )
        if ours.scores is None and result != "word_similarity":
            continue  # a "best layer" means something for correlations only
        with np.errstate(all="ignore"):
            best = stats.best_replicates(ours.values[:, : blocks + 1]) - stats.best_replicates(
                other.values[:, : base_blocks + 1]
            )
            lo, hi = stats.percentile_interval(best[:, None], boot.level)
        difference = np.nanmax(ours.point[: blocks + 1]) - np.nanmax(other.point[: base_blocks + 1])
        rows.append((*key, "best", "best", np.nan, difference, lo[0], hi[0]))
    return rows


def same_choices(family: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each result's token choices of a family compared with themselves (two models of one role)."""
    return {
        "cwe_self_similarity": ((CWE_VARIANT, CWE_VARIANT),),
        "word_similarity": tuple((v, v) for v in WORD_VARIANTS[family]),
        "sts": tuple((v, v) for v in SENTENCE_VARIANTS[family]),
        "sentence_self_similarity": tuple((v, v) for v in SENTENCE_VARIANTS[family]),
    }


def comparisons(
    models: Mapping[str, ModelDepth],
) -> list[tuple[str, str, Mapping[str, Sequence[tuple[str, str]]]]]:
    """The pairs the chapter compares: each model outside the paper's pair against the
    paper's model of its role (same token choices; a SigLIP against CLIP reads the same
    names), and each contrastive model against each GPT-2 with the paper's choices
    (:data:`.paired.COMPARED`)."""
    pairs = []
    roles = {
        key: ROLES[d.family] for key, d in models.items() if d.family in ROLES
    }  # a BERT-family model has none
    for key, role in roles.items():  # the paper's model of a role: its key is the role's name
        if key not in PAPER_MODELS and role in models:
            pairs.append((key, role, same_choices(models[role].family)))
    gpt2s = [k for k, role in roles.items() if role == "gpt2"]
    for key, role in roles.items():
        if role == "clip":
            pairs += [(key, base, COMPARED) for base in gpt2s if (key, base) != ("clip", "gpt2")]
    return pairs


def with_depth(table: pd.DataFrame, models: Mapping[str, ModelDepth]) -> pd.DataFrame:
    """``table`` (with ``model`` and ``layer``) with ``depth``: layer / number of blocks
    for hidden layers, NaN for the points after the top."""
    layers = table["layer"].astype(str)
    blocks = table["model"].map({k: d.blocks for k, d in models.items()})
    depth = pd.to_numeric(layers.where(layers.str.isdigit()), errors="coerce") / blocks
    return table.assign(depth=depth)


def beyond_tables(
    embedders,
    words: WordData,
    sentences: SentenceData,
    scores: pd.DataFrame,
    boot,
    workers: int | None = None,
    reps: Mapping[tuple, Replicates] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """From one set of replicates: ``(intervals, contrasts, verdicts, depths)``: the
    intervals of every series, the contrasts of :data:`.comparisons.CONTRASTS` whose two
    models run, the verdicts of every model (:func:`verdicts`) and the paired
    differences at equal relative depth of :func:`comparisons`. ``reps``: the replicates of
    these models, where the caller has them."""
    reps = replicates(embedders, words, sentences, boot, workers) if reps is None else reps
    models = depths_of(embedders)
    depth_rows = [
        row
        for model, base, compared in comparisons(models)
        for row in depth_differences(reps, model, base, compared, boot)
    ]
    return (
        interval_table(reps, boot),
        contrast_table(reps, boot),
        verdicts(scores, reps, boot, models),
        pd.DataFrame(depth_rows, columns=DEPTH_COLUMNS),
    )
