"""A figure re-flowed for a phone: the same figure object, its panels in one column.

The book shows every figure in two layouts drawn from one figure object
(:func:`cvsp.notebook.show`): as its plotting code drew it (a desktop's column), and, on a
screen 720 px wide or less, as :func:`reflow` leaves it. Nothing is drawn again: the same
artists, data and colours, only placed for a column :data:`PHONE_WIDTH` wide (the box a
figure gets on a 390 px screen, where it then shows at its natural size):

- every visible panel in one column, each :data:`PANEL_HEIGHT` high (or
  :data:`ROW_HEIGHT` per row when its row labels move above the rows, as the claims'
  names do: they would leave the plot no room beside them);
- every text at least :data:`SMALLEST_PT` (14.7 CSS px at natural size; the theme's small
  text is 14.4 px), titles :data:`TITLE_PT`; a text longer than its room is wrapped;
- the figure's legends (figure-level and per panel) merged into one key below the panels;
- a panel that showed no y (x) label or tick labels because a panel of its row (column)
  did shows them; tick labels that would overlap are thinned.

Every axes of the figure is a panel (an inset or a colour bar would get a row of its own;
the book draws none). :func:`smallest_font` reads a saved SVG for the size of its smallest text, which the book
records beside each layout (its browser test turns it into CSS pixels on the phone).
"""

from __future__ import annotations

import re
import textwrap

import matplotlib.pyplot as plt
from matplotlib.gridspec import GridSpec
from matplotlib.text import Text

PHONE_WIDTH = 3.5  # inches: 336 CSS px (96 per inch), a figure's box on a 390 px screen
SMALLEST_PT = 11.0
TITLE_PT = 12.0
PANEL_HEIGHT = 2.3  # inches of plotting area per panel
ROW_HEIGHT = 0.62  # inches per row of a panel whose row labels sit above it (two lines)
LONG_LABELS = 0.35  # y tick labels wider than this share of the figure move above their rows
GLYPH_SCALE = re.compile(r"scale\(([0-9.]+) -\1\)")  # a text drawn as paths: size / 100


def smallest_font(svg: str) -> float:
    """The size in points of the smallest text of a figure saved as SVG (matplotlib draws
    each text as paths scaled by its size / 100); 0 for a figure without text."""
    return min((round(100 * float(s), 2) for s in GLYPH_SCALE.findall(svg)), default=0.0)


def reflow(figure: plt.Figure) -> None:
    """Re-flow ``figure`` in place for a phone's column (see the module's docstring)."""
    for ax in [ax for ax in figure.axes if not ax.get_visible()]:
        ax.remove()
    panels = list(figure.axes)
    if not panels:
        return
    _labels_from_neighbours(panels)
    _enlarge_text(figure, panels)
    handles, labels = _merged_legends(figure, panels)
    figure.set_size_inches(PHONE_WIDTH, figure.get_figheight())
    renderer = figure.canvas.get_renderer()
    heights = [_rows_above(ax, renderer) or PANEL_HEIGHT for ax in panels]
    figure.set_size_inches(PHONE_WIDTH, _first_height(heights))
    grid = GridSpec(len(panels), 1, figure=figure, height_ratios=heights)
    for ax, spec in zip(panels, grid):
        ax.set_subplotspec(spec)
    if handles:
        figure.legend(
            handles, labels, loc="outside lower center", fontsize=SMALLEST_PT, frameon=False
        )
    figure.set_layout_engine("constrained", h_pad=0.06, w_pad=0.04)
    originals: dict = {}
    figure.draw_without_rendering()  # the layout: each text's room
    for _ in range(2):  # wrapping a y label moves its panel, and so the others' room
        moved = _wrap_texts(figure, panels, renderer, originals)
        figure.draw_without_rendering()
        if not moved:
            break
    for ax in panels:
        _thin_ticks(ax, renderer)
        _texts_inside(ax, renderer)
    _fit_height(figure, panels, sum(heights))


