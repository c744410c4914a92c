#!/usr/bin/env python3
"""A small mutation tester for cvsp: do the fast tests notice when the code is wrong?

For each module it makes *mutants*, copies of the source with one small change, writes
each in place of the module, runs the fast tests most related to it and counts the
mutant as ``killed`` (a test failed), ``survived`` (every test passed: a change the
tests do not see), ``timeout`` or ``error`` (pytest could not run the tests at all).

Operators (Python's ``ast``; each change is spliced into the original text, so the
rest of the file, its comments and line numbers stay as they are):

=========  ==============================================================
compare    ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``<`` ↔ ``>``, ``<=`` ↔ ``>=``,
           ``==`` ↔ ``!=``, ``is`` ↔ ``is not``, ``in`` ↔ ``not in``
arith      ``+`` ↔ ``-``, ``*`` ↔ ``/``, ``//`` → ``/``, ``**`` → ``*``
           (also in ``+=`` and the like; no ``+`` on strings, lists or tuples)
int        an integer constant ``n`` → ``n + 1``; ``True`` ↔ ``False``
boolop     ``and`` ↔ ``or``
negate     a condition (``if``, ``while``, ``x if c else y``, comprehension ``if``,
           ``assert``) → ``not (condition)``
unary      ``not x`` → ``x``, ``-x`` → ``x``
extreme    ``max`` ↔ ``min`` (names and attributes: ``np.nanmax`` ↔ ``np.nanmin``,
           ``argmax`` ↔ ``argmin``, ``maximum`` ↔ ``minimum``, ...)
=========  ==============================================================

Nothing is mutated inside type annotations or f-strings, nor on a line whose comment is
``# mutants: equivalent: <why>``: a line whose every change leaves every result, and
every promise to users, as it is (a progress bar's default; not a cache key's spelling,
which a user's cache depends on). The reason is required and each such line is listed in
the report, so the exclusion stays visible. Mutants are sampled
(at most ``--max-mutants`` per module, with a fixed seed) so that a run takes bounded time.

Safety: mutants are written only into a fresh copy of ``src/`` (a temporary folder put
first on the tests' ``PYTHONPATH``), never into the checkout, so an interrupted or killed
run leaves the repository as it was. The tests run with ``PYTHONDONTWRITEBYTECODE`` and
a private ``PYTHONPYCACHEPREFIX``, and in their own process group, stopped whole on a
time-out or an interruption.

Usage::

    python tools/mutants.py                                   # the default modules
    python tools/mutants.py --modules src/cvsp/metrics.py --max-mutants 15
    python tools/mutants.py --list --modules src/cvsp/stats.py

Standard library only; no network.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODULES = (
    "src/cvsp/metrics.py",
    "src/cvsp/embeddings.py",
    "src/cvsp/cached.py",
    "src/cvsp/tabled.py",
    "src/cvsp/facts.py",
    "src/cvsp/tokens.py",
    "src/cvsp/experiments/results.py",
    "src/cvsp/experiments/bootstrap.py",
    "src/cvsp/experiments/paired.py",
    "src/cvsp/paper.py",
    "src/cvsp/stats.py",
)
# module stem -> the fast tests most related to it, quickest first (pytest stops at the
# first failure, so most mutants are killed by the first files).
TESTS: dict[str, tuple[str, ...]] = {
    "metrics": (
        "test_metrics",
        "test_bad_metrics",
        "test_stats",
        "test_geometry",
        "test_word_level",
        "test_experiments",
    ),
    "stats": ("test_stats", "test_paired", "test_word_level", "test_experiments"),
    "embeddings": (
        "test_tokens",
        "test_token_rules",
        "test_bad_inputs",
        "test_word_level",
        "test_embeddings",
        "test_cache",
        "test_registry",
        "test_beyond",
    ),
    "tokens": (
        "test_tokens",
        "test_token_rules",
        "test_bad_inputs",
        "test_word_level",
        "test_embeddings",
        "test_registry",
        "test_beyond",
    ),  # test_beyond: SigLIP's fixed-length input and GPT-2 medium's 24 blocks
    "results": (
        "test_diagnostics",
        "test_bad_inputs",
        "test_word_level",
        "test_experiments",
        "test_registry",
    ),
    "cached": ("test_cache", "test_token_rules", "test_embeddings", "test_experiments"),
    "tabled": ("test_tabled", "test_notebook"),
    "facts": ("test_facts", "test_notebook", "test_replay"),
    "bootstrap": ("test_paired", "test_word_level", "test_experiments", "test_registry"),
    "paired": ("test_paired", "test_experiments", "test_beyond"),
    "paper": ("test_paper", "test_comparisons", "test_notebook", "test_stand_in_labels"),
}
PYTEST_OPTIONS = ("-x", "-q", "-m", "not slow", "-p", "no:cacheprovider")
DEFAULT_MAX = 60
DEFAULT_SEED = 0
COMPARE_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
ARITH_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
}
EXTREMES = {
    "max": "min",
    "min": "max",
    "nanmax": "nanmin",
    "nanmin": "nanmax",
    "amax": "amin",
    "amin": "amax",
    "argmax": "argmin",
    "argmin": "argmax",
    "nanargmax": "nanargmin",
    "nanargmin": "nanargmax",
    "maximum": "minimum",
    "minimum": "maximum",
    "fmax": "fmin",
    "fmin": "fmax",
}
EQUIVALENT = re.compile(
    r"^#\s*mutants:\s*equivalent:\s*(?P<why>\S.*)$"
)  # a comment: no mutant here changes a result
SYMBOLS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Pow: "**",
    ast.And: "and",
    ast.Or: "or",
}


# ------------------------------------------------------------------------ mutants


@dataclass(frozen=True)
class Mutant:
    """One change: bytes ``start:end`` of the module become ``replacement``."""

    path: Path  # the module, absolute
    number: int  # position among all mutants of the module (stable for a given source)
    line: int
    column: int  # 1-based, in characters
    operator: str
    change: str  # human-readable, e.g. "'<' -> '<='"
    start: int
    end: int
    replacement: str
    text: str  # the original source line, for reports

    @property
    def name(self) -> str:
        return f"{self.path.stem}#{self.number}"

    @property
    def where(self) -> str:
        return f"{relative(self.path)}:{self.line}:{self.column}"

    def apply(self, original: bytes) -> bytes:
        return original[: self.start] + self.replacement.encode() + original[self.end :]


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


class _Offsets:
    """Byte offsets of ``(line, column)`` positions (``ast`` columns count UTF-8 bytes)."""

    def __init__(self, source: bytes):
        self.starts = [0]
        for line in source.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.starts[node.lineno - 1] + node.col_offset,
            self.starts[node.end_lineno - 1] + node.end_col_offset,
        )


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes inside annotations and f-strings: never mutated."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            roots += [a.annotation for a in every if a.annotation is not None]
            if node.returns is not None:
                roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            roots.append(node)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _is_sequence_or_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return True
    return isinstance(node, (ast.JoinedStr, ast.List, ast.Tuple, ast.ListComp))


def _candidates(tree: ast.AST, source: bytes) -> Iterator[tuple[ast.AST, str, str, int, int, str]]:
    """``(node, operator, change, start, end, replacement)`` for every possible mutant."""
    offsets = _Offsets(source)
    skipped = _skipped_nodes(tree)

    def text(node: ast.AST) -> str:
        start, end = offsets.span(node)
        return source[start:end].decode()

    for node in ast.walk(tree):
        if id(node) in skipped or not hasattr(node, "lineno"):
            continue
        start, end = offsets.span(node)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for other in COMPARE_SWAPS.get(type(op), ()):
                    mutated = ast.Compare(
                        node.left, [*node.ops[:i], other(), *node.ops[i + 1 :]], node.comparators
                    )
                    change = f"'{SYMBOLS[type(op)]}' -> '{SYMBOLS[other]}'"
                    yield node, "compare", change, start, end, f"({ast.unparse(mutated)})"
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITH_SWAPS:
            if isinstance(node.op, ast.Add) and (
                _is_sequence_or_text(node.left) or _is_sequence_or_text(node.right)
            ):
                continue
            other = ARITH_SWAPS[type(node.op)]
            mutated = ast.BinOp(node.left, other(), node.right)
            change = f"'{SYMBOLS[type(node.op)]}' -> '{SYMBOLS[other]}'"
            yield node, "arith", change, start, end, f"({ast.unparse(mutated)})"
        elif isinstance(node, ast.AugAssign) and type(node.op) in ARITH_SWAPS:
            if isinstance(node.op, ast.Add) and _is_sequence_or_text(node.value):
                continue
            other = ARITH_SWAPS[type(node.op)]
            mutated = ast.AugAssign(node.target, other(), node.value)
            change = f"'{SYMBOLS[type(node.op)]}=' -> '{SYMBOLS[other]}='"
            yield node, "arith", change, start, end, ast.unparse(mutated)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, bool):
            value = node.value
            new = (not value) if isinstance(value, bool) else value + 1
            yield node, "int", f"{value!r} -> {new!r}", start, end, f"({new!r})"
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            mutated = ast.BoolOp(other(), node.values)
            change = f"'{SYMBOLS[type(node.op)]}' -> '{SYMBOLS[other]}'"
            yield node, "boolop", change, start, end, f"({ast.unparse(mutated)})"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            symbol = "not " if isinstance(node.op, ast.Not) else "-"
            yield (
                node,
                "unary",
                f"'{symbol.strip()}' removed",
                start,
                end,
                f"({text(node.operand)})",
            )
        elif isinstance(node, ast.Name) and node.id in EXTREMES and isinstance(node.ctx, ast.Load):
            yield (
                node,
                "extreme",
                f"{node.id} -> {EXTREMES[node.id]}",
                start,
                end,
                EXTREMES[node.id],
            )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in EXTREMES
            and isinstance(node.ctx, ast.Load)
        ):
            name_start = end - len(node.attr.encode())
            if source[name_start:end].decode() == node.attr:
                change = f".{node.attr} -> .{EXTREMES[node.attr]}"
                yield node, "extreme", change, name_start, end, EXTREMES[node.attr]
        # conditions: the test of if / while / assert / conditional expression, comprehension ifs
        tests: list[ast.AST] = []
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            tests.append(node.test)
        elif isinstance(node, ast.comprehension):
            tests += node.ifs
        for test in tests:
            if id(test) not in skipped:
                t_start, t_end = offsets.span(test)
                yield test, "negate", "condition negated", t_start, t_end, f"not ({text(test)})"


def equivalent_lines(path: Path) -> dict[int, str]:
    """Line number -> reason, for the lines whose comment is ``# mutants: equivalent: <why>``
    (comments only, as the tokenizer sees them: never text inside a string). A mark
    covers the mutants that start on its line."""
    with path.open("rb") as stream:
        comments = [t for t in tokenize.tokenize(stream.readline) if t.type == tokenize.COMMENT]
    return {
        t.start[0]: match["why"].strip() for t in comments if (match := EQUIVALENT.search(t.string))
    }


def mutants_of(path: Path) -> list[Mutant]:
    """Every valid mutant of a module, in the order of the source (none on a line marked
    equivalent)."""
    source = path.read_bytes()
    tree = ast.parse(source, filename=str(path))
    original = ast.dump(tree)
    marked = equivalent_lines(path)
    found: list[tuple] = []
    seen: set[bytes] = set()
    for node, operator, change, start, end, replacement in _candidates(tree, source):
        if node.lineno in marked:
            continue
        mutated = source[:start] + replacement.encode() + source[end:]
        try:
            if ast.dump(ast.parse(mutated)) == original or mutated in seen:
                continue  # no change at all (or a duplicate)
        except SyntaxError:
            continue  # never expected; skipped rather than counted
        seen.add(mutated)
        found.append((node.lineno, start, operator, change, end, replacement))
    found.sort(key=lambda f: (f[1], f[2], f[3]))
    lines = source.decode("utf-8").splitlines()
    line_starts = _Offsets(source).starts

    def column(line: int, start: int) -> int:
        return len(source[line_starts[line - 1] : start].decode("utf-8")) + 1

    return [
        Mutant(
            path,
            number,
            line,
            column(line, start),
            operator,
            change,
            start,
            end,
            replacement,
            lines[line - 1].strip(),
        )
        for number, (line, start, operator, change, end, replacement) in enumerate(found)
    ]


def sample(mutants: list[Mutant], limit: int, seed: int) -> list[Mutant]:
    """At most ``limit`` mutants (all if ``limit <= 0``), drawn with ``seed``, in source order."""
    if limit <= 0 or len(mutants) <= limit:
        return list(mutants)
    chosen = random.Random(seed).sample(range(len(mutants)), limit)
    return [mutants[i] for i in sorted(chosen)]


# ---------------------------------------------------------------- writing safely


CHILDREN: list[subprocess.Popen] = []


def _stop_children() -> None:
    for child in CHILDREN:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)  # the process group this tool started
            except (ProcessLookupError, PermissionError):
                pass
            child.wait()
    CHILDREN.clear()


class Sandbox:
    """A copy of ``src/`` in a temporary folder, where one module at a time holds a mutant
    (:meth:`install`) and gets its original back (:meth:`restore`)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cvsp-mutants-src-"))
        self.target: Path | None = None
        self.original = b""

    def select(self, module: Path) -> None:
        """A fresh copy of the package, ``module`` the one to mutate."""
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(
            ROOT / "src", self.root, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        self.target = self.root / module.relative_to(ROOT / "src")
        self.original = self.target.read_bytes()

    def install(self, mutant: Mutant) -> None:
        self.target.write_bytes(mutant.apply(self.original))

    def restore(self) -> None:
        self.target.write_bytes(self.original)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ running tests


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, timeout, error
    seconds: float
    detail: str = ""


def test_files(module: Path, override: list[str] | None) -> list[str]:
    if override:
        return override
    names = TESTS.get(module.stem)
    if names is None:
        own = ROOT / "tests" / f"test_{module.stem}.py"
        names = ((own.stem,) if own.exists() else ()) + ("test_word_level", "test_stand_in_labels")
    return [f"tests/{name}.py" for name in names if (ROOT / "tests" / f"{name}.py").exists()]


def _environment(pycache: Path, threads: int, sandbox: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(pycache))
    env.setdefault("MPLBACKEND", "Agg")
    if threads > 0:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(sandbox), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def run_pytest(
    arguments: list[str], env: dict[str, str], timeout: float | None
) -> tuple[int | None, str, float]:
    """``(exit code or None on timeout, output, seconds)``; the tests run in their own
    process group, killed whole on a timeout or an interruption."""
    began = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    CHILDREN.append(child)
    try:
        output, _ = child.communicate(timeout=timeout)
        code: int | None = child.returncode
    except subprocess.TimeoutExpired:
        _stop_children()
        output, code = "", None
    finally:
        if child in CHILDREN and child.poll() is not None:
            CHILDREN.remove(child)
    return code, output, time.monotonic() - began


FAILED_RE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)


