"""The chapters' notebooks as a reader opens them outside the build (Colab, Binder, Jupyter).

The sources are the paired ``.py`` files, whose MyST markup (glued numbers, exercise and
solution fences, glossary terms, citations, cross-references) only the build fills in.
From a build's executed notebooks (its Jupyter cache) this writes notebooks that read as
the pages do:

- every ``{glue:text}`` number written in, formatted as the page formats it (myst-nb's
  own formatter);
- exercises and solutions as plain Markdown, numbered as on the page; the student edition
  drops the solutions (gated ones with every cell up to ``solution-end``);
- glossary terms as their text, citations as "Author (year)", ``{doc}`` and ``{numref}``
  as links to the published pages and figure numbers, each figure's caption below it;
- the build's outputs kept (tables, figures, printed lines; not warnings), so a reader
  sees them before running anything (figures as drawn, without the site's phone
  layout); a first cell says which build made them.

The Pages workflow publishes them on the branch the launch buttons open (``_config.yml``,
``repository.branch``), with the ``binder/`` folder Binder builds from.

    python tools/reader.py --cache _build/.jupyter_cache --out _build/reader

(``make book EDITION=student`` writes the student edition's, without solutions, through
``tools/edition.py``.)
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from myst_nb.core.variables import format_plain_text
from myst_nb.ext.glue import extract_glue_data_cell
from pybtex.database import parse_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_docs  # noqa: E402 (the tool beside this one, not a package)

ROOT = Path(__file__).resolve().parents[1]

ROLE = re.compile(r"\{(?P<name>[a-z:]+)\}`(?P<text>[^`]+)`")
TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
# a MyST directive: its fence, name, argument, options and body, up to the same fence
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<argument>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$\n?",
    re.MULTILINE | re.DOTALL,
)
OPTION = re.compile(r"^:(?P<key>[a-z-]+):[ \t]*(?P<value>[^\n]*)\n?", re.MULTILINE)
STUDENT_NOTE = (
    "*Student edition: the solutions of the exercises are removed from this notebook; "
    "the code of the chapter is complete.*"
)


class ReaderError(ValueError):
    """A chapter's markup that this reader cannot turn into plain Markdown."""


