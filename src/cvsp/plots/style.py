"""The figures' one style: a colour, marker and label per model, names of results and
tasks, and the frame every figure shares (a grid of panels, a title that carries the
stand-in warning, a legend below)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cvsp.registry import CLIP_EXTRA_LAYERS, HIDDEN_LAYERS, POOLER_LAYER

STAND_IN_NOTE = "STAND-IN MODELS (random weights): says nothing about the paper"
WARNING_COLOUR = "#b03a2e"
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
    "eos": "-",
    "cls": "-",
    "last_subtoken": "--",
    "last_token": "--",
    "mean": ":",
    "mean_no_first": "-.",
    "random_token": "-",
    "random_token_no_first": "--",
    "random_token_released": ":",
}
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
    "rg65": "RG65",
    "wordsim353": "WordSim-353",
    "simlex999": "SimLex-999",
    "simverb3500": "SimVerb-3500",
    "valnorm": "ValNorm",
    "stsb": "STS-B",
    "sts_sentences": "STS-B sentences",
}
EXTRA_LAYERS = (*CLIP_EXTRA_LAYERS, POOLER_LAYER)  # points after the top layer
X_TICKS = [*HIDDEN_LAYERS, "LN", "proj", "pool"]
LAYER_X = np.arange(len(HIDDEN_LAYERS))  # the hidden layers 0-12 on x


def style(model: str) -> dict:
    """Colour, marker and label of a model; models outside :data:`STYLE` get a grey line."""
    return STYLE.get(model, {"color": "#555555", "marker": "x", "label": model})


def title(result: str, stand_in: bool) -> str:
    """Figure title; stand-in runs carry the warning."""
    return f"{TITLES[result]}\n{STAND_IN_NOTE}" if stand_in else TITLES[result]


def panel_grid(
    count: int, columns: int, size: tuple[float, float], pad: tuple[float, float], **options
):
    """A figure of ``count`` panels in rows of ``columns``: ``size`` inches each, ``pad``
    inches more in all (the title, the legend); panels beyond ``count`` are hidden.
    Returns the figure, its panels (rows x columns) and the number of rows."""
    rows = int(np.ceil(count / columns))
    figsize = (size[0] * columns + pad[0], size[1] * rows + pad[1])
    fig, axes = plt.subplots(rows, columns, figsize=figsize, squeeze=False, **options)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    return fig, axes, rows


def headline(fig: plt.Figure, name: str, stand_in: bool, fontsize: float = 11) -> None:
    """The figure's title; a stand-in run's adds the warning, in the warning's colour."""
    text = f"{name}\n{STAND_IN_NOTE}" if stand_in else name
    fig.suptitle(text, color=WARNING_COLOUR if stand_in else "black", fontsize=fontsize)


def layer_panel(ax: plt.Axes, title_text: str, ylabel: str, zero: bool = True) -> None:
    """A panel with the hidden layers on x: ticks, limits, labels, a grid, a zero line."""
    if zero:
        ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(LAYER_X)
    ax.set_xlim(-0.5, LAYER_X[-1] + 0.5)
    ax.set_title(title_text, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)
