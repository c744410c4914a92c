"""Per-layer figures in the spirit of the paper's: GPT-2 in red circles, CLIP in blue triangles.

:func:`figure` draws one result from a results table; the paper's reported per-layer
values appear as crosses in the model's colour, and its numbers about a whole series
(a best layer, a bound over all layers) as dotted lines. Where the table has ``ci_low``
and ``ci_high``, each line carries its 95 % bootstrap interval as a shaded band. The
other figures draw paired differences (:func:`differences_figure`, :func:`contrast_figure`),
chapter 6's geometry (:func:`alignment_uniformity_figure`), the claims
(:func:`claims_figure`) and chapter 5's effects (:func:`fidelity_figure`,
:func:`spread_figure`), all in one style (:data:`STYLE`: a colour and marker per
model). Figures of stand-in runs say so in their title.

Used by every chapter and by ``cvsp reproduce``. One module for every figure (about
430 lines) so that the style has one home.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import paper
from cvsp.registry import CLIP_EXTRA_LAYERS, HIDDEN_LAYERS, PAPER_MODELS, POOLER_LAYER

STAND_IN_NOTE = "STAND-IN MODELS (random weights): says nothing about the paper"
STYLE = {
    "gpt2": {"color": "#c0392b", "marker": "o", "label": "GPT-2"},
    "clip": {"color": "#1f5fa8", "marker": "^", "label": "CLIP"},
    "bert": {"color": "#7d6608", "marker": "s", "label": "BERT"},
    "simcse_unsup": {"color": "#1e8449", "marker": "v", "label": "SimCSE unsup."},
    "simcse_sup": {"color": "#6c3483", "marker": "D", "label": "SimCSE sup."},
    "clip_laion": {"color": "#117a65", "marker": "P", "label": "CLIP LAION-2B"},
    "clip_large": {"color": "#ca6f1e", "marker": "h", "label": "CLIP L/14"},
    "siglip": {"color": "#2c3e50", "marker": "*", "label": "SigLIP"},
    "gpt2_medium": {"color": "#7b241c", "marker": "8", "label": "GPT-2 medium"},
}
LINESTYLES = {
    "eos": "-", "cls": "-", "last_subtoken": "--", "last_token": "--", "mean": ":", "mean_no_first": "-.",
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
EXTRA_LAYERS = (*CLIP_EXTRA_LAYERS, POOLER_LAYER)  # points after the top layer
X_TICKS = [*HIDDEN_LAYERS, "LN", "proj", "pool"]


def style(model: str) -> dict:
    """Colour, marker and label of a model; models outside :data:`STYLE` get a grey line."""
    return STYLE.get(model, {"color": "#555555", "marker": "x", "label": model})


def title(result: str, stand_in: bool) -> str:
    """Figure title; stand-in runs carry the warning."""
    return f"{TITLES[result]}\n{STAND_IN_NOTE}" if stand_in else TITLES[result]


def blocks_of(rows: pd.DataFrame) -> dict[str, int]:
    """Each model's number of blocks: its top hidden layer among ``rows``."""
    hidden = rows[rows["layer"].astype(str).str.isdigit()]
    return {model: int(group["layer"].astype(int).max()) for model, group in hidden.groupby("model", sort=False)}