def baseline(files: list[str], env: dict[str, str]) -> tuple[list[str], float]:
    """Run the tests on the unmutated code: ``(tests that fail already, seconds)``.

    Those tests are deselected for the mutants (a test that always fails would "kill"
    every mutant). Stops the run if pytest cannot collect the tests.
    """
    code, output, seconds = run_pytest([*files, "-q", "-rfE", *PYTEST_OPTIONS[2:]], env, None)
    if code not in (0, 1):
        sys.exit(
            f"The tests {' '.join(files)} do not run on the unmutated code (pytest exit {code}):\n{output[-3000:]}"
        )
    failing = sorted(set(FAILED_RE.findall(output)))
    return failing, seconds


def _last_lines(output: str, count: int = 1) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def run_mutant(
    mutant: Mutant, sandbox: Sandbox, files: list[str], deselect: list[str], env_for, timeout: float
) -> Outcome:
    pycache = Path(tempfile.mkdtemp(prefix="cvsp-mutant-pycache-"))
    try:
        sandbox.install(mutant)
        try:
            arguments = [*files, *PYTEST_OPTIONS, *(f"--deselect={test}" for test in deselect)]
            code, output, seconds = run_pytest(arguments, env_for(pycache), timeout)
        finally:
            sandbox.restore()
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    if code is None:
        return Outcome(mutant, "timeout", seconds, f"over {timeout:.0f} s")
    if code == 0:
        return Outcome(mutant, "survived", seconds)
    if code in (1, 2):  # tests failed, or the mutant broke the import (collection error)
        failed = FAILED_RE.findall(output)
        return Outcome(mutant, "killed", seconds, failed[0] if failed else _last_lines(output))
    return Outcome(mutant, "error", seconds, f"pytest exit {code}: {_last_lines(output)}")


