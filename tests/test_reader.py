"""The notebooks the launch buttons open read as the pages do (tools/reader.py): every
number written in, no raw MyST, the build's outputs kept, on the branch the buttons name."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import nbformat
import pytest
import yaml
from support.runs import ROOT, module_at

CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.py"))
RAW = re.compile(r"\{[a-z:-]+\}`|`{3,}\{|:{3,}\{")  # a role, or a directive's fence
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+")
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # the commit a Pages build passes


def _page_text(path) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())).split())


@pytest.fixture(scope="module")
def branch(built_book, tmp_path_factory):
    """What the Pages workflow pushes to the launch buttons' branch, from the stand-in book."""
    out = tmp_path_factory.mktemp("reader")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "reader.py"),
            "--cache",
            str(built_book[0] / "_build" / ".jupyter_cache"),
            "--out",
            str(out),
            "--commit",
            COMMIT,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_a_chapter_opened_outside_the_build_reads_as_its_page(built_book, branch, name):
    """No raw glue role or exercise fence (nor any other role or directive) in its prose;
    each number its prose cites is one the page shows; exercises and solutions numbered
    as plain Markdown; the build's outputs (a figure among them) kept; a first cell that
    says the build used stand-ins."""
    notebook = nbformat.read(branch / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    prose = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    raw = [text for text in prose if RAW.search(text)]
    assert not raw, raw[0][:300]
    page = _page_text(built_book[0] / "_build" / "html" / "notebooks" / f"{name}.html")
    shown = set(NUMBER.findall(page))
    cited = {n for text in prose[1:] for n in NUMBER.findall(text)}  # the note aside
    assert cited - shown == set(), sorted(cited - shown)[:10]
    exercises = re.findall(r"^\*\*Exercise (\d+\.\d+) \(", "\n".join(prose), re.MULTILINE)
    solved = re.findall(r"^\*\*Solution to exercise (\d+\.\d+)\.", "\n".join(prose), re.M)
    # numbered as the page numbers them
    on_page = list(dict.fromkeys(re.findall(r"Exercise \d+\.\d+", page)))  # each once, in order
    assert [f"Exercise {n}" for n in exercises] == on_page
    assert len(exercises) >= 2 and solved == exercises, (exercises, solved)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), name
    figures = [o.get("metadata", {}).get("image/svg+xml") for o in outputs]
    assert any(figures) and not [f for f in figures if f and "phone" in f]  # the site's alone
    assert not [o for o in outputs if o.get("name") == "stderr"]
    assert "Stand-in build" in prose[0] and "REPLAY = None" in prose[0]


@pytest.mark.slow
def test_the_branch_holds_what_binder_installs_and_the_buttons_open_it(built_book, branch):
    """Binder builds from the branch's ``binder/``: the package at the release the cells
    install; the launch buttons of every chapter page name that branch and the chapter."""
    sync = module_at(ROOT / "tools" / "sync_docs.py")
    tag = f"@{sync.release_tag()}"
    pinned = sync.install_requirement().replace(tag, f"@{COMMIT}")
    wanted = [line for line in (branch / "binder" / "requirements.txt").read_text().splitlines()]
    assert pinned in wanted  # the package alone (no compute extra), at the built commit
    for chapter in CHAPTERS:  # the install cells too: the code that made the tables
        cells = nbformat.read(branch / "notebooks" / f"{chapter}.ipynb", as_version=4).cells
        setup = next(c.source for c in cells if "REPLAY = " in c.source and c.cell_type == "code")
        assert f'cvsp @ git+{sync.repository_url()}@{COMMIT}"' in setup and tag not in setup
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    name = config["repository"]["branch"]
    repository = config["repository"]["url"].removeprefix("https://github.com/")
    for chapter in CHAPTERS:
        page = (built_book[0] / "_build" / "html" / "notebooks" / f"{chapter}.html").read_text()
        colab = (
            f"colab.research.google.com/github/{repository}/blob/{name}/notebooks/{chapter}.ipynb"
        )
        assert colab in page, chapter
        assert f"mybinder.org/v2/gh/{repository}/{name}?urlpath=" in page, chapter
        assert (branch / "notebooks" / f"{chapter}.ipynb").is_file()
