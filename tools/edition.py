"""Write the Jupyter Book configuration of an edition of the book.

    python tools/edition.py student --cache _build/.jupyter_cache \
        --notebooks _build/student/notebooks > _build/_config.student.yml
    python tools/edition.py links > _build/_config.links.yml

The student edition is the book without the solutions of the exercises
(sphinx-exercise's ``hide_solutions``) and says so in its title. It reads the executed
notebooks from ``--cache`` (the Jupyter cache of a full build), so it re-executes
nothing that the full build already ran. Everything else is ``_config.yml`` unchanged:
one source for the book's configuration.

The ``links`` edition is the book with no notebook executed, for the link check
(``.github/workflows/links.yml``): links are in the sources, so checking them needs no
model and no forward pass.

Solutions with code are *gated* (``{solution-start} <label>``, code cells,
``{solution-end}``), so that the build runs them. ``hide_solutions`` alone drops only
the ``solution-start`` directive: the cells between it and ``solution-end`` (code,
outputs, prose) would stay on the page. This file is therefore also the Sphinx extension
``edition``, which the student configuration loads: with ``hide_solutions`` it replaces
each ``solution-start`` by a marker and removes everything from the marker to its
``solution-end``; a marker left over (no ``solution-end`` beside it) is an error. It also
keeps the source notebooks, solutions included, out of the edition (no ``_sources``
copies, no download button) and drops the Colab and Binder buttons, which would open the
repository's notebooks, solutions included. ``--notebooks`` writes, instead, the
chapters' notebooks without solutions for students to run (``tools/reader.py``: with the
build's outputs, its numbers written into the prose and the exercises in plain Markdown).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader  # noqa: E402 (the tool beside this one, not a package)

ROOT = Path(__file__).resolve().parents[1]
EDITIONS = ("student", "links")
EXTENSION = "edition"  # this file, loaded by the student configuration as a Sphinx extension


def edition_config(name: str, cache: Path | None = None) -> dict:
    """``_config.yml`` adapted for edition ``name``: ``student`` (no solutions) or ``links``
    (no notebook executed: the link check reads the pages as written)."""
    if name not in EDITIONS:
        raise SystemExit(f"Unknown edition {name!r}; choose from {', '.join(EDITIONS)}.")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("sphinx", {})
    if name == "student":
        config["title"] = f"{config['title']} (student edition: no solutions)"
        config["sphinx"].setdefault("config", {})["hide_solutions"] = True
        # Colab and Binder would open the repository's notebooks, solutions included
        config["launch_buttons"] = {
            "colab_url": "",
            "binderhub_url": "",
            "jupyterhub_url": "",
            "thebe": False,
        }
    else:  # links: every link is in the sources; executing the book would only take time
        config.setdefault("execute", {})["execute_notebooks"] = "off"
        settings = config["sphinx"].setdefault(
            "config", {}
        )  # unexecuted pages have no glued values
        settings["suppress_warnings"] = [*settings.get("suppress_warnings", []), "mystnb.glue"]
    if cache is not None:
        config.setdefault("execute", {})["cache"] = str(cache.resolve())
    # paths in the configuration are relative to the book's root, wherever this file goes
    config["bibtex_bibfiles"] = [str(ROOT / p) for p in config.get("bibtex_bibfiles", [])]
    extensions = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in extensions.items()}
    if name == "student":
        config["sphinx"]["local_extensions"][EXTENSION] = str(Path(__file__).resolve().parent)
    return config


# The Sphinx extension: gated solutions removed whole when solutions are hidden.


class hidden_solution(nodes.Element):
    """Where a hidden gated solution starts; removed before writing (it has no visitor)."""


class HiddenSolutionStart(SolutionStartDirective):
    """``solution-start`` that leaves a marker when solutions are hidden."""

    def run(self):
        found = super().run()  # registers the start; returns [] when solutions are hidden
        if not self.env.app.config.hide_solutions:
            return found
        marker = hidden_solution(label=self.arguments[0])
        self.set_source_info(marker)
        return [marker]


class RemoveHiddenSolutions(SphinxTransform):
    """Remove each marker and everything after it up to its ``solution-end``."""

    default_priority = 5  # before sphinx-exercise merges gated solutions (10)

    def apply(self):
        for marker in list(self.document.findall(hidden_solution)):
            parent = marker.parent
            start = parent.index(marker)
            end = next(
                (
                    i
                    for i in range(start + 1, len(parent))
                    if isinstance(parent[i], solution_end_node)
                ),
                None,
            )
            if end is None:
                raise ExtensionError(
                    f"{marker.source}:{marker.line}: the solution to {marker['label']} has no solution-end "
                    "at its level, so its content would reach the student edition."
                )
            del parent[start : end + 1]


def _no_notebook_copies(app, config) -> None:
    """With solutions hidden, no copy of the source notebooks (which hold the solutions)
    goes beside the pages, and the theme offers none to download."""
    if config.hide_solutions:
        config.html_copy_source = False
        if config.html_theme == "sphinx_book_theme":  # the book's theme (an option of its own)
            config.html_theme_options = {**config.html_theme_options, "use_download_button": False}


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.connect("config-inited", _no_notebook_copies)
    app.add_node(hidden_solution)
    app.add_directive("solution-start", HiddenSolutionStart, override=True)
    app.add_transform(RemoveHiddenSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("edition", choices=EDITIONS)
    parser.add_argument(
        "--cache", type=Path, help="Jupyter cache of a full build, to reuse its executed notebooks"
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        metavar="FOLDER",
        help="also write the chapters' notebooks without solutions into FOLDER, as a reader "
        "opens them (tools/reader.py: the build's outputs and numbers written in)",
    )
    args = parser.parse_args(argv)
    yaml.safe_dump(
        edition_config(args.edition, args.cache), sys.stdout, sort_keys=False, allow_unicode=True
    )
    if args.notebooks is not None:
        if args.cache is None:
            raise SystemExit("--notebooks writes the executed chapters: give the build's --cache.")
        try:
            written = reader.write_notebooks(args.cache, args.notebooks, student=True)
        except reader.ReaderError as error:
            raise SystemExit(str(error)) from error
        print(
            f"Wrote {len(written)} notebooks without solutions to {args.notebooks}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
