"""A few texts and the checks the cache's tests share."""

from __future__ import annotations

import numpy as np

from cvsp.embeddings import cached

TOLERANCE = 1e-5  # float32 noise only (padded batches, other batch sizes)


TEXTS = [
    "A man is playing a guitar on the street.",
    "Two dogs run through the tall grass together.",
    "strawberries",
    "The stock market fell sharply on Monday morning.",
    "a cat",
    "A woman slices an onion in the kitchen.",
]


def fresh(loaded, texts, variant, seed: int = 0) -> np.ndarray:
    return cached(loaded, store=None, seed=seed, progress=False)(texts, [variant])[variant].values


def entries(folder) -> dict[str, np.ndarray]:
    return {p.name: np.load(p) for p in sorted(folder.glob("*.npy"))}
