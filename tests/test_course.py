"""Course material: every chapter's exercises are labelled and assignable, and read only
names a reader has seen defined (tools/reader.py parses them, as the teacher's page does)."""

from __future__ import annotations

import ast
import builtins

import jupytext
import nbformat
import pytest
from support.runs import ROOT, module_at

HIDDEN = {"remove-cell", "remove-input"}  # cells a reader of the page never sees
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.py"))


def _reader():
    return module_at(ROOT / "tools" / "reader.py")


def _bound(tree: ast.AST) -> set[str]:
    """Every name a cell binds (assignments, imports, definitions, loop and with targets)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def names_from_hidden_cells(notebook: nbformat.NotebookNode) -> dict[str, set[str]]:
    """``exercise label -> names`` its solution's code reads that only a hidden cell (one
    the page removes) defined before it, read top to bottom as the chapter runs."""
    reader = _reader()
    solution_cells = {
        id(cell): exercise["label"]
        for exercise in reader.exercises(notebook)
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source in exercise["code"]
    }
    visible, found = set(dir(builtins)), {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        bound = _bound(tree)
        if id(cell) in solution_cells:
            read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            missing = read - bound - visible
            if missing:
                found.setdefault(solution_cells[id(cell)], set()).update(missing)
        if not HIDDEN & set(cell.metadata.get("tags", [])):
            visible |= bound
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_labelled_exercises_that_ask_for_thought(path):
    reader = _reader()
    found = reader.exercises(jupytext.read(path))
    assert len(found) >= 2, path.stem
    titles = [reader.TITLE.match(e["title"]) for e in found]
    assert all(titles), [e["title"] for e in found]  # kind · level · time, each of them
    assert any(t["kind"] in reader.THINKING for t in titles), path.stem
    assert all(e["solution"] for e in found), [e["label"] for e in found if not e["solution"]]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_read_no_name_defined_only_in_a_hidden_cell(path):
    assert names_from_hidden_cells(jupytext.read(path)) == {}


def test_a_name_from_a_hidden_cell_is_found():
    notebook = jupytext.reads(
        "# %% tags=['remove-cell']\nsecret = 1\nshown = 2\n\n# %%\nvisible = shown\n\n"
        "# %% [markdown]\n# ```{exercise} Compute · easy · 5 min\n# :label: ex-a\n# Use it.\n"
        "# ```\n#\n# ```{solution-start} ex-a\n# ```\n\n"
        "# %%\nprint(secret + visible, len('x'))\n\n# %% [markdown]\n# ```{solution-end}\n# ```\n",
        fmt="py:percent",
    )
    assert names_from_hidden_cells(notebook) == {"ex-a": {"secret"}}


def test_the_reader_writes_a_chapter_s_markup_as_plain_markdown():
    """tools/reader.py on a small executed chapter: a glued number formatted as the page
    formats it, citations with their particles, an exercise and its solution numbered as
    on the page, a term as its text, a page link to the site; without the solution (its
    prose and its code) for students."""
    reader = _reader()
    citations = reader.Citations([ROOT / "book" / "references.bib"])
    assert citations.textual("timkey2021all") == "Timkey and van Schijndel (2021)"
    assert citations.parenthetical("wolfe2022contrastive,gao2021simcse") == (
        "(Wolfe and Caliskan, 2022; Gao et al., 2021)"
    )
    notebook = jupytext.reads(
        "# %% [markdown]\n# CLIP reaches {glue:text}`rho:.2f` ({term}`STS`, {doc}`../book/methods`)."
        "\n\n# %%\nglue('rho', 0.7312)\n\n# %% [markdown]\n"
        "# ```{exercise} Compute · easy · 5 min\n# :label: ex-a\n# Try it.\n# ```\n#\n"
        "# ```{solution-start} ex-a\n# :class: dropdown\n# ```\n\n# %%\nprint('solved')\n\n"
        "# %% [markdown]\n# Done.\n#\n# ```{solution-end}\n# ```\n",
        fmt="py:percent",
    )
    notebook.cells[1].outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/papermill.record/text/plain": "0.7312"},
            metadata={"scrapbook": {"name": "rho", "mime_prefix": "application/papermill.record/"}},
        )
    ]
    figure = {"width": 600, "phone": {"svg": "<svg/>", "width": 336}}  # cvsp.notebook.show's
    notebook.cells[3].outputs = [
        nbformat.v4.new_output(
            "display_data", data={"image/svg+xml": "<svg/>"}, metadata={"image/svg+xml": figure}
        )
    ]
    site = "https://example.org/book/"
    full = reader.reader_notebook(notebook, "03_sts", site, citations)
    (shown,) = [c for c in full.cells if "solved" in c.source][0].outputs
    assert shown.metadata == {"image/svg+xml": {"width": 600}}  # the site's phone layout dropped
    assert shown.data["image/svg+xml"] == "<svg/>" and "phone" in figure  # the source kept
    prose = "\n".join(c.source for c in full.cells if c.cell_type == "markdown")
    assert "CLIP reaches 0.73 (STS, [Methods" in prose and f"]({site}book/methods.html))" in prose
    assert "**Exercise 3.1 (Compute · easy · 5 min).** Try it." in prose
    assert "**Solution to exercise 3.1.**" in prose and "Done." in prose
    assert not full.cells[1].outputs  # glue's hidden record is not an output
    student = reader.reader_notebook(notebook, "03_sts", site, citations, student=True)
    prose = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert "Solution" not in prose and "Done." not in prose and "**Exercise 3.1" in prose
    assert not [c for c in student.cells if "solved" in c.source]
