"""The book: notebook pairs in sync and without outputs, and a strict build with stand-ins."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml
from support.runs import build_book, module_at, toc_files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESULT_PAGES = ["01_cwe_anisotropy", "02_word_similarity", "03_sts", "04_sentence_self_similarity"]
OTHER_CHAPTERS = [
    "05_reproducing_the_reproduction",
    "06_geometry",
    "07_images_or_contrast",
    "08_beyond_one_clip",
]


def _cells(notebook) -> list[tuple]:
    return [
        (
            cell.cell_type,
            cell.source.strip(),
            cell.metadata.get("tags", []),
            cell.metadata.get("mystnb"),
        )
        for cell in notebook.cells
    ]


def _figure_cells() -> dict[str, dict]:
    """``name -> mystnb metadata`` of every figure cell of the chapters and the book's pages."""
    pages = [*NOTEBOOKS, *(p for p in (ROOT / "book").glob("*.md") if "code-cell" in p.read_text())]
    found = {}
    for page in pages:
        for cell in jupytext.read(page).cells:
            mystnb = cell.metadata.get("mystnb") or {}
            if "figure" in mystnb:
                found[mystnb["figure"]["name"]] = mystnb
    return found


def test_every_figure_is_described_beside_its_caption():
    """A screen reader reads a figure's alt text, not its caption: each says what the
    image shows (its kind, axes and marks) in words of its own."""
    figures = _figure_cells()
    assert len(figures) >= 19 and "fig-claims" in figures, sorted(figures)
    for name, mystnb in figures.items():
        alt = mystnb.get("image", {}).get("alt", "")
        caption = mystnb["figure"]["caption"]
        assert len(alt.split()) >= 15, (name, alt)
        assert alt.strip() != caption.strip() and alt[:60] not in caption, name


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


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem in RESULT_PAGES], ids=lambda p: p.stem
)
def test_skeleton(path):
    text = "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[:9] == [
        "Overview",
        "The paper's claim",
        "Method",
        "Our run",
        "Figure",
        "Comparison with the paper",
        "What differs and why",
        "Exercises",
        "Summary",
    ]
    assert "{exercise}" in text and ("{solution}" in text or "{solution-start}" in text)
    code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert "remove-cell" in code[0].metadata.get("tags", [])  # installs the package in Colab
    assert not any("def " in c.source or "sys.path" in c.source for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_the_same_header(path):
    """Objectives, prerequisites (necessary and helpful), time to read and run, downloads."""
    cells = [c for c in jupytext.read(path).cells if c.cell_type == "markdown"]
    header = cells[0].source  # the first markdown cell, before any code
    assert (
        header.index("## Overview")
        < header.index("**Objectives.**")
        < header.index("**Prerequisites.**")
    )
    prerequisites = header.split("**Prerequisites.**")[1].split("**Time.**")[0]
    assert "Necessary:" in prerequisites and "Helpful:" in prerequisites
    time = header.split("**Time.**")[1].split("**Downloads.**")[0]
    assert (
        "Reading: about" in time
        and "minutes" in time
        and "Replayed" in time
        and "Computed:" in time
        and "GPU" in time
    )
    assert "**Downloads.**" in header
    objectives = header.split("**Objectives.**")[1].split("**Prerequisites.**")[0]
    assert objectives.count("\n- ") >= 2  # a list of at least two objectives


# A MyST directive of the exercises, from its opening fence to the closing fence of the
# same length: exercise (label in the body), solution (static), solution-start, -end.
_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|solution|solution-start|solution-end)\}[ \t]*(?P<arg>\S*)"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def _exercise_events(path: Path) -> list[tuple[str, str, str]]:
    """The chapter's exercises, solutions and code cells in order: ``(kind, label, text)``
    with kind ``exercise``, ``solution`` (static), ``start``, ``end``, ``code`` or
    ``heading``; ``text`` is a static solution's body or a code cell's source."""
    events = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code":
            events.append(("code", "", cell.source))
            continue
        text = cell.source
        found = [(m.start(), m) for m in _DIRECTIVE.finditer(text)]
        covered = [(m.start(), m.end()) for _, m in found]
        for heading in re.finditer(r"^#{1,6} .+$", text, re.MULTILINE):
            if not any(a <= heading.start() < b for a, b in covered):
                found.append((heading.start(), heading))
        for _, m in sorted(found, key=lambda item: item[0]):
            if m.re is not _DIRECTIVE:
                events.append(("heading", m.group(0), ""))
            elif m["name"] == "exercise":
                label = re.search(r"^:label:\s*(\S+)", m["body"], re.MULTILINE)
                events.append(("exercise", label[1] if label else "", m["body"]))
            else:
                kind = {"solution": "solution", "solution-start": "start", "solution-end": "end"}[
                    m["name"]
                ]
                events.append((kind, m["arg"], m["body"]))
    return events