# --------------------------------------------------------------------------- main


def _describe(mutant: Mutant) -> str:
    return f"{mutant.where:<31} {mutant.operator:<8} {mutant.change:<28} {mutant.text[:70]}"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--modules", nargs="+", default=list(DEFAULT_MODULES), help="modules to mutate (paths)"
    )
    parser.add_argument(
        "--max-mutants",
        type=int,
        default=DEFAULT_MAX,
        help=f"mutants per module, sampled with --seed (default {DEFAULT_MAX}; 0: all)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed of the sample (default 0)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the mutants and exit without running tests"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these mutants (names as listed, e.g. metrics#12)",
    )
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="FILE",
        help="test files to run instead of the module's mapping",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per mutant (default: twice the unmutated run, plus 60)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP/MKL threads of the tests (default 1; 0: leave the environment as it is)",
    )
    return parser.parse_args(argv)


def _run_module(
    module: Path, chosen: list[Mutant], files: list[str], sandbox: Sandbox, options
) -> list[Outcome]:
    """Every chosen mutant of ``module``, each against the module's test files."""
    sandbox.select(module)

    def env_for(pycache: Path) -> dict[str, str]:
        return _environment(pycache, options.threads, sandbox.root)

    print(f"\n{relative(module)}: {len(chosen)} mutants; tests: {' '.join(files)}", flush=True)
    pycache = Path(tempfile.mkdtemp(prefix="cvsp-mutant-pycache-"))
    try:
        failing, seconds = baseline(files, env_for(pycache))
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    print(f"  unmutated run: {seconds:.0f} s", flush=True)
    for test in failing:
        print(f"  already failing, deselected: {test}", flush=True)
    timeout = options.timeout or 2 * seconds + 60
    outcomes = []
    for i, mutant in enumerate(chosen, 1):
        outcome = run_mutant(mutant, sandbox, files, failing, env_for, timeout)
        outcomes.append(outcome)
        detail = f"  {outcome.detail[:90]}" if outcome.status != "survived" else ""
        print(
            f"  [{i:>3}/{len(chosen)}] {mutant.name:<16} {mutant.where:<31} {mutant.change:<26} "
            f"{outcome.status:<8} {outcome.seconds:5.1f} s{detail}",
            flush=True,
        )
    return outcomes


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    modules = [
        (ROOT / m).resolve() if not Path(m).is_absolute() else Path(m) for m in options.modules
    ]
    for module in modules:
        if not module.is_file() or module.suffix != ".py":
            sys.exit(f"No such module: {module}")
    every = {module: mutants_of(module) for module in modules}
    if options.only:
        plan = {
            module: [m for m in ms if m.name in set(options.only)] for module, ms in every.items()
        }
    else:
        plan = {
            module: sample(ms, options.max_mutants, options.seed) for module, ms in every.items()
        }
    if options.list:
        for module, chosen in plan.items():
            print(f"{relative(module)}: {len(chosen)} of {len(every[module])} mutants")
            for mutant in chosen:
                print(f"  {mutant.name:<16} {_describe(mutant)}")
        print_equivalent(modules)
        return 0

    sandbox = Sandbox()
    outcomes: list[Outcome] = []
    try:
        for module, chosen in plan.items():
            files = test_files(module, options.tests)
            if chosen and not files:
                print(f"{relative(module)}: no test files; skipped")
            if chosen and files:
                outcomes += _run_module(module, chosen, files, sandbox, options)
    except KeyboardInterrupt:
        print("\ninterrupted (the checkout was never changed)", file=sys.stderr)
        return 130
    finally:
        _stop_children()
        sandbox.remove()
    print_equivalent(modules)
    return report(outcomes)


