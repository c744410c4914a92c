"""A figure's two layouts on the book's pages: ``<picture>``, the phone's at 720 px or less.

:func:`cvsp.notebook.show` displays a figure as SVG (and PNG), as drawn, and puts the same
figure re-flowed for a phone (:func:`cvsp.plots.phone.reflow`) in the SVG output's
metadata (``phone``: its SVG, natural width in CSS px and smallest text in points), where
Jupyter and Colab ignore it: a notebook shows one figure. For the book, myst-nb hands each
image output to :class:`PhoneFigures` (a mime renderer, registered as the entry point
``myst_nb.mime_renderers: cvsp-phone``), which writes both SVGs and returns a
:class:`picture` node holding both images; the HTML writer turns it into::

    <a href="…desktop.svg">  (Sphinx's link of a sized image to its file)
      <picture class="cvsp-figure" data-natural-width="1181" data-smallest-pt="6.0">
        <source media="(max-width: 720px)" srcset="…phone.svg" data-natural-width="336"
                data-smallest-pt="11.0">
        <img src="…desktop.svg" alt="(the cell's description)" style="width: 1181px;">
      </picture>
    </a>

so a browser downloads one of the two, and the description of the figure (its cell's
``image: alt``) stays on the one ``<img>``. The ``data-`` attributes are what the browser
test turns into a shown size and a label size. This module is also the Sphinx extension
that registers the node (the book's extension loads it); without it, or for an output
without a phone layout, myst-nb renders the image as usual. Other writers than HTML show
the desktop layout.
"""

from __future__ import annotations

import dataclasses
import posixpath
import urllib.parse
from html import escape
from typing import Any

from docutils import nodes

PHONE_MEDIA = "(max-width: 720px)"  # the width at which the theme's layout turns to one column
EXTENSION = __name__


class picture(nodes.General, nodes.Element):  # noqa: N801 (docutils names nodes in lower case)
    """A figure's two images, desktop then phone, with each one's natural width in CSS
    px and smallest text in points (``desktop_width``, ``desktop_pt``, ``phone_…``)."""


class PhoneFigures:
    """myst-nb's mime renderer plugin: an SVG output with a phone layout becomes a
    :class:`picture`; anything else is left to myst-nb (``None``)."""

    mime_priority_overrides: tuple = ()

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        meta = data.output_metadata.get(data.mime_type, {})
        if inline or data.mime_type != "image/svg+xml" or "phone" not in meta:
            return None
        env = getattr(renderer.renderer.document.settings, "env", None)
        app = getattr(env, "_app", None) or getattr(env, "app", None)
        if app is None or EXTENSION not in app.extensions:
            return None
        phone = meta["phone"]
        (desktop_image,) = renderer.render_image(data)
        phone_data = dataclasses.replace(
            data, content=phone["svg"], output_metadata={data.mime_type: {}}
        )
        (phone_image,) = renderer.render_image(phone_data)
        node = picture(
            desktop_width=str(meta.get("width", "")),
            desktop_pt=str(meta.get("smallest_pt", "")),
            phone_width=str(phone["width"]),
            phone_pt=str(phone["smallest_pt"]),
        )
        node += [desktop_image, phone_image]
        return [node]


def _attributes(node: picture, layout: str) -> str:
    width, points = node[f"{layout}_width"], node[f"{layout}_pt"]
    return f'data-natural-width="{escape(width)}" data-smallest-pt="{escape(points)}"'


def visit_picture_html(self, node: picture) -> None:
    """``<picture>``: the phone's image as a ``<source>`` for narrow screens, then the
    desktop's ``<img>`` as Sphinx writes it. Sphinx links a sized image to its file
    (``html_scaled_image_link``); the link goes around the ``<picture>``, whose ``<img>``
    must be its own child for the browser to choose."""
    desktop, phone = node.children
    link = desktop if isinstance(desktop, nodes.reference) else None
    uri = phone["uri"]
    if uri in self.builder.images:
        uri = posixpath.join(self.builder.imgpath, urllib.parse.quote(self.builder.images[uri]))
    if link is not None:
        href = escape(link["refuri"])
        self.body.append(f'<a class="reference internal image-reference" href="{href}">')
    self.body.append(f'<picture class="cvsp-figure" {_attributes(node, "desktop")}>')
    self.body.append(
        f'<source media="{PHONE_MEDIA}" srcset="{escape(uri)}" {_attributes(node, "phone")}>'
    )
    (link.children[0] if link is not None else desktop).walkabout(self)
    self.body.append("</picture>" + ("</a>" if link is not None else ""))
    raise nodes.SkipNode


def visit_picture_desktop(self, node: picture) -> None:
    """Other writers: the desktop layout only (with its link, if any)."""
    node.children[0].walkabout(self)
    raise nodes.SkipNode


def setup(app) -> dict:
    other = (visit_picture_desktop, None)
    app.add_node(
        picture,
        html=(visit_picture_html, None),
        latex=other,
        text=other,
        man=other,
        texinfo=other,
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