def glued(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The values an executed notebook glued (``key -> text/plain``); glue's own hidden
    outputs are removed from its cells, as the build removes them."""
    values = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for key, output in extract_glue_data_cell(cell):
                values[key] = output["data"]["text/plain"]
    return values


class Citations:
    """Author-year citations from the book's bibliography (``_config.yml``'s bibtex files)."""

    def __init__(self, bibfiles: list[Path]):
        self.entries = {}
        for path in bibfiles:
            self.entries.update(parse_file(str(path)).entries)

    def names(self, key: str) -> tuple[str, str]:
        entry = self.entries[key]
        last = [  # "van Schijndel": the particle belongs to the name
            " ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "")
            for p in entry.persons.get("author", [])
        ]
        who = (
            last[0]
            if len(last) == 1
            else " and ".join(last)
            if len(last) == 2
            else f"{last[0]} et al."
        )
        return who, entry.fields["year"]

    def textual(self, keys: str) -> str:
        return "; ".join("{} ({})".format(*self.names(k.strip())) for k in keys.split(","))

    def parenthetical(self, keys: str) -> str:
        return (
            "(" + "; ".join("{}, {}".format(*self.names(k.strip())) for k in keys.split(",")) + ")"
        )


class Chapter:
    """What one chapter's markup refers to: its glued values, figures and exercises, and
    the site its links go to."""

    def __init__(self, notebook: nbformat.NotebookNode, name: str, site: str, citations: Citations):
        self.name, self.site, self.citations = name, site.rstrip("/") + "/", citations
        self.number = int(name[:2])  # the site numbers figures and exercises per chapter: 1.2
        self.values = glued(notebook)
        self.figures = [
            cell.metadata["mystnb"]["figure"]["name"]
            for cell in notebook.cells
            if cell.cell_type == "code"
            and "name" in cell.metadata.get("mystnb", {}).get("figure", {})
        ]
        self.exercises = [
            _options(match["body"])[0].get("label")
            for cell in notebook.cells
            if cell.cell_type == "markdown"
            for match in DIRECTIVE.finditer(cell.source)
            if match["name"] == "exercise"
        ]

    def role(self, match: re.Match) -> str:
        name, text = match["name"], match["text"]
        titled = TITLED.match(text)
        if name == "glue:text":
            key, _, spec = text.rpartition(":") if ":" in text else (text, "", "s")
            if key not in self.values:
                raise ReaderError(f"{self.name}: nothing glued as {key!r}")
            return format_plain_text(self.values[key], spec or "s")
        if name == "term":
            return titled["title"] if titled else text
        if name == "cite:t":
            return self.citations.textual(text)
        if name == "cite:p":
            return self.citations.parenthetical(text)
        if name == "doc":
            target = titled["target"] if titled else text
            return f"[{titled['title'] if titled else _title(target)}]({self.page(target)})"
        if name == "numref":
            if text not in self.figures:
                raise ReaderError(f"{self.name}: no figure named {text!r}")
            return f"Figure {self.number}.{self.figures.index(text) + 1}"
        raise ReaderError(f"{self.name}: the role {{{name}}} has no plain form here")

    def page(self, target: str) -> str:
        """The published page of a ``{doc}`` target (relative to ``notebooks/``)."""
        path = (
            (Path("/notebooks") / target).resolve() if not target.startswith("/") else Path(target)
        )
        return self.site + str(path).lstrip("/") + ".html"

    def directive(self, match: re.Match) -> str:
        name, argument = match["name"], match["argument"].strip()
        options, body = _options(match["body"])
        body = body.strip("\n")
        if name == "exercise":
            number = self.exercises.index(options.get("label")) + 1
            title = f" ({argument})" if argument else ""
            return f"**Exercise {self.number}.{number}{title}.** {body}\n"
        if name in ("solution", "solution-start"):
            if argument not in self.exercises:
                raise ReaderError(f"{self.name}: a solution to no exercise ({argument!r})")
            heading = (
                f"**Solution to exercise {self.number}.{self.exercises.index(argument) + 1}.**"
            )
            return f"{heading} {body}\n" if body else f"{heading}\n"
        if name == "solution-end":
            return ""
        raise ReaderError(f"{self.name}: the directive {{{name}}} has no plain form here")

    def markdown(self, text: str) -> str:
        text = DIRECTIVE.sub(self.directive, text)
        return re.sub(r"\n{3,}", "\n\n", ROLE.sub(self.role, text)).strip("\n")


def plain(text: str) -> str:
    """``text`` with each role as its bare text (a table's cell, where no link is made)."""

    def bare(match: re.Match) -> str:
        titled = TITLED.match(match["text"])
        return titled["title"] if titled else match["text"]

    return ROLE.sub(bare, text)


def _options(body: str) -> tuple[dict[str, str], str]:
    """A directive's leading ``:key: value`` lines, and the rest of its body."""
    options, position = {}, 0
    while match := OPTION.match(body, position):
        options[match["key"]] = match["value"].strip()
        position = match.end()
    return options, body[position:]


def _title(target: str) -> str:
    """The first heading of a ``{doc}`` target's source (a chapter's ``.py``, a page's ``.md``)."""
    path = (
        (ROOT / "notebooks" / target).resolve()
        if not target.startswith("/")
        else ROOT / target.lstrip("/")
    )
    headings = {".md": r"^# (.+)$", ".py": r"^# # (.+)$"}  # a page's, a chapter's title
    for suffix, heading in headings.items():
        source = path.with_suffix(suffix)
        if source.is_file():
            found = re.search(heading, source.read_text(), re.MULTILINE)
            return found[1].strip() if found else path.stem
    raise ReaderError(f"no page {target!r}")


TITLE = re.compile(
    r"^(?P<kind>Compute|Predict, then compute|Interpret|Explain|Project) · "
    r"(?P<level>easy|medium|hard) · (?P<time>\d+ (?:min|hours?))$"
)
THINKING = ("Predict, then compute", "Interpret", "Explain")  # more than a parameter change


def exercises(notebook: nbformat.NotebookNode) -> list[dict]:
    """A chapter's exercises in order: label, title (``kind · level · time``), text, how
    it is solved (``code`` between ``solution-start`` and ``solution-end``, or ``text``)
    and whether a code solution needs compute mode (a cell tagged ``raises-exception``,
    which says so in one sentence when the chapter is replayed)."""
    found, current = [], None
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if current is not None:
                current["cells"].append(cell)
            continue
        for match in DIRECTIVE.finditer(cell.source):
            options, body = _options(match["body"])
            if match["name"] == "exercise":
                found.append(
                    {
                        "label": options.get("label"),
                        "title": match["argument"].strip(),
                        "text": " ".join(body.split()),
                        "solution": None,
                        "cells": [],
                    }
                )
            elif match["name"] in ("solution", "solution-start"):
                solved = next(e for e in found if e["label"] == match["argument"].strip())
                solved["solution"] = "code" if match["name"] == "solution-start" else "text"
                current = solved if match["name"] == "solution-start" else None
            elif match["name"] == "solution-end":
                current = None
    for exercise in found:
        cells = exercise.pop("cells")
        exercise["needs_compute"] = any(
            "raises-exception" in c.metadata.get("tags", []) for c in cells
        )
        exercise["code"] = [c.source for c in cells]
    return found


def _solutions_removed(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` without any solution: ``{solution}`` directives, and gated ones from
    ``solution-start`` to ``solution-end`` with every cell in between."""
    cells, inside = [], False
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            if not inside:
                cells.append(cell)
            continue
        kept, position = [], 0
        was_inside = inside
        for match in DIRECTIVE.finditer(cell.source):
            name = match["name"]
            if name not in ("solution", "solution-start", "solution-end"):
                continue
            if inside:
                if name == "solution-end":
                    inside, position = False, match.end()
                continue
            if name == "solution-end":
                raise ReaderError(f"a solution-end without a solution-start: {cell.source[:80]!r}")
            kept.append(cell.source[position : match.start()])
            position, inside = match.end(), name == "solution-start"
        if not inside:
            kept.append(cell.source[position:])
        cell.source = re.sub(r"\n{3,}", "\n\n", "".join(kept)).strip("\n")
        if cell.source.strip() or not (was_inside or inside):
            cells.append(cell)
    if inside:
        raise ReaderError(
            "a solution-start without a solution-end: its content would reach the students"
        )
    notebook.cells = cells
    return notebook


def reader_notebook(
    notebook: nbformat.NotebookNode,
    name: str,
    site: str,
    citations: Citations,
    student: bool = False,
    made_by: str = "",
) -> nbformat.NotebookNode:
    """An executed chapter as a reader opens it: its markup in plain Markdown, its outputs
    kept (warnings aside), each figure's caption below it; without solutions for students."""
    notebook = copy.deepcopy(notebook)
    chapter = Chapter(notebook, name, site, citations)  # glue's hidden outputs removed
    if student:
        notebook = _solutions_removed(notebook)
    cells = [nbformat.v4.new_markdown_cell(STUDENT_NOTE)] if student else []
    if made_by:
        cells.append(nbformat.v4.new_markdown_cell(made_by))
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = chapter.markdown(cell.source)
            cells.append(cell)
            continue
        if cell.cell_type == "code":  # what the page shows of it: no warning, no plumbing
            hidden = {"remove-output", "remove-cell"} & set(cell.metadata.get("tags", []))
            outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
            cell.outputs = [] if hidden else outputs
            for output in outputs:  # a figure's phone layout (cvsp.picture) is the site's
                output.get("metadata", {}).get("image/svg+xml", {}).pop("phone", None)
        cells.append(cell)
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if "name" in figure:
            number = f"{chapter.number}.{chapter.figures.index(figure['name']) + 1}"
            caption = chapter.markdown(figure.get("caption", ""))
            cells.append(nbformat.v4.new_markdown_cell(f"**Figure {number}.** {caption}"))
    notebook.cells = cells
    for number, cell in enumerate(notebook.cells):  # the same ids each time it is written
        cell["id"] = f"cell-{number}"
    return notebook


def executed_chapters(cache_folder: Path, root: Path = ROOT) -> dict[str, nbformat.NotebookNode]:
    """Each chapter's source (the ``.ipynb`` the build read) with its outputs from the
    build's cache; a chapter the cache does not hold stops the tool."""
    cache = get_cache(str(cache_folder))
    chapters = {}
    for source in sorted((root / "notebooks").glob("0*.ipynb")):
        notebook = nbformat.read(source, as_version=4)
        try:
            _, merged = cache.merge_match_into_notebook(notebook)
        except KeyError as missing:
            raise ReaderError(
                f"The build's cache ({cache_folder}) has no executed {source.stem}: build the book first."
            ) from missing
        chapters[source.stem] = merged
    return chapters


def made_by_note(site: str, stand_in: bool) -> str:
    """The first cell: where the outputs come from, and how to run the chapter."""
    note = (
        f"*This notebook is a chapter of [the book]({site}) with the outputs of the build "
        "that wrote it: every number, table and figure below is that build's. Run all cells "
        "to replay the published book's tables (seconds after the first cell's one-time "
        "install, no model), or set `REPLAY = None` in the first code cell to compute them "
        "with the models.*"
    )
    if stand_in:
        note += (
            "\n\n**Stand-in build: the models had random weights, so the numbers below say "
            "nothing about the paper.**"
        )
    return note


def _built_with_stand_ins(cache_folder: Path) -> bool:
    """Whether the build beside ``cache_folder`` ran stand-ins (its replay manifest says)."""
    manifest = cache_folder.parent / "html" / "replay" / "manifest.json"
    return manifest.is_file() and json.loads(manifest.read_text())["build"]["models"] == "stand-in"


def write_notebooks(
    cache_folder: Path,
    folder: Path,
    student: bool = False,
    commit: str | None = None,
    root: Path = ROOT,
) -> list[Path]:
    """The reader notebook of every chapter, from the build whose Jupyter cache is
    ``cache_folder``, into ``folder`` (without solutions for ``student``); with ``commit``,
    their install cells name that commit instead of the release tag."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    site = config["html"]["baseurl"]
    citations = Citations([root / p for p in config["bibtex_bibfiles"]])
    note = made_by_note(site, _built_with_stand_ins(cache_folder))
    tag = "@" + sync_docs.release_tag(root)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notebook in executed_chapters(cache_folder, root).items():
        reader = reader_notebook(notebook, name, site, citations, student, note)
        for cell in reader.cells:
            if commit is not None and cell.cell_type == "code":
                cell.source = cell.source.replace(f'{tag}"', f'@{commit}"')
        path = folder / f"{name}.ipynb"
        nbformat.write(reader, path)
        written.append(path)
    return written


def write_branch(
    cache_folder: Path, out: Path, commit: str | None = None, root: Path = ROOT
) -> list[Path]:
    """What the launch buttons' branch holds: ``notebooks/`` (the reader notebooks) and
    ``binder/requirements.txt`` (the package, no PyTorch). With ``commit`` (the built one),
    both install the package at that commit instead of the release tag, so the code a
    reader runs is the code that made the published tables."""
    written = write_notebooks(cache_folder, out / "notebooks", commit=commit, root=root)
    requirement = sync_docs.install_requirement(root)
    if commit is not None:
        requirement = requirement.replace("@" + sync_docs.release_tag(root), f"@{commit}")
    (out / "binder").mkdir(parents=True, exist_ok=True)
    (out / "binder" / "requirements.txt").write_text(
        f"# the package the notebooks install (replaying needs no PyTorch)\n{requirement}\n"
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("_build/.jupyter_cache"))
    parser.add_argument("--out", type=Path, default=Path("_build/reader"))
    parser.add_argument(
        "--commit", help="install the package at this commit (the built one), not the release tag"
    )
    args = parser.parse_args(argv)
    try:
        written = write_branch(args.cache, args.out, args.commit)
    except ReaderError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Wrote {len(written)} notebooks to {args.out / 'notebooks'}, and {args.out / 'binder'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