def draw_layers(ax: plt.Axes, rows: pd.DataFrame, result: str, task: str, relative: bool | None = None) -> None:
    """One line per model and token choice; paper values as crosses, paper bounds as dotted lines.

    ``relative``: x is the relative depth, layer / number of blocks, so that models of
    different depths (GPT-2 medium's 24 blocks beside the paper's 12) share the axis; by
    default where the models' depths differ. The points after the top layer (final layer
    norm, projection, pooler) follow the top, one step each.
    """
    blocks = blocks_of(rows)
    relative = len(set(blocks.values())) > 1 if relative is None else relative
    top = max(blocks.values(), default=len(HIDDEN_LAYERS) - 1)
    step = 1 / (len(HIDDEN_LAYERS) - 1) if relative else 1  # relative: one step is one of 12 layers

    def x_of(model: str, layer: str) -> float:
        if layer.isdigit():
            return int(layer) / blocks[model] if relative else int(layer)
        return (1 if relative else top) + step * (EXTRA_LAYERS.index(layer) + 1)

    for (model, variant), group in rows.groupby(["model", "variant"], sort=False):
        look = style(model)
        hidden = group[group["layer"].str.isdigit()]
        xs = [x_of(model, layer) for layer in hidden["layer"]]
        ax.plot(xs, hidden["value"], color=look["color"], marker=look["marker"], markersize=4 if len(xs) < 20 else 3,
                linestyle=LINESTYLES.get(variant, "-"), linewidth=1.4, label=f"{look['label']} {variant}")  # fmt: skip
        if "ci_low" in hidden and hidden["ci_low"].notna().any():  # 95 % bootstrap interval as a band
            ax.fill_between(xs, hidden["ci_low"], hidden["ci_high"], color=look["color"], alpha=0.15, linewidth=0)
        extra = group[group["layer"].isin(EXTRA_LAYERS)]
        ax.plot([x_of(model, layer) for layer in extra["layer"]], extra["value"],
                color=look["color"], marker="D", markersize=5, linestyle="none")  # fmt: skip
        marks = paper.reference_points(result, model, variant, task)
        if marks:
            ax.plot(
                [x_of(model, layer) for layer in marks], list(marks.values()),
                color=look["color"], marker="x", markersize=8, markeredgewidth=2,
                linestyle="none", label=f"paper: {look['label']}",
            )  # fmt: skip
    models = set(rows["model"])
    for claim in paper.reference_levels(result, task):
        if claim.model in models:
            look = style(claim.model)
            ax.axhline(claim.value, color=look["color"], linestyle=(0, (1, 3)), linewidth=1.2)
            ax.annotate(
                f"paper, {look['label']}: {claim.relation} {claim.value:.2f}",
                xy=(1.0, claim.value), xycoords=("axes fraction", "data"),
                xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=7,
                color=look["color"],
            )  # fmt: skip
    extras = [layer for layer in EXTRA_LAYERS if (rows["layer"] == layer).any()]
    shown = EXTRA_LAYERS[: max((EXTRA_LAYERS.index(e) + 1 for e in extras), default=0)]
    end = (1 if relative else top) + step * len(shown)
    ticks = [0, 0.25, 0.5, 0.75, 1.0] if relative else list(range(top + 1))
    ax.set_xticks(ticks + [ticks[-1] + step * (i + 1) for i in range(len(shown))],
                  [f"{t:g}" for t in ticks] + X_TICKS[len(HIDDEN_LAYERS):][: len(shown)])  # fmt: skip
    ax.set_xlim(-step / 2, end + step / 2)
    named = {"final_ln": "final layer norm", "projection": "projection", POOLER_LAYER: "pooler"}
    after = f"  (after the top: {', '.join(named[e] for e in extras)})" if extras and not relative else ""
    ax.set_xlabel(("relative depth (layer / number of blocks)" if relative else "layer") + after)  # relative: LN, proj ticks
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
    ncol = min(len(labels), 4 if columns > 1 or len(labels) <= 8 else 2)  # one panel: two columns fit
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.suptitle(title(result, stand_in), color="#b03a2e" if stand_in else "black", fontsize=11)
    legend_inches = 0.2 * np.ceil(len(labels) / ncol) + 0.1  # many models: more rows of legend
    bottom = max(0.09 if lines == 1 else 0.05, legend_inches / fig.get_figheight())
    fig.tight_layout(rect=(0, bottom, 1, 1))
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


