"""The book: notebook pairs in sync and without outputs, and a strict build with stand-ins."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESULT_PAGES = ["01_cwe_anisotropy", "02_word_similarity", "03_sts", "04_sentence_self_similarity"]
OTHER_CHAPTERS = ["05_reproducing_the_reproduction", "06_geometry"]


def _cells(notebook) -> list[tuple]:
    return [
        (cell.cell_type, cell.source.strip(), cell.metadata.get("tags", []), cell.metadata.get("mystnb"))
        for cell in notebook.cells
    ]


def test_every_result_has_a_notebook_pair():
    assert [p.stem for p in NOTEBOOKS] == RESULT_PAGES + OTHER_CHAPTERS
    for notebook in NOTEBOOKS:
        assert notebook.with_suffix(".py").is_file(), notebook.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync(path):
    assert _cells(jupytext.read(path)) == _cells(jupytext.read(path.with_suffix(".py")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem in RESULT_PAGES], ids=lambda p: p.stem)
def test_skeleton(path):
    text = "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[:9] == [
        "Overview", "The paper's claim", "Method", "Our run", "Figure",
        "Comparison with the paper", "What differs and why", "Exercises", "Summary",
    ]  # fmt: skip
    assert "{exercise}" in text and "{solution}" in text
    code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert "remove-cell" in code[0].metadata.get("tags", [])  # installs the package in Colab
    assert not any("def " in c.source or "sys.path" in c.source for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_the_same_header(path):
    """Objectives, prerequisites (necessary and helpful), time to read and run, downloads."""
    cells = [c for c in jupytext.read(path).cells if c.cell_type == "markdown"]
    header = cells[0].source  # the first markdown cell, before any code
    assert header.index("## Overview") < header.index("**Objectives.**") < header.index("**Prerequisites.**")
    prerequisites = header.split("**Prerequisites.**")[1].split("**Time.**")[0]
    assert "Necessary:" in prerequisites and "Helpful:" in prerequisites
    time = header.split("**Time.**")[1].split("**Downloads.**")[0]
    assert "Reading: about" in time and "minutes" in time and "Running:" in time and "GPU" in time
    assert "**Downloads.**" in header
    objectives = header.split("**Objectives.**")[1].split("**Prerequisites.**")[0]
    assert objectives.count("\n- ") >= 2  # a list of at least two objectives


def test_chapters_link_glossary_terms():
    """Every glossary term is linked from some chapter, and every link names a glossary term."""
    glossary = (ROOT / "book" / "glossary.md").read_text()
    block = glossary.split("```{glossary}")[1].split("```")[0]
    terms = {line.strip() for line in block.splitlines() if line and not line.startswith(" ")}
    text = "\n".join(p.with_suffix(".py").read_text() for p in NOTEBOOKS)
    text += "\n".join(p.read_text() for p in (ROOT / "book").glob("*.md") if p.name != "glossary.md")
    linked = {m.split("<")[-1].rstrip(">").strip() for m in re.findall(r"\{term\}`([^`]+)`", text)}
    assert linked <= terms, linked - terms
    assert terms - linked <= {"contextualized word embedding"}, terms - linked  # CWE's long form


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def _build(env: dict, output: Path, *config: str) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), *config,
         "--path-output", str(output), "-W", "-n", "--keep-going"],
        env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory, reference_run):
    cache = reference_run[0] / "cache"  # the embeddings of the end-to-end run: none recomputed
    env = dict(os.environ, CVSP_MODELS="stand-in", CVSP_CACHE_DIR=str(cache), MPLBACKEND="Agg")
    output = tmp_path_factory.mktemp("book")
    _build(env, output)
    return output, env


@pytest.mark.slow
def test_student_edition_has_no_solutions(built_book, tmp_path):
    """``make book EDITION=student``: the same pages from the same executed notebooks,
    without a single solution."""
    full, env = built_book
    config = tmp_path / "_config.student.yml"
    edition = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "edition.py"), "student", "--cache", str(full / "_build" / ".jupyter_cache")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    config.write_text(edition.stdout)
    _build(env, tmp_path / "student", "--config", str(config))
    student = tmp_path / "student" / "_build" / "html" / "notebooks"
    for page in RESULT_PAGES + OTHER_CHAPTERS:
        with_solutions = (full / "_build" / "html" / "notebooks" / f"{page}.html").read_text()
        without = (student / f"{page}.html").read_text()
        assert 'class="solution' in with_solutions, page  # the full edition has them
        assert 'class="solution' not in without and "Solution to" not in without, page
        assert 'class="exercise' in without, page  # the exercises stay
        assert "student edition" in without


@pytest.mark.slow
def test_strict_build_with_stand_ins(built_book):
    html = built_book[0] / "_build" / "html"
    assert not (html / "reports").exists(), "a notebook failed to execute"
    for page in _toc_files():
        path = html / f"{page}.html"
        assert path.is_file(), page
        text = path.read_text()
        assert "cvsp-stand-in" in text and "random weights" in text, f"no stand-in warning on {page}"
        assert "Traceback" not in text, page
    status = (html / "book" / "status.html").read_text()
    for name in ("scores.csv", "comparison.csv", "provenance.json"):
        links = re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{re.escape(name)})"', status)
        assert links, f"the status page offers no {name}"
        downloaded = (html / "book" / links[0]).resolve()
        assert downloaded.is_file(), downloaded
        if name == "scores.csv":
            assert "stand-in (random)" in downloaded.read_text().splitlines()[1]
    assert "notebooks/03_sts" in status and "Run Time" in status  # the execution table
    assert "(none: random weights)" in status
    results = (html / "book" / "results.html").read_text()
    assert re.search(r'<img[^>]+src="\.\./_images/[^"]+\.svg"', results), "no summary figure on Results at a glance"
    assert "✓" in results or "✗" in results
    css = html / "_static" / "cvsp.css"
    assert css.is_file() and "overflow-x: auto" in css.read_text() and "cvsp.css" in results
    for page in RESULT_PAGES:
        text = (html / "notebooks" / f"{page}.html").read_text()
        assert re.search(r'<img[^>]+src="\.\./_images/[^"]+\.svg"', text), f"no SVG figure on {page}"
        assert "Comparison with the paper" in text