def _labels_from_neighbours(panels: list[plt.Axes]) -> None:
    """A panel without a y label (its tick labels hidden by a shared axis) takes its row's
    first label and shows its ticks; likewise x labels within a column."""
    places = {ax: ax.get_subplotspec() for ax in panels}
    for ax in panels:
        spec = places[ax]
        if spec is None:
            continue
        row = [o for o in panels if places[o] and places[o].rowspan == spec.rowspan]
        column = [o for o in panels if places[o] and places[o].colspan == spec.colspan]
        if not ax.get_ylabel():
            ax.set_ylabel(next((o.get_ylabel() for o in row if o.get_ylabel()), ""))
        if not ax.get_xlabel():
            ax.set_xlabel(next((o.get_xlabel() for o in column if o.get_xlabel()), ""))
        ax.tick_params(axis="y", labelleft=True)
        ax.tick_params(axis="x", labelbottom=True)


def _enlarge_text(figure: plt.Figure, panels: list[plt.Axes]) -> None:
    """Every text at least :data:`SMALLEST_PT`; the figure's and the panels' titles
    :data:`TITLE_PT`."""
    for ax in panels:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            size = max([t.get_fontsize() for t in axis.get_ticklabels()], default=SMALLEST_PT)
            ax.tick_params(axis=name, which="both", labelsize=max(size, SMALLEST_PT))
    for text in figure.findobj(Text):
        text.set_fontsize(max(text.get_fontsize(), SMALLEST_PT))
    titles = [figure._suptitle] + [ax.title for ax in panels]
    for text in titles:
        if text is not None:
            text.set_fontsize(max(text.get_fontsize(), TITLE_PT))


def _merged_legends(figure: plt.Figure, panels: list[plt.Axes]) -> tuple[list, list[str]]:
    """The entries of every legend of the figure, each label once; the legends removed."""
    legends = list(figure.legends) + [ax.get_legend() for ax in panels if ax.get_legend()]
    entries: dict[str, object] = {}
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            entries.setdefault(text.get_text(), handle)
        legend.remove()
    return list(entries.values()), list(entries)


def _rows_above(ax: plt.Axes, renderer) -> float:
    """Moves long y tick labels (names of rows) above their rows, left-aligned in the
    plot, and returns the panel's height for them; 0 (nothing moved) for short labels."""
    rows = [(y, t) for y, t in zip(ax.get_yticks(), ax.get_yticklabels()) if t.get_text()]
    widest = max((t.get_window_extent(renderer).width for _, t in rows), default=0)
    if widest < LONG_LABELS * PHONE_WIDTH * ax.figure.dpi:
        return 0.0
    for y, label in rows:
        ax.annotate(
            label.get_text(),
            xy=(0, y),
            xycoords=("axes fraction", "data"),
            xytext=(2, 5),
            textcoords="offset points",
            fontsize=label.get_fontsize(),
            color=label.get_color(),
            va="bottom",
        ).set_in_layout(False)  # inside the panel once wrapped to its width
    ax.tick_params(axis="y", labelleft=False)
    low, high = ax.get_ylim()  # room above the top row for its label
    step = abs(rows[1][0] - rows[0][0]) if len(rows) > 1 else 1
    ax.set_ylim(low, high + 0.8 * step) if high > low else ax.set_ylim(low + 0.8 * step, high)
    return ROW_HEIGHT * len(rows)


def _wrap_texts(figure: plt.Figure, panels: list[plt.Axes], renderer, originals: dict) -> bool:
    """Each text wrapped from its ``originals`` text (kept there on the first call) to
    its room, as the layout stands now; whether a y label changed (its panel moves)."""
    moved = False
    for text, room in _rooms(figure, panels, renderer):
        if text is not None and text.get_text():
            before = text.get_text()
            _wrap(text, room, renderer, originals.setdefault(text, before))
            moved |= text.get_rotation() in (90, 270) and text.get_text() != before
    return moved


def _rooms(figure: plt.Figure, panels: list[plt.Axes], renderer):
    """Titles, axis labels, annotations and the key's labels, each with its room in
    pixels (a panel's title and x label are centred on the panel, right of centre)."""
    width = figure.get_figwidth() * figure.dpi
    yield figure._suptitle, 0.96 * width
    for legend in figure.legends:
        for text in legend.get_texts():
            yield text, 0.8 * width
    for ax in panels:
        box = ax.get_window_extent(renderer)
        centred = 2 * min(box.x0 + box.width / 2, width - box.x0 - box.width / 2) - 4
        yield ax.title, centred
        yield ax.xaxis.label, centred
        yield ax.yaxis.label, box.height * 1.3
        for text in ax.texts:
            yield text, box.width - 4