def print_equivalent(modules: list[Path]) -> None:
    marked = [
        (module, line, why) for module in modules for line, why in equivalent_lines(module).items()
    ]
    print("\nlines marked equivalent (not mutated):")
    for module, line, why in marked:
        print(f"  {relative(module)}:{line:<6} {why}")
    if not marked:
        print("  none")


def report(outcomes: list[Outcome]) -> int:
    if not outcomes:
        print("no mutants run")
        return 0
    print("\nsurvivors (the fast tests pass with these changes):")
    survivors = [o for o in outcomes if o.status == "survived"]
    for outcome in survivors:
        mutant = outcome.mutant
        print(f"  {mutant.name:<16} {mutant.where:<31} {mutant.change:<26} {mutant.text[:80]}")
    if not survivors:
        print("  none")
    others = [o for o in outcomes if o.status in ("timeout", "error")]
    if others:
        print("\ntimeouts and errors:")
        for outcome in others:
            mutant = outcome.mutant
            print(
                f"  {mutant.name:<16} {mutant.where:<31} {mutant.change:<26} {outcome.status}: {outcome.detail[:80]}"
            )
    print("\nscore by module (killed / total):")
    for path in dict.fromkeys(o.mutant.path for o in outcomes):
        mine = [o for o in outcomes if o.mutant.path == path]
        counts = {
            s: sum(o.status == s for o in mine) for s in ("killed", "survived", "timeout", "error")
        }
        print(
            f"  {relative(path):<28} {counts['killed']}/{len(mine)} killed ({100 * counts['killed'] / len(mine):.0f} %), "
            f"{counts['survived']} survived, {counts['timeout']} timeout, {counts['error']} error"
        )
    killed = sum(o.status == "killed" for o in outcomes)
    print(f"  {'all':<28} {killed}/{len(outcomes)} killed ({100 * killed / len(outcomes):.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
