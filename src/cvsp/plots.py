"""Per-layer figures in the spirit of the paper's: GPT-2 in red circles, CLIP in blue triangles.

:func:`figure` draws one result from a results table; the paper's reported per-layer
values appear as crosses in the model's colour, and its numbers about a whole series
(a best layer, a bound over all layers) as dotted lines. Where the table has ``ci_low``
and ``ci_high``, each line carries its 95 % bootstrap interval as a shaded band. Figures of stand-in runs say so in their title.

Used by every chapter and by ``cvsp reproduce``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import paper
from cvsp.embeddings import CLIP_EXTRA_LAYERS, HIDDEN_LAYERS

STAND_IN_NOTE = "STAND-IN MODELS (random weights): says nothing about the paper"
STYLE = {
    "gpt2": {"color": "#c0392b", "marker": "o", "label": "GPT-2"},
    "clip": {"color": "#1f5fa8", "marker": "^", "label": "CLIP"},
}
LINESTYLES = {
    "eos": "-", "last_subtoken": "--", "last_token": "--", "mean": ":", "mean_no_first": "-.",
    "random_token": "-", "random_token_no_first": "--", "random_token_released": ":",
}  # fmt: skip
TITLES = {
    "cwe_self_similarity": "CWE self-similarity by layer",
    "word_similarity": "Word-level semantics by layer",
    "sts": "STS Benchmark (Spearman ρ) by layer",
    "sentence_self_similarity": "Sentence self-similarity by layer",
}
Y_LABELS = {
    "cwe_self_similarity": "self-similarity",
    "word_similarity": "Spearman ρ",
    "sts": "Spearman ρ",
    "sentence_self_similarity": "self-similarity",
}
TASK_NAMES = {
    "rg65": "RG65", "wordsim353": "WordSim-353", "simlex999": "SimLex-999",
    "simverb3500": "SimVerb-3500", "valnorm": "ValNorm", "stsb": "STS-B",
    "sts_sentences": "STS-B sentences",
}  # fmt: skip
X_LABELS = HIDDEN_LAYERS + CLIP_EXTRA_LAYERS
X_TICKS = [*HIDDEN_LAYERS, "LN", "proj"]


def title(result: str, stand_in: bool) -> str:
    """Figure title; stand-in runs carry the warning."""
    return f"{TITLES[result]}\n{STAND_IN_NOTE}" if stand_in else TITLES[result]


def draw_layers(ax: plt.Axes, rows: pd.DataFrame, result: str, task: str) -> None:
    """One line per model and token choice; paper values as crosses, paper bounds as dotted lines."""
    x_of = {label: i for i, label in enumerate(X_LABELS)}
    for (model, variant), group in rows.groupby(["model", "variant"], sort=False):
        style = STYLE[model]
        hidden = group[group["layer"].isin(HIDDEN_LAYERS)]
        ax.plot(
            [x_of[layer] for layer in hidden["layer"]], hidden["value"],
            color=style["color"], marker=style["marker"], markersize=4,
            linestyle=LINESTYLES.get(variant, "-"), linewidth=1.4,
            label=f"{style['label']} {variant}",
        )  # fmt: skip
        if "ci_low" in hidden and hidden["ci_low"].notna().any():  # 95 % bootstrap interval as a band
            ax.fill_between(
                [x_of[layer] for layer in hidden["layer"]], hidden["ci_low"], hidden["ci_high"],
                color=style["color"], alpha=0.15, linewidth=0,
            )  # fmt: skip
        extra = group[group["layer"].isin(CLIP_EXTRA_LAYERS)]
        if not extra.empty:
            ax.plot(
                [x_of[layer] for layer in extra["layer"]], extra["value"],
                color=style["color"], marker="D", markersize=5, linestyle="none",
            )  # fmt: skip
        marks = paper.reference_points(result, model, variant, task)
        if marks:
            ax.plot(
                [x_of[layer] for layer in marks], list(marks.values()),
                color=style["color"], marker="x", markersize=8, markeredgewidth=2,
                linestyle="none", label=f"paper: {style['label']}",
            )  # fmt: skip
    models = set(rows["model"])
    for claim in paper.reference_levels(result, task):
        if claim.model in models:
            style = STYLE[claim.model]
            ax.axhline(claim.value, color=style["color"], linestyle=(0, (1, 3)), linewidth=1.2)
            ax.annotate(
                f"paper, {style['label']}: {claim.relation} {claim.value:.2f}",
                xy=(1.0, claim.value), xycoords=("axes fraction", "data"),
                xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=7,
                color=style["color"],
            )  # fmt: skip
    has_extra = rows["layer"].isin(CLIP_EXTRA_LAYERS).any()
    ticks = len(X_LABELS) if has_extra else len(HIDDEN_LAYERS)
    ax.set_xticks(np.arange(ticks), X_TICKS[:ticks])
    ax.set_xlim(-0.5, ticks - 0.5)
    ax.set_xlabel("layer" + ("  (CLIP extras: final layer norm, projection)" if has_extra else ""))
    ax.grid(alpha=0.3)


def figure(scores: pd.DataFrame, result: str, stand_in: bool) -> plt.Figure:
    """The figure of one result: one panel per dataset, layers on x."""
    rows = scores[scores["result"] == result].copy()
    rows["layer"] = rows["layer"].astype(str)
    tasks = list(dict.fromkeys(rows["task"]))
    columns = min(len(tasks), 2)  # two panels a row stay readable at a book's text width
    lines = int(np.ceil(len(tasks) / columns))
    fig, axes = plt.subplots(
        lines, columns, figsize=(5.2 * columns + 1, 3.6 * lines + 0.8),
        squeeze=False, sharey=result.endswith("self_similarity"),
    )  # fmt: skip
    for ax, task in zip(axes.flat, tasks):
        draw_layers(ax, rows[rows["task"] == task], result, task)
        ax.set_title(TASK_NAMES.get(task, task), fontsize=10)
        ax.set_ylabel("Pearson r" if task == "valnorm" else Y_LABELS[result])
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle(title(result, stand_in), color="#b03a2e" if stand_in else "black", fontsize=11)
    fig.tight_layout(rect=(0, 0.09 if lines == 1 else 0.05, 1, 1))
    return fig


DIFFERENCE_STYLES = [("#6c3483", "-"), ("#d35400", "--"), ("#117a65", ":")]  # one per compared pair


def differences_figure(differences: pd.DataFrame, result: str, stand_in: bool) -> plt.Figure:
    """Paired CLIP − GPT-2 differences by layer, one panel per dataset.

    ``differences`` is the table of :func:`cvsp.experiments.uncertainty` (also
    ``differences.csv``): one line per compared pair of token choices with its 95 %
    paired-bootstrap band, and the difference of the two best layers (re-chosen in each
    replicate) as a point with its interval at the right. Above zero: CLIP higher.
    """
    rows = differences[differences["result"] == result].copy()
    rows["layer"] = rows["layer"].astype(str)
    tasks = list(dict.fromkeys(rows["task"]))
    columns = min(len(tasks), 2)
    lines = int(np.ceil(len(tasks) / columns))
    fig, axes = plt.subplots(lines, columns, figsize=(5.2 * columns + 1, 3.3 * lines + 0.8), squeeze=False)
    x = np.arange(len(HIDDEN_LAYERS))
    best_x = len(HIDDEN_LAYERS) + 0.6
    for ax, task in zip(axes.flat, tasks):
        pairs = rows[rows["task"] == task].groupby(["clip_variant", "gpt2_variant"], sort=False)
        for i, ((clip_variant, gpt2_variant), group) in enumerate(pairs):
            layers = group[group["layer"].isin(HIDDEN_LAYERS)].set_index("layer").reindex(list(HIDDEN_LAYERS))
            label = f"CLIP {clip_variant} − GPT-2 {gpt2_variant}"
            color, linestyle = DIFFERENCE_STYLES[i % len(DIFFERENCE_STYLES)]
            line = ax.plot(x, layers["difference"], color=color, linestyle=linestyle,
                           marker="s", markersize=3, linewidth=1.3, label=label)[0]  # fmt: skip
            ax.fill_between(x, layers["ci_low"], layers["ci_high"], color=line.get_color(), alpha=0.12, linewidth=0)
            best = group[group["layer"] == "best"]
            if not best.empty:
                d, lo, hi = (float(best[c].iloc[0]) for c in ("difference", "ci_low", "ci_high"))
                offset = 0.25 * (i - (len(pairs) - 1) / 2)
                ax.errorbar(best_x + offset, d, yerr=[[d - lo], [hi - d]], fmt="D", color=line.get_color(),
                            markersize=4, capsize=2, linewidth=1)  # fmt: skip
        ax.axhline(0, color="grey", linewidth=0.8)
        has_best = (rows.loc[rows["task"] == task, "layer"] == "best").any()
        ticks = list(x) + ([best_x] if has_best else [])
        ax.set_xticks(ticks, [*HIDDEN_LAYERS, *(["best"] if has_best else [])])
        ax.set_xlim(-0.5, (best_x if has_best else x[-1]) + 0.6)
        ax.set_title(TASK_NAMES.get(task, task), fontsize=10)
        ax.set_ylabel("CLIP − GPT-2")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    name = f"{TITLES[result].replace(' by layer', '')}: paired difference, CLIP − GPT-2"
    fig.suptitle(f"{name}\n{STAND_IN_NOTE}" if stand_in else name,
                 color="#b03a2e" if stand_in else "black", fontsize=11)  # fmt: skip
    if len(tasks) == 1:  # one panel: the legend fits inside it
        axes.flat[0].legend(fontsize=8, loc="best", frameon=False)
        fig.tight_layout()
        return fig
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1 if lines == 1 else 0.05, 1, 1))
    return fig
