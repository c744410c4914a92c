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
OTHER_CHAPTERS = ["05_reproducing_the_reproduction"]


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


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.mark.slow
def test_strict_build_with_stand_ins(tmp_path, reference_run):
    cache = reference_run[0] / "cache"  # the embeddings of the end-to-end run: none recomputed
    env = dict(os.environ, CVSP_MODELS="stand-in", CVSP_CACHE_DIR=str(cache), MPLBACKEND="Agg")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT),
         "--path-output", str(tmp_path),
         "-W", "-n", "--keep-going"],
        env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    html = tmp_path / "_build" / "html"
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
    for page in RESULT_PAGES:
        text = (html / "notebooks" / f"{page}.html").read_text()
        assert re.search(r'<img[^>]+src="\.\./_images/[^"]+\.png"', text), f"no figure on {page}"
        assert "Comparison with the paper" in text
