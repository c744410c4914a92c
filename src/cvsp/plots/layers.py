"""Per-layer figures of a result: one line per model and token choice, the paper's values
beside ours (:func:`figure`, :func:`draw_layers`), and the geometry chapter's per-layer
quantities (:func:`layer_lines`, :func:`alignment_uniformity_figure`)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvsp import paper
from cvsp.plots.style import (
    EXTRA_LAYERS,
    LAYER_X,
    LINESTYLES,
    STAND_IN_NOTE,
    STYLE,
    TASK_NAMES,
    TITLES,
    WARNING_COLOUR,
    X_TICKS,
    Y_LABELS,
    headline,
    panel_grid,
    style,
)
from cvsp.registry import HIDDEN_LAYERS, POOLER_LAYER

AFTER_TOP = {"final_ln": "final layer norm", "projection": "projection", POOLER_LAYER: "pooler"}


def blocks_of(rows: pd.DataFrame) -> dict[str, int]:
    """Each model's number of blocks: its top hidden layer among ``rows``."""
    hidden = rows[rows["layer"].astype(str).str.isdigit()]
    return {
        model: int(group["layer"].astype(int).max())
        for model, group in hidden.groupby("model", sort=False)
    }


@dataclass(frozen=True)
class LayerAxis:
    """Where a layer sits on x: its index, or its relative depth (layer / blocks) so that
    models of different depths share the axis; the points after the top layer (final
    layer norm, projection, pooler) follow the top, one step each."""

    blocks: dict[str, int]
    relative: bool

    @property
    def top(self) -> int:
        return max(self.blocks.values(), default=len(HIDDEN_LAYERS) - 1)

    @property
    def step(self) -> float:  # relative: one step is one of 12 layers
        return 1 / (len(HIDDEN_LAYERS) - 1) if self.relative else 1

    @property
    def end(self) -> float:
        return 1 if self.relative else self.top

    def x(self, model: str, layer: str) -> float:
        if layer.isdigit():
            return int(layer) / self.blocks[model] if self.relative else int(layer)
        return self.end + self.step * (EXTRA_LAYERS.index(layer) + 1)

    def decorate(self, ax: plt.Axes, rows: pd.DataFrame) -> None:
        """Ticks, limits and the label of x, naming the points after the top."""
        extras = [layer for layer in EXTRA_LAYERS if (rows["layer"] == layer).any()]
        shown = EXTRA_LAYERS[: max((EXTRA_LAYERS.index(e) + 1 for e in extras), default=0)]
        ticks = [0, 0.25, 0.5, 0.75, 1.0] if self.relative else list(range(self.top + 1))
        ax.set_xticks(
            ticks + [ticks[-1] + self.step * (i + 1) for i in range(len(shown))],
            [f"{t:g}" for t in ticks] + X_TICKS[len(HIDDEN_LAYERS) :][: len(shown)],
        )
        ax.set_xlim(-self.step / 2, self.end + self.step * len(shown) + self.step / 2)
        names = ", ".join(AFTER_TOP[e] for e in extras)
        after = f"  (after the top: {names})" if extras and not self.relative else ""
        depth = "relative depth (layer / number of blocks)" if self.relative else "layer"
        ax.set_xlabel(depth + after)


def _draw_series(
    ax: plt.Axes, axis: LayerAxis, group: pd.DataFrame, marks: dict, key: tuple
) -> None:
    """One model's token choice: its line (and interval band), its points after the top
    and the paper's values as crosses."""
    (model, variant), look = key, style(key[0])
    hidden = group[group["layer"].str.isdigit()]
    xs = [axis.x(model, layer) for layer in hidden["layer"]]
    ax.plot(
        xs,
        hidden["value"],
        color=look["color"],
        marker=look["marker"],
        markersize=4 if len(xs) < 20 else 3,
        linestyle=LINESTYLES.get(variant, "-"),
        linewidth=1.4,
        label=f"{look['label']} {variant}",
    )
    if "ci_low" in hidden and hidden["ci_low"].notna().any():  # the 95 % interval as a band
        ax.fill_between(
            xs, hidden["ci_low"], hidden["ci_high"], color=look["color"], alpha=0.15, linewidth=0
        )
    extra = group[group["layer"].isin(EXTRA_LAYERS)]
    xs = [axis.x(model, layer) for layer in extra["layer"]]
    ax.plot(xs, extra["value"], color=look["color"], marker="D", markersize=5, linestyle="none")
    if marks:
        ax.plot(
            [axis.x(model, layer) for layer in marks],
            list(marks.values()),
            color=look["color"],
            marker="x",
            markersize=8,
            markeredgewidth=2,
            linestyle="none",
            label=f"paper: {look['label']}",
        )


def _draw_levels(ax: plt.Axes, rows: pd.DataFrame, result: str, task: str) -> None:
    """The paper's numbers about a whole series (a best layer, a bound) as dotted lines."""
    models = set(rows["model"])
    for claim in paper.reference_levels(result, task):
        if claim.model in models:
            look = style(claim.model)
            ax.axhline(claim.value, color=look["color"], linestyle=(0, (1, 3)), linewidth=1.2)
            ax.annotate(
                f"paper, {look['label']}: {claim.relation} {claim.value:.2f}",
                xy=(1.0, claim.value),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                fontsize=7,
                color=look["color"],
            )


