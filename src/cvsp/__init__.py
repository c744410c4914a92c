"""cvsp: a layerwise reproduction of Wolfe & Caliskan (ACL 2022) with GPT-2 and CLIP.

Modules: :mod:`cvsp.settings` (environment settings), :mod:`cvsp.data` (evaluation
files), :mod:`cvsp.models` (real and stand-in models), :mod:`cvsp.embeddings`
(layerwise embeddings and their cache), :mod:`cvsp.metrics`, :mod:`cvsp.experiments`
(the four results), :mod:`cvsp.paper` (the paper's numbers), :mod:`cvsp.plots` and
:mod:`cvsp.reproduce` (the ``cvsp reproduce`` command).
"""

__version__ = "0.1.0"