def test_exercise_events_are_read():
    """The parser itself, on the first chapter: the structure the tests below rely on."""
    events = _exercise_events(NOTEBOOKS[0])
    kinds = [kind for kind, _, _ in events]
    assert kinds.count("exercise") == 3 and kinds.count("start") == kinds.count("end") == 2
    assert ("solution", "ex-cwe-layer0") in [(k, label) for k, label, _ in events]
    assert ("heading", "## Exercises", "") in events


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_gated_solutions_are_well_formed(path):
    """Every ``solution-start`` names an exercise of the chapter that comes before it and
    is closed by a ``solution-end`` before the next start, with no heading in between
    (sphinx-exercise merges only siblings of one section) and code cells inside: a
    gated solution is there so that its code runs. Every exercise has one solution."""
    events = _exercise_events(path)
    exercises, solved, inside = [], [], None
    for kind, label, _ in events:
        if kind == "exercise":
            assert label and label not in exercises, f"exercise without a unique label: {label!r}"
            assert inside is None, f"exercise {label} inside the solution to {inside[0]}"
            exercises.append(label)
        elif kind in ("solution", "start"):
            assert inside is None, (
                f"the solution to {label} starts inside the solution to {inside[0]}"
            )
            assert label in exercises, f"the solution to {label!r} names no exercise before it"
            solved.append(label)
            if kind == "start":
                inside = (label, [])
        elif kind == "end":
            assert inside is not None, "a solution-end without a solution-start"
            assert "code" in inside[1], f"the gated solution to {inside[0]} has no code cell"
            inside = None
        elif inside is not None:
            assert kind != "heading", (
                f"the heading {label!r} splits the gated solution to {inside[0]}"
            )
            inside[1].append(kind)
    assert inside is None, f"the solution to {inside[0]} has no solution-end"
    assert sorted(solved) == sorted(exercises), "every exercise needs exactly one solution"


