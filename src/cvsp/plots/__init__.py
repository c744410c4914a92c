"""Per-layer figures in the spirit of the paper's: GPT-2 in red circles, CLIP in blue triangles.

:func:`figure` draws one result from a results table; the paper's reported per-layer
values appear as crosses in the model's colour, and its numbers about a whole series
(a best layer, a bound over all layers) as dotted lines. Where the table has ``ci_low``
and ``ci_high``, each line carries its 95 % bootstrap interval as a shaded band. The
other figures draw paired differences (:func:`differences_figure`, :func:`contrast_figure`),
chapter 6's geometry (:func:`layer_lines`, :func:`alignment_uniformity_figure`), the claims
(:func:`claims_figure`) and chapter 5's effects (:func:`fidelity_figure`,
:func:`spread_figure`). Figures of stand-in runs say so in their title.

One style for all (:mod:`cvsp.plots.style`: a colour and marker per model, the frame of a
figure); the figures by family: :mod:`~cvsp.plots.layers` (per-layer results),
:mod:`~cvsp.plots.differences` (paired differences), :mod:`~cvsp.plots.claims` (claims
and chapter 5's effects); :mod:`~cvsp.plots.phone` re-flows any of them for a phone's
column (the book's second layout of every figure). Used by every chapter and by
``cvsp reproduce``.
"""

from cvsp.plots.claims import claim_label, claims_figure, fidelity_figure, spread_figure
from cvsp.plots.differences import contrast_figure, differences_figure
from cvsp.plots.layers import alignment_uniformity_figure, draw_layers, figure, layer_lines
from cvsp.plots.style import STAND_IN_NOTE, STYLE, TASK_NAMES, TITLES, Y_LABELS, style, title

__all__ = [
    "STAND_IN_NOTE",
    "STYLE",
    "TASK_NAMES",
    "TITLES",
    "Y_LABELS",
    "alignment_uniformity_figure",
    "claim_label",
    "claims_figure",
    "contrast_figure",
    "differences_figure",
    "draw_layers",
    "figure",
    "fidelity_figure",
    "layer_lines",
    "spread_figure",
    "style",
    "title",
]