def _wrap(text: Text, room: float, renderer, original: str) -> None:
    """``original`` in ``text``, in as few lines as fit ``room`` pixels (its longer side),
    as even as they can be (no word left alone on the last line)."""
    text.set_text(original)

    def fits(width: int) -> int:  # the number of lines, or 0 where they do not fit
        lines = [textwrap.fill(line, width, break_on_hyphens=False) for line in paragraphs]
        text.set_text("\n".join(lines))
        box = text.get_window_extent(renderer)
        length = box.height if text.get_rotation() in (90, 270) else box.width
        return text.get_text().count("\n") + 1 if length <= room else 0

    paragraphs = original.split("\n")
    widest = max(map(len, paragraphs))
    if fits(widest):
        return
    first = next((w for w in range(widest - 1, 7, -1) if fits(w)), 8)
    lines = fits(first)
    even = first
    while lines and even > 8 and fits(even - 1) == lines:
        even -= 1
    fits(even)


def _first_height(heights: list[float]) -> float:
    """A first guess of the figure's height: its panels, 0.9 inch of labels and ticks
    each, 1.5 inches of title and key."""
    return sum(heights) + 1.5 + 0.9 * len(heights)


def _fit_height(figure: plt.Figure, panels: list[plt.Axes], plotting: float) -> None:
    """The figure's height: its panels' plotting ``plotting`` inches plus what the last
    layout gave the title, key, labels and ticks (which do not grow with the height)."""
    drawn = sum(ax.get_position().height for ax in panels) * figure.get_figheight()
    figure.set_size_inches(PHONE_WIDTH, figure.get_figheight() + plotting - drawn)


def _thin_ticks(ax: plt.Axes, renderer) -> None:
    """Where x tick labels would touch: every k-th number, the smallest k that gives
    them room, then each word (``LN``, ``proj``, ``best``) on the first of two lines
    where it has room (dropped where it has none)."""
    labels = ax.get_xticklabels()
    texts = [t.get_text() for t in labels]
    gap = 0.2 * (labels[0].get_fontsize() if labels else 0) * ax.figure.dpi / 72
    boxes = [t.get_window_extent(renderer).padded(gap, 0) for t in labels]
    numbers = [i for i, text in enumerate(texts) if _numeric(text)]
    steps = (k for k in range(1, len(numbers)) if not _crowded(boxes, numbers[::k]))
    lines: list[list[int]] = [numbers[:: next(steps, max(len(numbers), 1))], []]
    words = [i for i, text in enumerate(texts) if text and i not in numbers]
    for i in words:
        line = next((line for line in lines if not any(_touch(boxes, i, k) for k in line)), None)
        if line is not None:
            line.append(i)
    if len(lines[0]) < len(words) + len(numbers):
        shown = [""] * len(texts)
        for i in lines[0]:
            shown[i] = texts[i]
        for i in lines[1]:
            shown[i] = "\n" + texts[i]
        ax.set_xticks(ax.get_xticks(), shown)


def _touch(boxes: list, i: int, k: int) -> bool:
    return boxes[i].overlaps(boxes[k])


def _crowded(boxes: list, indices: list[int]) -> bool:
    return any(_touch(boxes, i, k) for i, k in zip(indices, indices[1:]))


def _texts_inside(ax: plt.Axes, renderer) -> None:
    """Raises the top of the y axis until the panel's texts placed by the data (the
    paper's levels, the claims' names) end below its frame, as they did when smaller."""
    for _ in range(3):
        frame = ax.get_window_extent(renderer)
        top = max((t.get_window_extent(renderer).y1 for t in ax.texts), default=frame.y1)
        low, high = ax.get_ylim()
        if top <= frame.y1 + 1 or high < low:  # inside, or an inverted axis: left as drawn
            return
        ax.set_ylim(low, high + (high - low) * 1.1 * (top - frame.y1) / frame.height)


def _numeric(text: str) -> bool:
    return text.replace("−", "-").replace(".", "", 1).lstrip("-").isdigit()