def draw_layers(
    ax: plt.Axes, rows: pd.DataFrame, result: str, task: str, relative: bool | None = None
) -> None:
    """One line per model and token choice; paper values as crosses, paper bounds as
    dotted lines. ``relative``: x is the relative depth (:class:`LayerAxis`); by default
    where the models' depths differ (GPT-2 medium's 24 blocks beside the paper's 12)."""
    blocks = blocks_of(rows)
    axis = LayerAxis(blocks, len(set(blocks.values())) > 1 if relative is None else relative)
    for (model, variant), group in rows.groupby(["model", "variant"], sort=False):
        marks = paper.reference_points(result, model, variant, task)
        _draw_series(ax, axis, group, marks, (model, variant))
    _draw_levels(ax, rows, result, task)
    axis.decorate(ax, rows)
    ax.grid(alpha=0.3)


def figure(scores: pd.DataFrame, result: str, stand_in: bool) -> plt.Figure:
    """The figure of one result: one panel per dataset, layers on x."""
    rows = scores[scores["result"] == result].copy()
    rows["layer"] = rows["layer"].astype(str)
    tasks = list(dict.fromkeys(rows["task"]))
    columns = min(len(tasks), 2)  # two panels a row stay readable at a book's text width
    shared = result.endswith("self_similarity")
    fig, axes, lines = panel_grid(len(tasks), columns, (5.2, 3.6), (1, 0.8), sharey=shared)
    for ax, task in zip(axes.flat, tasks):
        draw_layers(ax, rows[rows["task"] == task], result, task)
        ax.set_title(TASK_NAMES.get(task, task), fontsize=10)
        ax.set_ylabel("Pearson r" if task == "valnorm" else Y_LABELS[result])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    ncol = min(len(labels), 4 if columns > 1 or len(labels) <= 8 else 2)  # one panel: two fit
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    headline(fig, TITLES[result], stand_in)
    legend_inches = 0.2 * np.ceil(len(labels) / ncol) + 0.1  # many models: more rows of legend
    bottom = max(0.09 if lines == 1 else 0.05, legend_inches / fig.get_figheight())
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return fig


def layer_lines(
    table: pd.DataFrame,
    value: str,
    hue: str,
    title_text: str,
    ylabel: str,
    stand_in: bool,
    panel: str = "model",
    reference: float | None = None,
) -> plt.Figure:
    """A per-layer quantity of the geometry chapter: one panel per ``panel`` value (GPT-2,
    CLIP), one line per ``hue`` value, layers 0-12 on x; ``reference`` as a grey line."""
    names = list(dict.fromkeys(table[panel]))
    fig, axes, _ = panel_grid(len(names), len(names), (5.0, 3.7), (0.6, 0), sharey=True)
    palette = plt.get_cmap("tab10")
    hues = list(dict.fromkeys(table[hue]))
    for ax, name in zip(axes.flat, names):
        rows = table[table[panel] == name]
        for i, level in enumerate(hues):
            line = rows[rows[hue] == level].set_index("layer").reindex(list(HIDDEN_LAYERS))
            if line[value].notna().any():
                ax.plot(
                    LAYER_X,
                    line[value],
                    color=palette(i),
                    marker="o",
                    markersize=3,
                    linewidth=1.3,
                    label=str(level),
                )
        if reference is not None:
            ax.axhline(reference, color="grey", linewidth=0.8)
        label = STYLE.get(name, {}).get("label", str(name))
        ax.set_title(label, fontsize=10, color=STYLE.get(name, {}).get("color", "black"))
        ax.set_xticks(LAYER_X)
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes.flat[0].set_ylabel(ylabel)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False
    )
    headline(fig, title_text, stand_in)
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
        ax.plot(
            rows["uniformity"],
            rows["alignment"],
            color=look["color"],
            linestyle=styles.get(variant, "-"),
            linewidth=1.2,
            label=f"{look['label']} {variant}",
        )
        ax.scatter(
            rows["uniformity"],
            rows["alignment"],
            s=np.linspace(8, 60, len(rows)),
            color=look["color"],
            marker=look["marker"],
            zorder=3,
        )
        ax.annotate(
            "12",
            (rows["uniformity"].iloc[-1], rows["alignment"].iloc[-1]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
            color=look["color"],
        )
    ax.set_xlabel("uniformity  log E exp(−2‖f(x) − f(y)‖²)  (lower: more uniform)")
    ax.set_ylabel("alignment  E‖f(x) − f(x⁺)‖²  (lower: closer)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    name = "Alignment and uniformity by layer (marker size grows with the layer)"
    text = f"{name}\n{STAND_IN_NOTE}" if stand_in else name
    ax.set_title(text, color=WARNING_COLOUR if stand_in else "black", fontsize=10)
    fig.tight_layout()
    return fig
