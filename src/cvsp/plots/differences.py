"""Figures of paired differences by layer, each with its 95 % paired-bootstrap band:
CLIP − GPT-2 for every compared pair of token choices (:func:`differences_figure`), and
each contrastive model − its base (:func:`contrast_figure`, chapters 7 and 8)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from cvsp.plots.style import (
    LAYER_X,
    TASK_NAMES,
    TITLES,
    headline,
    layer_panel,
    panel_grid,
    style,
)
from cvsp.registry import HIDDEN_LAYERS

DIFFERENCE_STYLES = [("#6c3483", "-"), ("#d35400", "--"), ("#117a65", ":")]  # one per pair
BEST_X = len(HIDDEN_LAYERS) + 0.6  # where the difference of the two best layers sits


def _draw_pair(ax: plt.Axes, group: pd.DataFrame, label: str, i: int, pairs: int) -> None:
    """One compared pair: its line and band by layer; the best layers' difference as a
    point with its interval at the right, offset by the pair's place among ``pairs``."""
    layers = (
        group[group["layer"].isin(HIDDEN_LAYERS)].set_index("layer").reindex(list(HIDDEN_LAYERS))
    )
    color, linestyle = DIFFERENCE_STYLES[i % len(DIFFERENCE_STYLES)]
    line = ax.plot(
        LAYER_X,
        layers["difference"],
        color=color,
        linestyle=linestyle,
        marker="s",
        markersize=3,
        linewidth=1.3,
        label=label,
    )[0]
    ax.fill_between(
        LAYER_X,
        layers["ci_low"],
        layers["ci_high"],
        color=line.get_color(),
        alpha=0.12,
        linewidth=0,
    )
    best = group[group["layer"] == "best"]
    if not best.empty:
        d, lo, hi = (float(best[c].iloc[0]) for c in ("difference", "ci_low", "ci_high"))
        offset = 0.25 * (i - (pairs - 1) / 2)
        ax.errorbar(
            BEST_X + offset,
            d,
            yerr=[[d - lo], [hi - d]],
            fmt="D",
            color=line.get_color(),
            markersize=4,
            capsize=2,
            linewidth=1,
        )


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
    fig, axes, lines = panel_grid(len(tasks), min(len(tasks), 2), (5.2, 3.3), (1, 0.8))
    for ax, task in zip(axes.flat, tasks):
        pairs = rows[rows["task"] == task].groupby(["clip_variant", "gpt2_variant"], sort=False)
        for i, ((clip_variant, gpt2_variant), group) in enumerate(pairs):
            _draw_pair(ax, group, f"CLIP {clip_variant} − GPT-2 {gpt2_variant}", i, len(pairs))
        layer_panel(ax, TASK_NAMES.get(task, task), "CLIP − GPT-2")
        if (rows.loc[rows["task"] == task, "layer"] == "best").any():
            ax.set_xticks([*LAYER_X, BEST_X], [*HIDDEN_LAYERS, "best"])
            ax.set_xlim(-0.5, BEST_X + 0.6)
        else:
            ax.set_xticks(LAYER_X, list(HIDDEN_LAYERS))
            ax.set_xlim(-0.5, LAYER_X[-1] + 0.6)
    headline(
        fig, f"{TITLES[result].replace(' by layer', '')}: paired difference, CLIP − GPT-2", stand_in
    )
    if len(tasks) == 1:  # one panel: the legend fits inside it
        axes.flat[0].legend(fontsize=8, loc="best", frameon=False)
        fig.tight_layout()
        return fig
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, 0.1 if lines == 1 else 0.05, 1, 1))
    return fig


def _contrast_rows(contrasts: pd.DataFrame, result: str, task: str, model: str, variant: str):
    """One pair's rows: ``model`` − its base, both read with token choice ``variant``."""
    return contrasts[
        (contrasts["result"] == result)
        & (contrasts["task"] == task)
        & (contrasts["model"] == model)
        & (contrasts["variant"] == variant)
        & (contrasts["base_variant"] == variant)
    ]


def contrast_figure(
    contrasts: pd.DataFrame, panels: list[tuple[str, str, dict[str, str]]], stand_in: bool
) -> plt.Figure:
    """Paired differences of several model pairs by layer, with their 95 % bands.

    ``contrasts`` is the table of :func:`cvsp.experiments.contrasts`; ``panels`` lists
    ``(result, task, {model: variant})``: the token choice drawn for each pair (named by
    its model, e.g. ``clip`` for CLIP − GPT-2; the base is read with the same token
    choice). The line of a pair takes its model's colour; above zero, the contrastive
    model is higher.
    """
    fig, axes, lines = panel_grid(len(panels), min(len(panels), 2), (5.2, 3.3), (1, 0.9))
    for ax, (result, task, chosen) in zip(axes.flat, panels):
        for model, variant in chosen.items():
            rows = _contrast_rows(contrasts, result, task, model, variant)
            if rows.empty:
                continue
            layers = rows.assign(layer=rows["layer"].astype(str)).set_index("layer")
            layers = layers.reindex(list(HIDDEN_LAYERS))
            look, base = style(model), style(str(rows["base"].iloc[0]))
            ax.plot(
                LAYER_X,
                layers["difference"],
                color=look["color"],
                marker=look["marker"],
                markersize=3,
                linewidth=1.3,
                label=f"{look['label']} − {base['label']} ({variant})",
            )
            ax.fill_between(
                LAYER_X,
                layers["ci_low"],
                layers["ci_high"],
                color=look["color"],
                alpha=0.13,
                linewidth=0,
            )
        name = f"{TITLES[result].replace(' by layer', '')}, {TASK_NAMES.get(task, task)}"
        spread = result.endswith("self_similarity")
        layer_panel(ax, name, "contrastive − base" if spread else "Δ Spearman ρ")
    handles: dict = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label.split(" (")[0], handle)
    fig.legend(
        list(handles.values()), list(handles), loc="lower center", ncol=3, fontsize=8, frameon=False
    )
    headline(fig, "Paired differences: contrastive model − its base", stand_in)
    fig.tight_layout(rect=(0, 0.07 if lines > 1 else 0.12, 1, 1))
    return fig
