"""cvsp: a layerwise reproduction of Wolfe & Caliskan (ACL 2022) with GPT-2 and CLIP.

The package is built in floors, each importing only from the floors below
(``ARCHITECTURE.md`` has the plan): :mod:`cvsp.registry`, :mod:`cvsp.settings` and
:mod:`cvsp.storage` at the ground; :mod:`cvsp.data`, :mod:`cvsp.hub` and
:mod:`cvsp.tokens` for the inputs; :mod:`cvsp.models` and :mod:`cvsp.embeddings`;
:mod:`cvsp.metrics`, :mod:`cvsp.stats` and :mod:`cvsp.geometry`; :mod:`cvsp.experiments`
(a package, one module per job), :mod:`cvsp.paper`, :mod:`cvsp.released` and
:mod:`cvsp.fidelity`; and on top :mod:`cvsp.plots`, :mod:`cvsp.reproduce` (``cvsp
reproduce``), :mod:`cvsp.notebook` (the chapters), :mod:`cvsp.stamp` (the book's stamp)
and :mod:`cvsp.cli`.
"""

from importlib import metadata

__version__ = metadata.version("cvsp")  # pyproject.toml's, the one place of the version
