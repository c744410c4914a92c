"""Sphinx extension of the book: a warning at the top of every page of a stand-in build,
and the book's stylesheet (``static/cvsp.css``: wide tables scroll in their box).

Whether the build runs stand-in models is read from ``CVSP_MODELS`` (the same setting
the notebooks use) and stored as the config value ``cvsp_models``, so switching between
stand-in and real builds re-reads every page.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes

STATIC = Path(__file__).parent / "static"

TEXT = (
    "This book was built with stand-in models: the real GPT-2 and CLIP architectures (and "
    "in chapter 7 BERT's, with a stand-in tokenizer) with random weights, because the "
    "pretrained weights could not be downloaded where "
    "it was built. Every number and figure here only shows that the code runs; none of "
    "them says anything about the paper. Build with real models (the default) for results."
)


def _set_models(app, config) -> None:
    config.cvsp_models = os.environ.get("CVSP_MODELS", "real").strip().lower()


def _warn(app, doctree) -> None:
    if app.config.cvsp_models != "stand-in":
        return
    warning = nodes.warning("", nodes.paragraph("", TEXT), classes=["cvsp-stand-in"])
    sections = list(doctree.findall(nodes.section))
    parent = sections[0] if sections else doctree
    position = 1 if sections and isinstance(parent[0], nodes.title) else 0
    parent.insert(position, warning)


def _static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_config_value("cvsp_models", "real", "env")
    app.connect("builder-inited", _static)
    app.add_css_file("cvsp.css")
    app.connect("config-inited", _set_models)
    app.connect("doctree-read", _warn)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
