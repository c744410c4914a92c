"""Set-up for the book's notebooks: one call gives models, data and the shared cache.

Every chapter starts with :func:`start`. The models come from ``CVSP_MODELS`` (real by
default, stand-ins on request) and the embeddings from the cache shared with ``cvsp
reproduce`` and the other chapters, so no forward pass is run twice.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from cvsp import data, experiments, paper
from cvsp.embeddings import Embedder
from cvsp.models import LoadedModel, load_models
from cvsp.reproduce import STAND_IN_WARNING, Run, make_embedders, run
from cvsp.settings import Settings


@dataclass
class Session:
    """What a chapter needs: settings, loaded models and their cached embedders."""

    settings: Settings
    models: dict[str, LoadedModel]
    embedders: dict[str, Embedder]
    seed: int = 0

    @property
    def stand_in(self) -> bool:
        return self.settings.is_stand_in

    @cached_property
    def words(self) -> experiments.WordData:
        return experiments.load_word_data(self.settings)

    @cached_property
    def sentences(self) -> experiments.SentenceData:
        return experiments.prepare_sentences(data.load_sts(self.settings), self.models["clip"].tokenizer)

    def reproduction(self) -> Run:
        """Everything ``cvsp reproduce`` computes, with this session's models (from the cache)."""
        return run(self.settings, seed=self.seed, progress=False, models=self.models)

    def weights_label(self) -> str:
        """How the figures and tables of this run describe the weights."""
        if self.stand_in:
            return "stand-in models (random weights)"
        commits = ", ".join(f"{m.spec.hub_id}@{(m.commit or m.revision or '')[:7]}" for m in self.models.values())
        return f"pretrained models ({commits})"


def start(settings: Settings | None = None, seed: int = 0, progress: bool = False) -> Session:
    """Load both models as ``CVSP_MODELS`` says and return a :class:`Session`."""
    settings = settings or Settings.from_env()
    models = load_models(settings)
    session = Session(settings, models, make_embedders(models, settings, seed=seed, progress=progress), seed)
    if session.stand_in:
        print(f"WARNING: {STAND_IN_WARNING}")
    return session


def comparison_table(scores: pd.DataFrame, result: str) -> pd.DataFrame:
    """The paper's numbers for one result beside ours, rounded for reading."""
    table = paper.compare(scores, result)
    table = table[["model", "claim", "relation", "paper", "ours", "difference", "holds", "source"]]
    table["model"] = table["model"].map({"gpt2": "GPT-2", "clip": "CLIP"})
    return table.round(3).set_index("claim")


def layer_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Values with one row per model and token choice (and task), one column per layer."""
    index = ["model", "variant"] + (["task"] if scores["task"].nunique() > 1 else [])
    wide = scores.pivot_table(index=index, columns="layer", values="value", sort=False)
    return wide.round(3)


def glue(name: str, value: Any) -> Any:
    """Store a value for the book's prose (myst-nb ``glue``); a no-op outside a book build."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # running the notebook without the book tools
        return value
    if hasattr(value, "item"):  # numpy scalars: glue formats plain Python numbers
        value = value.item()
    myst_glue(name, value, display=False)
    return value


def show(figure: plt.Figure, dpi: int = 110) -> None:
    """Display a figure once as a PNG, whatever matplotlib backend is active, and release it."""
    from IPython.display import Image, display

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    display(Image(data=buffer.getvalue()))
