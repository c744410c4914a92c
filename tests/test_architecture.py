"""The house plan holds: the ground floor imports no model library, no module imports
another in a circle, imports inside functions say why, modules stay small, the plan in
ARCHITECTURE.md and CONTRIBUTING.md's layout name every module, and cached intervals follow the code."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from support.runs import ROOT

from cvsp import cache, experiments, intervals, storage
from cvsp.cached import LayerEmbeddings
from cvsp.settings import Settings
from cvsp.stats import BootstrapSettings
from cvsp.tokens import layers_for

PACKAGE = ROOT / "src" / "cvsp"
# Modules a user reaches without running a model (everything downstream of the forward
# passes, too): none may import torch or transformers.
LIGHT = (
    "cvsp.cli",
    "cvsp.settings",
    "cvsp.paper",
    "cvsp.registry",
    "cvsp.stamp",
    "cvsp.hub",
    "cvsp.plots",
    "cvsp.storage",
    "cvsp.cache",
    "cvsp.cached",
    "cvsp.replay",
    "cvsp.tokens",
    "cvsp.experiments",
    "cvsp.intervals",
    "cvsp.released",
    "cvsp.fidelity",
    "cvsp.reproduce",  # torch when a model runs: replayed, a chapter runs none
    "cvsp.notebook",
    "cvsp.data",
    "cvsp.metrics",
    "cvsp.stats",
    "cvsp.geometry",
)
MAX_LINES = 400  # as ruff format writes them (make lint checks the format)
MAX_FUNCTION_LINES = 60
LONGER_FUNCTIONS = {"cli.py:build_parser": "the argparse setup: one option after another"}


def _modules() -> dict[str, Path]:
    """``cvsp.x`` -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, name: str) -> set[str]:
    """The cvsp modules ``name`` imports, at its top or inside a function (a circle broken
    by an import inside a function is still a circle); imports for type checking only
    are left out."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cvsp")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            if base.startswith("cvsp"):
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}  # "from cvsp import data"
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = {t for t in _imports(path, name) if t in modules and t != name}
        # importing cvsp.a.b runs cvsp.a first (unless the importer is inside cvsp.a)
        parents = {t.rpartition(".")[0] for t in targets if t.count(".") > 1}
        targets |= {p for p in parents if p in modules and not name.startswith(p + ".")}
        graph[name] = targets - {name, "cvsp"}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_planted_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def floors() -> dict[str, int]:
    """``cvsp.x`` -> its floor's rank in ARCHITECTURE.md's table (ground = 0), and every
    module that table marks as importing no torch."""
    ranks: dict[str, int] = {}
    floor_of: dict[str, int] = {}
    table = (ROOT / "ARCHITECTURE.md").read_text().split("## The floors", 1)[1].split("\n\n")[1]
    for row in table.splitlines()[2:]:
        floor, module = (cell.strip().strip("`") for cell in row.strip("|").split("|")[:2])
        floor_of[f"cvsp.{module}"] = ranks.setdefault(floor, len(ranks))
    return floor_of


def test_imports_go_to_the_same_floor_or_below():
    floor_of = floors()
    modules = [m for m in _modules() if m not in ("cvsp", "cvsp.__main__")]
    home = {
        m: floor_of.get(m, floor_of.get(m.rpartition(".")[0] if m.count(".") > 1 else m))
        for m in modules
    }
    assert None not in home.values(), [m for m, f in home.items() if f is None]
    graph = import_graph()
    upward = [f"{m} -> {t}" for m in modules for t in graph[m] if t in home and home[t] > home[m]]
    assert not upward, "imports to a higher floor of ARCHITECTURE.md: " + ", ".join(upward)
    assert floor_of["cvsp.registry"] == 0 and floor_of["cvsp.cli"] == max(floor_of.values())


def test_no_module_of_the_package_imports_another_in_a_circle():
    graph = import_graph()
    assert graph["cvsp.settings"] == {
        "cvsp.registry"
    }  # the old circle ran settings -> models -> settings
    assert "cvsp.experiments.bootstrap" in graph["cvsp.experiments"]
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"


def test_the_light_modules_import_no_model_library():
    code = textwrap.dedent(f"""
        import sys
        for name in {LIGHT!r}:
            __import__(name)
        heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
        print(",".join(heavy))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"imported by {LIGHT}: {done.stdout.strip()}"