def test_there_are_gated_solutions():
    gated = [
        label for path in NOTEBOOKS for kind, label, _ in _exercise_events(path) if kind == "start"
    ]
    assert len(gated) >= 10, gated


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_static_solution_holds_code(path):
    """Solution code lives in gated code cells, where the build runs it, never in a
    fenced block of a ``{solution}`` directive, where it would never run."""
    for kind, label, body in _exercise_events(path):
        if kind == "solution":
            fences = re.findall(
                r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{?(python|ipython3?|py|code-cell|code-block|code)\b",
                body,
                re.MULTILINE,
            )
            assert not fences, f"the solution to {label} holds code ({fences}): gate it"


_EDITION_PAGE = """# A page

```{exercise}
:label: ex-test
Print the answer.
```

```{solution-start} ex-test
:class: dropdown
```

The first line of the solution's prose.

```python
print("the solution's distinctive code")
```

```{solution-end}
```

After the solution.
"""


@pytest.mark.parametrize("hide", [False, True], ids=["full", "student"])
def test_student_edition_extension_removes_gated_solutions_whole(tmp_path, hide):
    """``hide_solutions`` alone leaves the content of a gated solution on the page; the
    ``edition`` extension that ``tools/edition.py`` adds removes it, prose and code."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        f"extensions = ['myst_parser', 'sphinx_exercise', 'edition']\nhide_solutions = {hide}\n"
    )
    (source / "index.md").write_text(_EDITION_PAGE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "-q",
            str(source),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / "html" / "index.html").read_text()
    assert "Print the answer." in page and "After the solution." in page
    for text in ("distinctive code", "The first line of the solution", 'class="solution'):
        assert (text in page) is not hide, text
    assert (tmp_path / "html" / "_sources").is_dir() is not hide  # no copy of the sources


def test_student_configuration_loads_the_extension(tmp_path):
    """``tools/edition.py student`` writes the configuration that ``make book
    EDITION=student`` builds with: solutions hidden, the ``edition`` extension loaded."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "edition.py"), "student", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    config = yaml.safe_load(done.stdout)
    assert config["sphinx"]["config"]["hide_solutions"] is True
    extensions = config["sphinx"]["local_extensions"]
    assert (
        extensions["edition"] == str(ROOT / "tools") and (ROOT / "tools" / "edition.py").is_file()
    )
    assert extensions["cvsp_book"] == str(ROOT / "book" / "_ext")  # the book's own, kept
    assert config["execute"]["cache"] == str(tmp_path.resolve())
    assert "student edition" in config["title"]
    launch = config["launch_buttons"]  # no button opens the repository's notebooks
    assert not launch["colab_url"] and not launch["binderhub_url"] and not launch["jupyterhub_url"]


def test_chapters_link_glossary_terms():
    """Every glossary term is linked from some chapter, and every link names a glossary term."""
    glossary = (ROOT / "book" / "glossary.md").read_text()
    block = glossary.split("```{glossary}")[1].split("```")[0]
    terms = {line.strip() for line in block.splitlines() if line and not line.startswith(" ")}
    text = "\n".join(p.with_suffix(".py").read_text() for p in NOTEBOOKS)
    text += "\n".join(
        p.read_text() for p in (ROOT / "book").glob("*.md") if p.name != "glossary.md"
    )
    linked = {m.split("<")[-1].rstrip(">").strip() for m in re.findall(r"\{term\}`([^`]+)`", text)}
    assert linked <= terms, linked - terms
    assert terms - linked <= {"contextualized word embedding"}, terms - linked  # CWE's long form


def _gated_code(path: Path) -> dict[str, list[str]]:
    """The source of each gated solution's code cells, by exercise label."""
    code, inside = {}, None
    for kind, label, text in _exercise_events(path):
        if kind == "start":
            inside = code.setdefault(label, [])
        elif kind == "end":
            inside = None
        elif kind == "code" and inside is not None:
            inside.append(text)
    return code


def _needles() -> dict[tuple[str, str], str]:
    """A distinctive piece of each gated solution's code, by ``(chapter, label)``: the
    longest stretch of its code lines, without quotes, backslashes or HTML's special
    characters (so that it reads the same in a page's text and in a raw file), that
    appears nowhere else in the chapters: not in another cell, not in another solution."""

    def flat(text: str) -> str:
        return " ".join(text.split())

    everything = "\n".join(
        flat(cell.source) for page in NOTEBOOKS for cell in jupytext.read(page).cells
    )
    needles = {}
    for page in NOTEBOOKS:
        for label, sources in _gated_code(page).items():
            own = "\n".join(flat(source) for source in sources)
            lines = [
                line
                for source in sources
                for line in source.splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "import ", "from "))
            ]
            pieces = {flat(piece) for line in lines for piece in re.split(r"[\"'\\<>&#]", line)}
            unique = [piece for piece in pieces if everything.count(piece) == own.count(piece)]
            needles[(page.stem, label)] = max(unique, key=len, default="")
    return needles


def _text(page: str) -> str:
    """A page's text: tags (the syntax highlighting's too) stripped, entities read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_needles_are_distinctive():
    needles = _needles()
    assert len(needles) >= 10
    assert all(len(needle) >= 25 for needle in needles.values()), needles


@pytest.mark.slow
def test_student_notebooks_have_every_cell_but_the_solutions(built_book, tmp_path):
    """``tools/edition.py student --cache ... --notebooks``: each chapter as a reader opens
    it (tools/reader.py), without a static or gated solution (prose, code or output), with
    every exercise and every other code cell, in order, and the build's outputs."""
    import nbformat

    cache = built_book[0] / "_build" / ".jupyter_cache"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "edition.py"),
            "student",
            "--cache",
            str(cache),
            "--notebooks",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Wrote {len(NOTEBOOKS)} notebooks" in done.stderr
    needles = _needles()
    for path in NOTEBOOKS:
        student = nbformat.read(tmp_path / path.name, as_version=4)
        nbformat.validate(student)
        events = _exercise_events(path)
        prose = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
        exercises = [label for kind, label, _ in events if kind == "exercise"]
        shown = re.findall(r"^\*\*Exercise \d+\.(\d+)", prose, re.MULTILINE)
        assert shown == [str(n + 1) for n in range(len(exercises))], path.stem
        assert "Solution to exercise" not in prose and "{solution" not in prose, path.stem
        gated = [code for sources in _gated_code(path).values() for code in sources]
        others = [text for kind, _, text in events if kind == "code" and text not in gated]
        assert [c.source for c in student.cells if c.cell_type == "code"] == others, path.stem
        text = " ".join(json.dumps(student).split())
        for kind, label, body in events:
            if kind == "solution":  # a static solution's words
                assert " ".join(body.split()[-12:]) not in prose, (path.stem, label)
        for (page, label), needle in needles.items():
            assert page != path.stem or needle not in _text(text), (page, label)
        assert any(c.get("outputs") for c in student.cells if c.cell_type == "code"), path.stem
        assert "Student edition" in prose


