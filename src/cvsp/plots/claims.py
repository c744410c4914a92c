"""Figures of the paper's claims and of chapter 5's effects: every claim with its verdict
(:func:`claims_figure`), the effect of each change between the paper, the released code
and the book (:func:`fidelity_figure`), and how far subsets and seeds move the CWE
self-similarity (:func:`spread_figure`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import paper, verdicts
from cvsp.plots.style import LAYER_X, STYLE, TASK_NAMES, WARNING_COLOUR, headline, panel_grid, style
from cvsp.registry import HIDDEN_LAYERS, PAPER_MODELS

RESULT_LINES = {"sts": "-", "sentence_self_similarity": "--", "cwe_self_similarity": ":"}
RESULT_NAMES = {
    "sts": "STS",
    "sentence_self_similarity": "sentence self-sim.",
    "cwe_self_similarity": "CWE self-sim.",
}
STAND_IN_EFFECTS = "STAND-IN MODELS (random weights): these effects say nothing about the paper"


def claim_label(claim: paper.Reported) -> str:
    """A short label for a claim: model, measure, which layer, the paper's relation."""
    measure = {
        "cwe_self_similarity": "CWE self-sim.",
        "sentence_self_similarity": "sentence self-sim.",
        "sts": "STS-B ρ",
        "word_similarity": f"{TASK_NAMES.get(claim.task, claim.task)} ρ",
    }[claim.result]
    where = {"max": "max over layers", "min": "min over layers"}.get(
        claim.statistic, f"layer {claim.layers[0]}"
    )
    return f"{STYLE[claim.model]['label']} {measure}, {where}  {claim.relation} {verdicts.number(claim.value)}"


def _draw_claim(ax: plt.Axes, y: float, row: pd.Series) -> None:
    """One claim's row: ours with its interval, the paper's number (a bound with the
    width of its rounding) and the verdict at the right."""
    look = STYLE[row["model"]]
    if np.isfinite(row.get("ci_low", np.nan)):
        ax.plot(
            [row["ci_low"], row["ci_high"]], [y, y], color=look["color"], linewidth=2.2, alpha=0.7
        )
    ax.plot(
        row["ours"], y, marker=look["marker"], color=look["color"], markersize=7, linestyle="none"
    )
    if row["relation"] != "≈":
        ax.plot(
            [row["paper"] - 0.005, row["paper"] + 0.005],
            [y, y],
            color="grey",
            linewidth=6,
            alpha=0.4,
        )
    ax.plot(
        row["paper"],
        y,
        marker="x",
        color="black",
        markersize=8,
        markeredgewidth=2,
        linestyle="none",
    )
    ax.annotate(
        verdicts.MARKS[verdicts.side(row["relation"], row["paper"], row["ours"])],
        xy=(1.015, y),
        xycoords=("axes fraction", "data"),
        va="center",
        fontsize=12,
        color="#1e8449" if row["holds"] else WARNING_COLOUR,
    )


def _claims_legend(fig: plt.Figure) -> None:
    def ours(model: str) -> plt.Line2D:
        look = STYLE[model]
        label = f"ours, {look['label']}, 95 % interval"
        return plt.Line2D([], [], marker=look["marker"], color=look["color"], label=label)

    paper_mark = plt.Line2D(
        [], [], marker="x", color="black", linestyle="none", markeredgewidth=2, label="paper"
    )
    handles = [paper_mark, ours("gpt2"), ours("clip")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)


def claims_figure(comparison: pd.DataFrame, stand_in: bool) -> plt.Figure:
    """Every claim of the paper on one axis: the paper's number (black cross; a bound's
    rounding as a grey bar), ours with its 95 % interval (model colour), and the verdict
    at the right (:data:`cvsp.verdicts.MARKS`: ✓ holds, or the side our number misses
    on). The per-layer CWE series enter with layer 12 only."""
    claims = {c.text: c for c in paper.REPORTED}
    series = comparison["claim"].str.contains("CWE self-similarity, layer")
    top = series & comparison["claim"].str.endswith("layer 12")
    rows = comparison[(~series | top) & comparison["claim"].isin(claims)].reset_index(drop=True)
    height = 0.38 * len(rows) + 1.6
    fig, ax = plt.subplots(figsize=(8.6, height))
    y = np.arange(len(rows))[::-1]
    for yi, (_, row) in zip(y, rows.iterrows()):
        _draw_claim(ax, yi, row)
    ax.set_yticks(y, [claim_label(claims[text]) for text in rows["claim"]], fontsize=8.5)
    low = float(np.nanmin(rows[["ours", "ci_low"]].to_numpy(dtype=float)))
    ax.set_xlim(min(-0.05, low - 0.05), 1.02)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("correlation or self-similarity")
    ax.grid(axis="x", alpha=0.3)
    _claims_legend(fig)
    headline(fig, "The paper's claims: its number, ours with interval, verdict", stand_in)
    fig.tight_layout(rect=(0, 0.6 / height, 1, 1))
    return fig


