"""The tidy table every result is written in.

Every table has the columns of :data:`COLUMNS`: ``result`` (which result), ``model``
(a registry key), ``variant`` (token choice), ``task`` (dataset), ``layer`` (``0``..``12``,
plus ``final_ln`` and ``projection`` for CLIP's EOS token, ``pooler`` for an encoder's
pooler), ``value``, ``n`` (how many vectors, pairs or words the value rests on) and
``note``, empty unless ``value`` is NaN, when it says why the value is undefined.
:func:`series_rows` writes one series, :func:`tidy_table` joins them, :func:`per_layer`
scores a series layer by layer.

Used by :mod:`.results` (and through it chapter 6's post-processing) and :mod:`cvsp.released`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cvsp import metrics

COLUMNS: list[str] = ["result", "model", "variant", "task", "layer", "value", "n", "note"]
RESULTS: tuple[str, ...] = (
    "cwe_self_similarity",
    "word_similarity",
    "sts",
    "sentence_self_similarity",
)


def series_rows(
    result: str,
    model: str,
    variant: str,
    task: str,
    layers: Sequence[str],
    values: np.ndarray,
    n: int,
    notes: Sequence[str] | None = None,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "result": result,
            "model": model,
            "variant": variant,
            "task": task,
            "layer": list(layers),
            "value": np.asarray(values, dtype=float),
            "n": n,
            "note": list(notes) if notes is not None else "",
        }
    )


def tidy_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def per_layer(score, n_layers: int) -> tuple[np.ndarray, list[str]]:
    """``score(layer)`` for every layer; where it is undefined, NaN and the reason.

    The one expected case: at layer 0 the EOS vector is the EOS token's embedding plus a
    position embedding, so texts of equal token length get identical vectors, and when
    every word of a task has the same length, every cosine is the same.
    """
    values, notes = [], []
    for layer in range(n_layers):
        try:
            values.append(score(layer))
            notes.append("")
        except metrics.MetricError as error:
            values.append(float("nan"))
            notes.append(f"undefined: {error}")
    return np.array(values), notes