@pytest.mark.slow
def test_student_edition_has_no_solutions(built_book, tmp_path):
    """``make book EDITION=student``: the same pages from the same executed notebooks,
    without a single solution, neither the text of a static one nor the code or output of
    a gated one, anywhere in the edition's files. In the full edition every gated
    solution shows its code and its output inside its dropdown."""
    from bs4 import BeautifulSoup

    full, env = built_book
    config = tmp_path / "_config.student.yml"
    edition = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "edition.py"),
            "student",
            "--cache",
            str(full / "_build" / ".jupyter_cache"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    config.write_text(edition.stdout)
    build_book(env, tmp_path / "student", "--config", str(config))
    student = tmp_path / "student" / "_build" / "html" / "notebooks"
    needles = _needles()
    for page in RESULT_PAGES + OTHER_CHAPTERS:
        with_solutions = (full / "_build" / "html" / "notebooks" / f"{page}.html").read_text()
        without = (student / f"{page}.html").read_text()
        assert 'class="solution' in with_solutions, page  # the full edition has them
        assert 'class="solution' not in without and "Solution to" not in without, page
        assert 'class="exercise' in without, page  # the exercises stay
        assert "student edition" in without
        assert "colab.research.google.com" in with_solutions, (
            page
        )  # launch buttons: full edition only
        assert "colab.research.google.com" not in without and "mybinder.org" not in without, page
        gated = _gated_code(ROOT / "notebooks" / f"{page}.ipynb")
        dropdowns = [
            div
            for div in BeautifulSoup(with_solutions, "html.parser").select("div.solution")
            if div.select("div.cell")
        ]
        assert len(dropdowns) == len(gated), page
        for div, label in zip(dropdowns, gated):
            assert "dropdown" in div["class"], (page, label)
            assert div.select("div.cell_output"), f"the solution to {label} shows no output"
            assert needles[(page, label)] in _text(str(div)), (page, label)
            assert "Traceback" not in div.get_text(), (page, label)
    needles = {needle: label for (_, label), needle in needles.items()}
    for path in (tmp_path / "student" / "_build" / "html").rglob("*"):
        if path.is_file() and path.suffix not in (
            ".png",
            ".jpg",
            ".svg",
            ".woff",
            ".woff2",
            ".ttf",
            ".ico",
        ):
            content = path.read_text(errors="ignore")
            text = _text(content) if path.suffix == ".html" else " ".join(content.split())
            leaked = [label for needle, label in needles.items() if needle in text]
            assert not leaked, f"the code of the solution(s) to {leaked} is in {path}"


@pytest.mark.slow
def test_strict_build_with_stand_ins(built_book):
    html = built_book[0] / "_build" / "html"
    assert not (html / "reports").exists(), "a notebook failed to execute"
    for page in toc_files():
        path = html / f"{page}.html"
        assert path.is_file(), page
        text = path.read_text()
        assert "cvsp-stand-in" in text and "random weights" in text, (
            f"no stand-in warning on {page}"
        )
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
    assert re.search(r'<img[^>]+src="\.\./_images/[^"]+\.svg"', results), (
        "no summary figure on Results at a glance"
    )
    assert "✓" in results or "✗" in results
    css = html / "_static" / "cvsp.css"
    assert css.is_file() and "overflow-x: auto" in css.read_text() and "cvsp.css" in results
    for page in RESULT_PAGES:
        text = (html / "notebooks" / f"{page}.html").read_text()
        assert re.search(r'<img[^>]+src="\.\./_images/[^"]+\.svg"', text), (
            f"no SVG figure on {page}"
        )
        assert "Comparison with the paper" in text


@pytest.mark.slow
def test_benchmark_reads_each_pages_execution_time_and_edits_only_prose(built_book, tmp_path):
    """The benchmark's book figures (``benchmarks/run.py``): every executed page's time from
    the build's execution cache, and a prose edit that leaves the code (the cache's key) alone."""
    bench = module_at(ROOT / "benchmarks" / "run.py")
    table = bench.execution_table(built_book[0] / "_build")
    executed = [
        page.rsplit("/", 1)[-1]
        for page in toc_files()
        if (ROOT / page).with_suffix(".ipynb").exists()
        or "```{code-cell}" in (ROOT / page).with_suffix(".md").read_text()
    ]
    assert sorted(table) == sorted(executed)
    assert all(seconds > 0 for seconds in table.values())
    copy = tmp_path / "chapter.ipynb"
    copy.write_text((ROOT / bench.PROSE_EDIT[0]).read_text())
    bench._edit_prose(copy, bench.PROSE_EDIT[1])
    before, after = jupytext.read(ROOT / bench.PROSE_EDIT[0]), jupytext.read(copy)
    code = [[c.source for c in nb.cells if c.cell_type == "code"] for nb in (before, after)]
    assert code[0] == code[1]
    prose = [[c.source for c in nb.cells if c.cell_type == "markdown"] for nb in (before, after)]
    assert prose[0][:-1] == prose[1][:-1] and prose[1][-1] == prose[0][-1] + bench.PROSE_EDIT[1]


def test_prose_holds_no_control_characters():
    """A TeX command written in a Python string without ``r`` loses its backslash to an
    escape (``\\times`` became a tab, ``\\bar`` a backspace, ``\\rVert`` and ``\\rho`` a line
    break in the methods page and chapter 2): no page or chapter may hold such a
    character, read byte for byte (a notebook's cells as jupytext reads them)."""
    pages = [*(ROOT / "book").glob("*.md"), *(ROOT / "notebooks").glob("*.py")]
    texts = {}
    for page in pages:
        with open(page, encoding="utf-8", newline="") as file:  # a CR kept as it is
            texts[page.name] = file.read()
    for notebook in NOTEBOOKS:
        texts[notebook.name] = "\n".join(cell.source for cell in jupytext.read(notebook).cells)
    for name, text in texts.items():
        found = sorted({repr(c) for c in text if ord(c) < 32 and c not in "\n"})
        assert not found, (name, found)
        for line, after in zip(
            text.splitlines(), text.splitlines()[1:]
        ):  # a "\\r" read as a line break
            opened = line.rstrip().endswith("$") and line.count("$") % 2 == 1
            assert not (opened and re.match(r"^[#\s]*(ho|Vert|ight|angle)\b", after)), (
                name,
                line,
                after,
            )
    assert "\\rVert" in texts["methods.md"] and "Spearman's $\\rho$)" in texts["methods.md"]


def test_the_site_carries_the_replay_bundle_of_the_tables_its_pages_read(built_book, tmp_path):
    """The build's ``replay/``: the tables the pages read from the cache (scores, intervals
    and paired differences of every model set, the extra seeds' curves; never embeddings),
    byte for byte, each listed in the manifest with its sha256, within 300 MB, and read
    back through the replay store."""
    from importlib import metadata

    from cvsp.cache import BUNDLED, MANIFEST, DiskStore
    from cvsp.replay import ReplayStore
    from cvsp.storage import package_digest

    output, env = built_book
    bundle = output / "_build" / "html" / "replay"
    manifest = json.loads((bundle / MANIFEST).read_text())
    files = manifest["files"]
    assert files and {Path(name).parts[0] for name in files} <= set(BUNDLED)
    assert sum(entry["size"] for entry in files.values()) <= 300e6
    assert manifest["build"]["models"] == "stand-in"
    assert manifest["package"] == {
        "version": metadata.version("cvsp"),
        "digest": package_digest(),
        "commit": manifest["package"]["commit"],
    }
    cache = Path(env["CVSP_CACHE_DIR"])
    for name in files:
        assert (bundle / name).read_bytes() == (cache / name).read_bytes(), name
    tables: dict[str, list[str]] = {}
    for name in files:
        if name.startswith("intervals/"):
            _, key, table = name.split("/")
            tables.setdefault(key, []).append(table.removesuffix(".csv"))
    assert {key.split("-")[0] for key in tables if "-" in key} == {"scores", "contrasts", "beyond"}
    assert any("-" not in key for key in tables)  # the paper's pair's intervals
    store = ReplayStore.open(str(bundle), DiskStore(tmp_path), metadata.version("cvsp"))
    for key, names in tables.items():
        assert all(len(table) for table in store.get_tables("intervals", key, names)), key