def test_cvsp_help_and_models_answer_without_torch():
    for command in (["--help"], ["models"]):
        code = (
            "import sys\nfrom cvsp.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, *command], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.strip().splitlines()
        assert lines[-1] == "False", f"cvsp {command[0]} imported torch"
        assert (
            ("CVSP_MODELS" in done.stdout)
            if command == ["--help"]
            else ("simcse_sup" in done.stdout)
        )


def _reason(line: str) -> bool:
    """Whether a line carries a comment that is more than a tool's directive."""
    comment = line.partition("#")[2].strip()
    return bool(comment) and not comment.startswith(("noqa", "fmt:", "type:", "pragma"))


def test_imports_inside_functions_say_why():
    unexplained = []
    for path in _modules().values():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    here = lines[inner.lineno - 1]
                    first = inner.lineno - 1  # a run of imports may share the comment above it
                    while lines[first - 1].strip().startswith(("from ", "import ")):
                        first -= 1
                    if not _reason(here) and not lines[first - 1].strip().startswith("#"):
                        unexplained.append(
                            f"{path.relative_to(ROOT)}:{inner.lineno}: {here.strip()}"
                        )
    assert not unexplained, "imports inside functions without a reason beside them:\n" + "\n".join(
        unexplained
    )


def test_modules_stay_small():
    long = {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    over = {name: n for name, n in long.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_functions_stay_short():
    """No function of the package over 60 lines as formatted (the argparse setup aside)."""
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long[name] = node.end_lineno - node.lineno + 1
    assert set(long) <= set(LONGER_FUNCTIONS), f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_module_says_what_it_holds_and_the_plan_names_it():
    plan = (ROOT / "ARCHITECTURE.md").read_text()
    layout = (ROOT / "CONTRIBUTING.md").read_text().split("## Layout", 1)[1].split("```")[1]
    layout = layout.split("tools/")[0]  # the package's lines only
    for name, path in _modules().items():
        if name in ("cvsp", "cvsp.__main__"):
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and len(docstring) > 80, f"{name} has no docstring saying what it holds"
        short = name.removeprefix("cvsp.")
        assert f"`{short}`" in plan, f"ARCHITECTURE.md does not name {short}"
        assert re.search(rf"\b{short.rpartition('.')[2]}\b", layout), (
            f"CONTRIBUTING.md's layout does not name {short}"
        )


# ------------------------------------------------------------- cache keys follow the code


class _Words:
    """An embedder of made-up vectors (8 wide, a fixed function of the text), counting its calls."""

    def __init__(self, key: str):
        self.family, self.seed = key, 0
        self.fingerprint, self.blocks = f"words:{key}", 12
        self.computed = 0

    def __call__(self, texts, variants):
        self.computed += 1
        out = {}
        for variant in variants:
            layers = layers_for(self.family, variant)
            seeds = [
                [zlib.crc32(f"{self.family}{variant}{t}".encode()), i]
                for t in texts
                for i in range(len(layers))
            ]
            values = np.array([np.random.default_rng(s).normal(size=8) for s in seeds], np.float32)
            out[variant] = LayerEmbeddings(values.reshape(len(texts), len(layers), 8), layers)
        return out


def test_a_change_to_any_module_recomputes_the_cached_intervals(tmp_path, monkeypatch):
    """The intervals are cached under a key that includes the digest of the whole package:
    a change to metrics (unit vectors, cosines) recomputes them, as a change to the
    bootstrap code would; an unchanged package reads them back. The package is a copy whose
    digest the key reads (``tests/test_stamp.py`` checks that the digest is the installed
    package's by default and follows every module); in this process, not in new ones,
    which cost 4 s each to import torch."""
    copy = tmp_path / "cvsp"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "package_digest", lambda: storage.package_digest(copy))
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(40)]
    pairs = {
        task: pd.DataFrame(
            {"word1": vocabulary[:20], "word2": vocabulary[20:], "score": rng.random(20)}
        )
        for task in ("rg65", "simlex999")
    }
    lexicon = pd.DataFrame({"word": vocabulary[:30], "valence": rng.random(30)})
    words = experiments.WordData(pairs, lexicon, tuple(vocabulary[30:35]), tuple(vocabulary[35:]))
    sentences = [f"s {i} a" for i in range(30)]
    sts = pd.DataFrame(
        {"score": rng.random(15), "sentence1": sentences[:15], "sentence2": sentences[15:]}
    )
    data = experiments.SentenceData(sts, sentences, 0, 0)
    embedders = {"gpt2": _Words("gpt2"), "clip": _Words("clip")}
    settings = Settings(models="stand-in", cache_dir=tmp_path / "cache")

    def run() -> tuple[int, set[str]]:
        """(embedder calls, cache folders) of one computation of the intervals."""
        before = sum(e.computed for e in embedders.values())
        intervals.uncertainty(settings, embedders, words, data, BootstrapSettings(replicates=100))
        folders = {p.name for p in (tmp_path / "cache" / "intervals").iterdir()}
        return sum(e.computed for e in embedders.values()) - before, folders

    calls, first = run()
    assert calls > 0 and len(first) == 1
    calls, again = run()
    assert calls == 0 and again == first, (
        "an unchanged package must read its intervals from the cache"
    )
    metrics = copy / "metrics.py"
    metrics.write_text(
        metrics.read_text() + "\n\nCHANGED = True  # any edit, here a harmless one\n"
    )
    calls, after = run()
    assert calls > 0 and len(after) == 2 and first < after, (
        "a change to metrics must compute the intervals anew"
    )