def contrast_figure(contrasts: pd.DataFrame, panels: list[tuple[str, str, dict[str, str]]], stand_in: bool) -> plt.Figure:
    """Paired differences of several model pairs by layer, with their 95 % bands.

    ``contrasts`` is the table of :func:`cvsp.experiments.contrasts`; ``panels`` lists
    ``(result, task, {model: variant})``: the token choice drawn for each pair (named by
    its model, e.g. ``clip`` for CLIP − GPT-2; the base is read with the same token choice).
    The line of a pair takes its model's
    colour; above zero, the contrastive model is higher.
    """
    columns = min(len(panels), 2)
    lines = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(lines, columns, figsize=(5.2 * columns + 1, 3.3 * lines + 0.9), squeeze=False)
    x = np.arange(len(HIDDEN_LAYERS))
    for ax, (result, task, chosen) in zip(axes.flat, panels):
        for model, variant in chosen.items():
            rows = contrasts[(contrasts["result"] == result) & (contrasts["task"] == task)
                             & (contrasts["model"] == model) & (contrasts["variant"] == variant)
                             & (contrasts["base_variant"] == variant)]  # fmt: skip
            if rows.empty:
                continue
            layers = rows.assign(layer=rows["layer"].astype(str)).set_index("layer").reindex(list(HIDDEN_LAYERS))
            look, base = style(model), style(str(rows["base"].iloc[0]))
            label = f"{look['label']} − {base['label']} ({variant})"
            ax.plot(x, layers["difference"], color=look["color"], marker=look["marker"], markersize=3,
                    linewidth=1.3, label=label)  # fmt: skip
            ax.fill_between(x, layers["ci_low"], layers["ci_high"], color=look["color"], alpha=0.13, linewidth=0)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(x)
        ax.set_xlim(-0.5, x[-1] + 0.5)
        ax.set_title(f"{TITLES[result].replace(' by layer', '')}, {TASK_NAMES.get(task, task)}", fontsize=10)
        ax.set_ylabel("contrastive − base" if result.endswith("self_similarity") else "Δ Spearman ρ")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    handles: dict = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label.split(" (")[0], handle)
    name = "Paired differences: contrastive model − its base"
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"{name}\n{STAND_IN_NOTE}" if stand_in else name, color="#b03a2e" if stand_in else "black", fontsize=11)
    fig.tight_layout(rect=(0, 0.07 if lines > 1 else 0.12, 1, 1))
    return fig