def fidelity_figure(effects: pd.DataFrame, stand_in: bool, columns: int = 3) -> plt.Figure:
    """One panel per change: ``alternative − ours`` per layer, one line per result, model
    and token choice (solid STS, dashed sentence self-similarity, dotted CWE; GPT-2's EOS
    line with open markers)."""
    changes = list(dict.fromkeys(effects["change"]))
    fig, axes, _ = panel_grid(len(changes), columns, (4.1, 2.9), (0, 0.9))
    for ax, change in zip(axes.flat, changes):
        rows = effects[effects["change"] == change]
        for (result, model, variant), group in rows.groupby(
            ["result", "model", "variant"], sort=False
        ):
            values = group.set_index("layer")["difference"].reindex(list(HIDDEN_LAYERS))
            look = style(model)
            open_marker = variant == "eos" and model == "gpt2"
            ax.plot(
                LAYER_X,
                values,
                color=look["color"],
                linestyle=RESULT_LINES[result],
                linewidth=1.3,
                marker=look["marker"],
                markersize=3.5,
                markerfacecolor="white" if open_marker else look["color"],
                label=f"{look['label']} {RESULT_NAMES[result]} ({variant})",
            )
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(change, fontsize=8.5)
        ax.set_xticks(LAYER_X[::2], [str(i) for i in LAYER_X[::2]])
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best", frameon=False)
    for ax in axes[:, 0]:
        ax.set_ylabel("alternative − ours", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel("layer", fontsize=8)
    if stand_in:
        fig.suptitle(STAND_IN_EFFECTS, color=WARNING_COLOUR, fontsize=10)
    fig.tight_layout()
    return fig


def _band(rows: pd.DataFrame) -> pd.DataFrame:
    """The lowest and highest value of each layer among ``rows``."""
    return rows.groupby("layer")["value"].agg(["min", "max"]).reindex(list(HIDDEN_LAYERS))


def _layer_values(rows: pd.DataFrame) -> pd.Series:
    return rows.set_index("layer")["value"].reindex(list(HIDDEN_LAYERS))


def spread_figure(corpus: pd.DataFrame, seeds: pd.DataFrame, stand_in: bool) -> plt.Figure:
    """How far the CWE self-similarity of each layer moves from the full corpus's value
    (seed 0): the range over seeded subsets of each size (bands, lighter for smaller
    subsets, left) and over other seeds of the draw on the full corpus (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6), sharey=True)
    full = corpus["size"].max()
    sizes = sorted(s for s in corpus["size"].unique() if s != full)
    first_seed = seeds["seed"].min()
    for model in PAPER_MODELS:
        color, name = style(model)["color"], style(model)["label"]
        rows = corpus[corpus["model"] == model]
        if rows.empty:
            continue
        base = _layer_values(rows[rows["size"] == full])
        for i, size in enumerate(sizes):
            band = _band(rows[rows["size"] == size])
            label = f"{name}, {size:,}-sentence subsets" if i in (0, len(sizes) - 1) else None
            alpha = 0.12 + 0.4 * i / max(len(sizes) - 1, 1)
            axes[0].fill_between(
                LAYER_X,
                band["min"] - base,
                band["max"] - base,
                color=color,
                alpha=alpha,
                linewidth=0,
                label=label,
            )
        own = seeds[seeds["model"] == model]
        reference, band = _layer_values(own[own["seed"] == first_seed]), _band(own)
        label = f"{name}, seeds {first_seed}-{own['seed'].max()}"
        axes[1].fill_between(
            LAYER_X,
            band["min"] - reference,
            band["max"] - reference,
            color=color,
            alpha=0.4,
            linewidth=0,
            label=label,
        )
    axes[0].set_title(f"seeded subsets of the {full:,} sentences", fontsize=9)
    axes[1].set_title("seeds of the token draw, all sentences", fontsize=9)
    axes[0].set_ylabel("value − all sentences, seed 0", fontsize=8)
    for ax in axes:
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("layer")
        ax.set_xticks(LAYER_X)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5, frameon=False)
    if stand_in:
        fig.suptitle(STAND_IN_EFFECTS, color=WARNING_COLOUR, fontsize=10)
    fig.tight_layout()
    return fig