def layer_lines(
    table: pd.DataFrame, value: str, hue: str, title_text: str, ylabel: str, stand_in: bool,
    panel: str = "model", reference: float | None = None,
) -> plt.Figure:  # fmt: skip
    """A per-layer quantity of the geometry chapter: one panel per ``panel`` value (GPT-2,
    CLIP), one line per ``hue`` value, layers 0-12 on x; ``reference`` as a grey line."""
    panels = list(dict.fromkeys(table[panel]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 0.6, 3.7), squeeze=False, sharey=True)
    x = np.arange(len(HIDDEN_LAYERS))
    palette = plt.get_cmap("tab10")
    hues = list(dict.fromkeys(table[hue]))
    for ax, name in zip(axes.flat, panels):
        rows = table[table[panel] == name]
        for i, level in enumerate(hues):
            line = rows[rows[hue] == level].set_index("layer").reindex(list(HIDDEN_LAYERS))
            if line[value].notna().any():
                ax.plot(x, line[value], color=palette(i), marker="o", markersize=3, linewidth=1.3, label=str(level))
        if reference is not None:
            ax.axhline(reference, color="grey", linewidth=0.8)
        label = STYLE.get(name, {}).get("label", str(name))
        ax.set_title(label, fontsize=10, color=STYLE.get(name, {}).get("color", "black"))
        ax.set_xticks(x)
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes.flat[0].set_ylabel(ylabel)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    fig.suptitle(f"{title_text}\n{STAND_IN_NOTE}" if stand_in else title_text,
                 color="#b03a2e" if stand_in else "black", fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def alignment_uniformity_figure(table: pd.DataFrame, stand_in: bool) -> plt.Figure:
    """Each layer as a point in the (uniformity, alignment) plane, one path per model and
    token choice from layer 0 (small marker) to 12 (large); lower-left is better for both."""
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    styles = {"eos": "-", "mean": ":", "last_token": "--"}
    for (model, variant), rows in table.groupby(["model", "variant"], sort=False):
        rows = rows.set_index("layer").reindex(list(HIDDEN_LAYERS))
        look = style(model)
        ax.plot(rows["uniformity"], rows["alignment"], color=look["color"], linestyle=styles.get(variant, "-"),
                linewidth=1.2, label=f"{look['label']} {variant}")  # fmt: skip
        ax.scatter(rows["uniformity"], rows["alignment"], s=np.linspace(8, 60, len(rows)), color=look["color"],
                   marker=look["marker"], zorder=3)  # fmt: skip
        ax.annotate("12", (rows["uniformity"].iloc[-1], rows["alignment"].iloc[-1]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points", color=look["color"])  # fmt: skip
    ax.set_xlabel("uniformity  log E exp(−2‖f(x) − f(y)‖²)  (lower: more uniform)")
    ax.set_ylabel("alignment  E‖f(x) − f(x⁺)‖²  (lower: closer)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    name = "Alignment and uniformity by layer (marker size grows with the layer)"
    ax.set_title(f"{name}\n{STAND_IN_NOTE}" if stand_in else name, color="#b03a2e" if stand_in else "black",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def claim_label(claim: paper.Reported) -> str:
    """A short label for a claim: model, measure, which layer, the paper's relation."""
    measure = {
        "cwe_self_similarity": "CWE self-sim.", "sentence_self_similarity": "sentence self-sim.",
        "sts": "STS-B ρ", "word_similarity": f"{TASK_NAMES.get(claim.task, claim.task)} ρ",
    }[claim.result]  # fmt: skip
    where = {"max": "max over layers", "min": "min over layers"}.get(claim.statistic, f"layer {claim.layers[0]}")
    return f"{STYLE[claim.model]['label']} {measure}, {where}  {claim.relation} {claim.value:.2f}"


def claims_figure(comparison: pd.DataFrame, stand_in: bool) -> plt.Figure:
    """Every claim of the paper on one axis: the paper's number (black cross; a bound's
    rounding as a grey bar), ours with its 95 % interval (model colour), and the verdict
    (✓ holds, ✗ not) at the right. The per-layer CWE series enter with layer 12 only."""
    claims = {c.text: c for c in paper.REPORTED}
    series = comparison["claim"].str.contains("CWE self-similarity, layer")
    top = series & comparison["claim"].str.endswith("layer 12")
    rows = comparison[(~series | top) & comparison["claim"].isin(claims)].reset_index(drop=True)
    height = 0.38 * len(rows) + 1.6
    fig, ax = plt.subplots(figsize=(8.6, height))
    y = np.arange(len(rows))[::-1]
    for yi, (_, row) in zip(y, rows.iterrows()):
        style = STYLE[row["model"]]
        if np.isfinite(row.get("ci_low", np.nan)):
            ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=style["color"], linewidth=2.2, alpha=0.7)
        ax.plot(row["ours"], yi, marker=style["marker"], color=style["color"], markersize=7, linestyle="none")
        if row["relation"] != "≈":
            ax.plot([row["paper"] - 0.005, row["paper"] + 0.005], [yi, yi], color="grey", linewidth=6, alpha=0.4)
        ax.plot(row["paper"], yi, marker="x", color="black", markersize=8, markeredgewidth=2, linestyle="none")
        ax.annotate("✓" if row["holds"] else "✗", xy=(1.015, yi), xycoords=("axes fraction", "data"),
                    va="center", fontsize=12, color="#1e8449" if row["holds"] else "#b03a2e")  # fmt: skip
    ax.set_yticks(y, [claim_label(claims[text]) for text in rows["claim"]], fontsize=8.5)
    low = float(np.nanmin(rows[["ours", "ci_low"]].to_numpy(dtype=float)))
    ax.set_xlim(min(-0.05, low - 0.05), 1.02)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("correlation or self-similarity")
    ax.grid(axis="x", alpha=0.3)
    handles = [
        plt.Line2D([], [], marker="x", color="black", linestyle="none", markeredgewidth=2, label="paper"),
        plt.Line2D([], [], marker=STYLE["gpt2"]["marker"], color=STYLE["gpt2"]["color"], label="ours, GPT-2, 95 % interval"),
        plt.Line2D([], [], marker=STYLE["clip"]["marker"], color=STYLE["clip"]["color"], label="ours, CLIP, 95 % interval"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    name = "The paper's claims: its number, ours with interval, verdict"
    fig.suptitle(f"{name}\n{STAND_IN_NOTE}" if stand_in else name, color="#b03a2e" if stand_in else "black",
                 fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0.6 / height, 1, 1))
    return fig


# Chapter 5 (cvsp.fidelity): the effect of each change on the paper's two models.
_RESULT_STYLE = {"sts": "-", "sentence_self_similarity": "--", "cwe_self_similarity": ":"}
_RESULT_NAMES = {"sts": "STS", "sentence_self_similarity": "sentence self-sim.", "cwe_self_similarity": "CWE self-sim."}
_STAND_IN_EFFECTS = "STAND-IN MODELS (random weights): these effects say nothing about the paper"


def fidelity_figure(effects: pd.DataFrame, stand_in: bool, columns: int = 3) -> plt.Figure:
    """One panel per change: ``alternative − ours`` per layer, one line per result, model
    and token choice (solid STS, dashed sentence self-similarity, dotted CWE; GPT-2's EOS
    line with open markers)."""
    changes = list(dict.fromkeys(effects["change"]))
    lines = int(np.ceil(len(changes) / columns))
    fig, axes = plt.subplots(lines, columns, figsize=(4.1 * columns, 2.9 * lines + 0.9), squeeze=False)
    x = np.arange(len(HIDDEN_LAYERS))
    for ax, change in zip(axes.flat, changes):
        rows = effects[effects["change"] == change]
        for (result, model, variant), group in rows.groupby(["result", "model", "variant"], sort=False):
            values = group.set_index("layer")["difference"].reindex(list(HIDDEN_LAYERS))
            look = style(model)
            ax.plot(
                x, values, color=look["color"], linestyle=_RESULT_STYLE[result], linewidth=1.3,
                marker=look["marker"], markersize=3.5,
                markerfacecolor="white" if variant == "eos" and model == "gpt2" else look["color"],
                label=f"{look['label']} {_RESULT_NAMES[result]} ({variant})",
            )  # fmt: skip
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(change, fontsize=8.5)
        ax.set_xticks(x[::2], [str(i) for i in x[::2]])
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best", frameon=False)
    for ax in axes[:, 0]:
        ax.set_ylabel("alternative − ours", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel("layer", fontsize=8)
    for ax in list(axes.flat)[len(changes):]:
        ax.set_visible(False)
    if stand_in:
        fig.suptitle(_STAND_IN_EFFECTS, color="#b03a2e", fontsize=10)
    fig.tight_layout()
    return fig


def spread_figure(corpus: pd.DataFrame, seeds: pd.DataFrame, stand_in: bool) -> plt.Figure:
    """How far the CWE self-similarity of each layer moves from the full corpus's value
    (seed 0): the range over seeded subsets of each size (bands, lighter for smaller
    subsets, left) and over other seeds of the draw on the full corpus (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6), sharey=True)
    x = np.arange(len(HIDDEN_LAYERS))
    full = corpus["size"].max()
    sizes = sorted(s for s in corpus["size"].unique() if s != full)
    first_seed = seeds["seed"].min()
    for model in PAPER_MODELS:
        color, name = style(model)["color"], style(model)["label"]
        rows = corpus[corpus["model"] == model]
        if rows.empty:
            continue
        base = rows[rows["size"] == full].set_index("layer")["value"].reindex(list(HIDDEN_LAYERS))
        for i, size in enumerate(sizes):
            band = rows[rows["size"] == size].groupby("layer")["value"].agg(["min", "max"]).reindex(list(HIDDEN_LAYERS))
            label = f"{name}, {size:,}-sentence subsets" if i in (0, len(sizes) - 1) else None
            axes[0].fill_between(x, band["min"] - base, band["max"] - base, color=color,
                                 alpha=0.12 + 0.4 * i / max(len(sizes) - 1, 1), linewidth=0, label=label)  # fmt: skip
        own = seeds[seeds["model"] == model]
        reference = own[own["seed"] == first_seed].set_index("layer")["value"].reindex(list(HIDDEN_LAYERS))
        band = own.groupby("layer")["value"].agg(["min", "max"]).reindex(list(HIDDEN_LAYERS))
        axes[1].fill_between(x, band["min"] - reference, band["max"] - reference, color=color, alpha=0.4,
                             linewidth=0, label=f"{name}, seeds {first_seed}-{own['seed'].max()}")  # fmt: skip
    axes[0].set_title(f"seeded subsets of the {full:,} sentences", fontsize=9)
    axes[1].set_title("seeds of the token draw, all sentences", fontsize=9)
    axes[0].set_ylabel("value − all sentences, seed 0", fontsize=8)
    for ax in axes:
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("layer")
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5, frameon=False)
    if stand_in:
        fig.suptitle(_STAND_IN_EFFECTS, color="#b03a2e", fontsize=10)
    fig.tight_layout()
    return fig
