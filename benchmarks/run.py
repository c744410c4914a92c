"""Benchmark of the cvsp engine against the reference approach and the machine's limit.

    python benchmarks/run.py [--out benchmarks/results.json] [--quick]

Runs on full-size stand-in models (GPT-2 small and CLIP's text tower with random
weights: the same architectures and token counts as the real models, so the timings
transfer) and measures, in one run on the same inputs:

1. extraction throughput, batched engine vs a naive loop of one text per forward pass
   (as the authors' research code does), on the STS sentences and the word list;
2. the model FLOP rate the engine achieves (2 x the parameters a token is multiplied by,
   embedding tables aside, x tokens / s)
   as a fraction of a large fp32 matmul measured in the same run;
3. self-similarity: cvsp.metrics vs the brute-force pairwise matrix at n = 1,000,
   10,000 and 50,000 vectors of 768 dims (time and peak memory);
4. `cvsp reproduce --models stand-in` end to end, cold (empty cache) and warm, with the
   peak resident memory and the disk its cache takes;
5. the bootstrap intervals of a full reproduction (cvsp.experiments.uncertainty, 2,000
   replicates, every series), on the embeddings the end-to-end run cached: the time they
   add to a cold run (a warm run reads them from the cache), with one thread and with
   the default number;
6. the geometry measures of chapter 6 on n vectors of 768 dims (uniformity, computed in
   blocks, and the rogue-dimension contributions): time and peak memory, which must stay
   far below the n x n matrix (50,000 vectors: 19 GiB in float64);
7. the command line's answers that need no model, `cvsp --help` and `cvsp models`, each
   in a fresh interpreter as a user starts it (median of 5), and whether either imported
   torch;
8. the book (skipped with --quick or --no-book): a strict stand-in build of a copy of the
   repository from an empty cache; a rebuild after a prose edit of one chapter; every
   page rendered from the executed notebooks alone (the HTML removed, as on Pages when the
   executed-notebook cache hits); then a build whose notebooks all execute again from the
   warm cache (the build folder removed; the forward passes, the cached tables and the
   stand-ins kept). Each page's execution time is read from the build's execution table
   (jupyter-cache), with the cache's size on disk. The cold build is traced (CVSP_TRACE):
   each page's compute floor is its forward passes' FLOPs at the engine's best rate of
   item 2 (scaled by the matmul rate measured beside the build) plus the seconds of its
   bootstrap replicates, and its time is reported as a ratio to that floor.
9. replay (after the cold build; alone with --replay-only, from a build with small
   stand-ins, whose tables have the same rows as the full build's): the built site served
   on 127.0.0.1 and each chapter executed from it as a student runs it (CVSP_REPLAY at
   the site, a fresh kernel, an empty cache, torch made unimportable; the six data files,
   under 1 MB, from CVSP_DATA_DIR as the build read them): its wall time from the kernel's
   start to its last cell, and the kernel's peak resident memory.

Settings come from the CVSP_* environment variables as everywhere else (offline:
CVSP_DATA_DIR and CVSP_TOKENIZERS_DIR). Prints a table and writes every figure to JSON.
``--quick`` is a smoke test of this script (the test suite's): small stand-ins
(CVSP_STANDIN_SIZE=small) on a few inputs, no end-to-end run; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from cvsp import costs, data, experiments, metrics
from cvsp.embeddings import cached, weights_per_token
from cvsp.models import LoadedModel, load_models
from cvsp.settings import Settings
from cvsp.tokens import encode

TARGETS = {
    "batched_speedup_sts": 3.0,  # x the naive loop, both models
    "gpt2_fraction_of_matmul": 0.5,
    "self_similarity_50k_s": 1.0,
    "self_similarity_50k_mib": 1024.0,
    "cold_s": 100.0,  # cvsp reproduce from an empty cache
    "warm_s": 10.0,
    "peak_rss_mib": 4096.0,
    "uncertainty_s": 20.0,
    "uniformity_50k_mib": 1024.0,
    "cli_s": 0.5,  # cvsp --help, cvsp models: "well under a second"
    "book_cold_s": 480.0,  # the whole book, strict, from an empty cache
    "book_prose_edit_s": 60.0,  # rebuild after editing one chapter's prose
    "chapter_cached_s": 60.0,  # any page, its forward passes cached by an earlier build
    "book_embeddings_peak_mib": 8e9
    / 2**20,  # 8 GB of embeddings at the cold book's peak: a laptop holds it
    "replay_chapter_s": 30.0,  # a replayed chapter, after install, on two cores
    "replay_chapter_mib": 1024.0,  # its kernel's peak memory: inside Binder's 2 GB
}
SAMPLE_S = 5.0  # seconds between two samples of the cache's size during the cold build
PROSE_EDIT = ("notebooks/03_sts.ipynb", "\n\nThis sentence was added by the benchmark.")
CLI_COMMANDS = (("--help",), ("models",))
# Runs a command of the cli in this interpreter and says whether it imported torch.
CLI_PROBE = (
    "import sys\ntry:\n    from cvsp.cli import main\n    main(sys.argv[1:])\n"
    "finally:\n    print('torch' in sys.modules, file=sys.stderr)\n"
)
# Runs a notebook in a fresh kernel (nbclient, as Jupyter's Run All does) and prints the
# seconds from the kernel's start to the end of its last cell, then the kernel's peak
# resident memory in MiB (the largest child this process waited for: the kernel).
REPLAY_PROBE = (
    "import resource, sys, time\nimport nbformat\nfrom nbclient import NotebookClient\n"
    "notebook = nbformat.read(sys.argv[1], as_version=4)\nstart = time.perf_counter()\n"
    "NotebookClient(notebook, timeout=600, kernel_name='python3',\n"
    "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
    "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
)
# a package named torch that cannot be imported: a replayed chapter must not need it
NO_TORCH = 'raise ImportError("torch is unimportable: a replayed chapter must not need it")\n'
FORMS = {"gpt2": "bare", "clip": "clip"}  # the input form of the sentence and word passes
VARIANTS = {"gpt2": ["last_token", "mean", "random_token"], "clip": ["eos", "mean", "random_token"]}


def machine() -> dict:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def matmul_gflops(size: int = 4096, repeats: int = 5) -> float:
    """Best fp32 matmul rate of this machine, in GFLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    with torch.inference_mode():
        a @ b  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def naive_loop(model: LoadedModel, texts: list[str], form: str) -> float:
    """The reference approach: tokenize and run one text at a time, keep the last position."""
    start = time.perf_counter()
    with torch.inference_mode():
        for text in texts:
            [encoded] = encode(model, [text], form)
            out = model.model(input_ids=torch.tensor([encoded.ids]), output_hidden_states=True)
            torch.stack(out.hidden_states)[:, 0, -1].numpy()
    return time.perf_counter() - start


def batched(model: LoadedModel, texts: list[str]) -> float:
    embedder = cached(model, None, progress=False)
    start = time.perf_counter()
    embedder(texts, VARIANTS[model.spec.family])
    return time.perf_counter() - start


def extraction(
    models: dict[str, LoadedModel], inputs: dict[str, list[str]], matmul: float
) -> list[dict]:
    rows = []
    for name, texts in inputs.items():
        for key, model in models.items():
            tokens = sum(len(e.ids) for e in encode(model, texts, FORMS[key]))
            batched(model, texts[:8])  # warm-up: first calls allocate and select kernels
            naive_loop(model, texts[:8], FORMS[key])
            fast = batched(model, texts)
            slow = naive_loop(model, texts, FORMS[key])
            flops = 2 * weights_per_token(model) * tokens
            rows.append(
                {
                    "model": key,
                    "inputs": name,
                    "texts": len(texts),
                    "tokens": tokens,
                    "naive_s": slow,
                    "batched_s": fast,
                    "naive_tokens_per_s": tokens / slow,
                    "batched_tokens_per_s": tokens / fast,
                    "naive_texts_per_s": len(texts) / slow,
                    "batched_texts_per_s": len(texts) / fast,
                    "speedup": slow / fast,
                    "batched_gflops": flops / fast / 1e9,
                    "fraction_of_matmul": flops / fast / 1e9 / matmul,
                }
            )
            print(
                f"  {key:5s} {name:14s} naive {slow:7.1f} s  batched {fast:6.1f} s  x{slow / fast:.1f}",
                flush=True,
            )
    return rows


def _measure(function, *args) -> tuple[float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    function(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def brute_force_self_similarity(x: np.ndarray) -> float:
    """The reference approach: the full n x n cosine matrix."""
    u = x.astype(np.float64)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    cos = u @ u.T
    n = len(u)
    return float((cos.sum() - np.trace(cos)) / (n * (n - 1)))


def self_similarity(sizes: list[int], dim: int = 768) -> list[dict]:
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32) + 0.5
        fast_s, fast_mib = _measure(metrics.self_similarity, x)
        row = {"n": n, "dim": dim, "fast_s": fast_s, "fast_peak_mib": fast_mib}
        matrix_bytes = 2 * n * n * 8  # the float64 matrix and one temporary
        if matrix_bytes > available / 2:
            row["brute_skipped"] = (
                f"the {n} x {n} float64 matrix needs {matrix_bytes / 2**30:.0f} GiB; "
                f"{available / 2**30:.0f} GiB are free"
            )
        else:
            row["brute_s"], row["brute_peak_mib"] = _measure(brute_force_self_similarity, x)
            row["speedup"] = row["brute_s"] / fast_s
            row["memory_ratio"] = row["brute_peak_mib"] / fast_mib
        rows.append(row)
        brute = (
            f"brute {row['brute_s']:.2f} s, {row['brute_peak_mib']:.0f} MiB"
            if "brute_s" in row
            else row["brute_skipped"]
        )
        print(f"  n={n:6d}: cvsp {fast_s:.3f} s, {fast_mib:.0f} MiB; {brute}", flush=True)
    return rows


def _reproduce(cache: Path, out: Path) -> tuple[float, float]:
    env = dict(os.environ, CVSP_CACHE_DIR=str(cache), CVSP_MODELS="stand-in", MPLBACKEND="Agg")
    command = [
        sys.executable,
        "-m",
        "cvsp",
        "reproduce",
        "--models",
        "stand-in",
        "--out",
        str(out),
        "--no-progress",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"cvsp reproduce failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def geometry_memory(sizes: list[int], dim: int = 768) -> list[dict]:
    """Time and peak traced memory of the O(n·d)-memory geometry measures."""
    from cvsp import geometry

    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32) + 0.2
        uniform_s, uniform_mib = _measure(geometry.uniformity, x)
        rogue_s, rogue_mib = _measure(geometry.rogue_contributions, x)
        rows.append(
            {
                "n": n,
                "dim": dim,
                "uniformity_s": uniform_s,
                "uniformity_peak_mib": uniform_mib,
                "rogue_s": rogue_s,
                "rogue_peak_mib": rogue_mib,
                "matrix_mib": n * n * 8 / 2**20,
            }
        )
        print(
            f"  n={n:6d}: uniformity {uniform_s:.1f} s, {uniform_mib:.0f} MiB; rogue dimensions "
            f"{rogue_s:.2f} s, {rogue_mib:.0f} MiB (an n x n matrix: {n * n * 8 / 2**20:.0f} MiB)",
            flush=True,
        )
    return rows


def disk_mib(cache: Path) -> dict[str, float]:
    """MiB on disk under each folder of a cvsp cache (stand-ins, embeddings, intervals)."""
    return {
        name: size / 2**20 for name, size in costs.cache_sizes(Settings(cache_dir=cache)).items()
    }


def end_to_end() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cold_s, cold_rss = _reproduce(root / "cache", root / "cold")
        disk = disk_mib(root / "cache")
        print(
            f"  cold {cold_s:.0f} s, peak RSS {cold_rss:.0f} MiB, cache on disk "
            + ", ".join(f"{k} {v:.0f} MiB" for k, v in disk.items()),
            flush=True,
        )
        warm_s, warm_rss = _reproduce(root / "cache", root / "warm")
        print(f"  warm {warm_s:.1f} s, peak RSS {warm_rss:.0f} MiB", flush=True)
        print("Bootstrap intervals of the full reproduction...", flush=True)
        intervals = uncertainty_time(root / "cache")
    return {
        "cold_s": cold_s,
        "warm_s": warm_s,
        "cold_peak_rss_mib": cold_rss,
        "warm_peak_rss_mib": warm_rss,
        "peak_rss_mib": max(cold_rss, warm_rss),
        "cache_mib": disk,
        "uncertainty": intervals,
    }


def _size(quick: bool) -> dict[str, str]:
    """The stand-ins' size: full (the real models' widths, so the timings transfer), or
    small with ``--quick``, a smoke test of the benchmark whose figures mean nothing."""
    return {"standin_size": "small" if quick else "full"}


def uncertainty_time(cache: Path, quick: bool = False) -> dict:
    """Seconds for every bootstrap interval of a reproduction, on cached embeddings
    (``quick``: 30 items per task and 100 replicates, a smoke test)."""
    from cvsp.reproduce import make_embedders
    from cvsp.stats import BootstrapSettings

    settings = Settings.from_env().with_(
        models="stand-in", device="cpu", cache_dir=cache, **_size(quick)
    )
    models = load_models(settings)
    embedders = make_embedders(models, settings, progress=False)
    words = experiments.load_word_data(settings)
    sts = data.load_sts(settings)
    if quick:
        words = experiments.WordData(
            {t: f.iloc[:30] for t, f in words.pairs.items()}, words.lexicon.iloc[:30]
        )
        sts = sts.iloc[:30]
    sentences = experiments.prepare_sentences(sts, models["clip"].tokenizer)
    boot = BootstrapSettings(replicates=100 if quick else BootstrapSettings().replicates)
    experiments.run_all(
        embedders, words, sentences
    )  # every embedding in the cache first: not timed
    report = {"replicates": boot.replicates, "items": "30 per task" if quick else "all"}
    for name, workers in (("one_thread_s", 1), ("default_s", None)):
        start = time.perf_counter()
        experiments.uncertainty(embedders, words, sentences, boot, workers=workers)
        report[name] = time.perf_counter() - start
        print(f"  {name.removesuffix('_s').replace('_', ' ')}: {report[name]:.1f} s", flush=True)
    return report


def _build(source: Path, env: dict, sample: Path | None = None) -> float | tuple[float, list]:
    """Seconds of a strict build of ``source``; with ``sample`` (a cache folder), also the
    cache's size sampled every :data:`SAMPLE_S` seconds while it ran: ``[(time, MiB of the
    whole cache, MiB of its embeddings), ...]``."""
    start = time.perf_counter()
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(source),
        "-W",
        "-n",
        "--keep-going",
    ]
    samples: list[tuple[float, float, float]] = []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as build:
        if sample is not None:
            while build.poll() is None:
                samples.append((time.time(), _tree_mib(sample), _tree_mib(sample / "embeddings")))
                time.sleep(SAMPLE_S)
            samples.append((time.time(), _tree_mib(sample), _tree_mib(sample / "embeddings")))
        output = build.communicate()[0]
    if build.returncode != 0:
        raise RuntimeError(f"the book build failed: {output[-3000:]}")
    seconds = time.perf_counter() - start
    return seconds if sample is None else (seconds, samples)


def _tree_mib(folder: Path) -> float:
    """MiB of the files under ``folder`` now (files that vanish while it is read count 0)."""
    total = 0
    for path in folder.rglob("*") if folder.is_dir() else ():
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass
    return total / 2**20


def _windows(build: Path) -> list[tuple[str, float, float]]:
    """``(page, begin, end)`` of each page's execution (epoch seconds), from the build's
    execution table (each record's end and duration); pages run one after another."""
    from jupyter_cache import (
        get_cache,  # here: a tool of the book, not of the benchmark's other parts
    )

    records = sorted(get_cache(build / ".jupyter_cache").list_cache_records(), key=lambda r: r.pk)
    ends = [
        (Path(r.uri).stem, r.created.timestamp(), float(r.data["execution_seconds"]))
        for r in records
    ]
    return [(page, end - seconds, end) for page, end, seconds in ends]


def cache_by_page(
    build: Path, samples: list[tuple[float, float, float]]
) -> dict[str, dict[str, float]]:
    """The cache's size when each page started and ended executing and its peak between
    (MiB; the whole cache and its embeddings), from the samples of :func:`_build`."""
    pages = {}
    for page, begin, end in _windows(build):
        before = [s for s in samples if s[0] <= begin][-1:] or [samples[0]]
        after = [s for s in samples if s[0] >= end][:1] or [samples[-1]]
        inside = [s for s in samples if begin <= s[0] <= end] + before + after
        pages[page] = {
            "start_mib": before[0][1],
            "peak_mib": max(s[1] for s in inside),
            "end_mib": after[0][1],
            "embeddings_start_mib": before[0][2],
            "embeddings_peak_mib": max(s[2] for s in inside),
            "embeddings_end_mib": after[0][2],
        }
    return pages


def floors_by_page(build: Path, trace: Path, gflops: float) -> dict[str, dict[str, float]]:
    """Each page's compute floor beside its time, from the cold build's trace (CVSP_TRACE):
    its forward passes' FLOPs at ``gflops`` (the engine's best rate on this machine) plus
    the seconds its bootstrap replicates took. A trace line counts for the page whose
    execution window holds it. ``page -> {forward_s, bootstrap_s, floor_s, page_s, ratio}``
    (ratio: the page's time over its floor; None for a page with no such work)."""
    lines = [json.loads(line) for line in trace.read_text().splitlines()] if trace.is_file() else []
    pages = {}
    for page, begin, end in _windows(build):
        mine = [line for line in lines if begin <= line["time"] <= end]
        forward = sum(line["flops"] for line in mine if line["work"] == "forward") / (gflops * 1e9)
        boot = sum(line["seconds"] for line in mine if line["work"] == "bootstrap")
        floor = forward + boot
        pages[page] = {
            "forward_s": forward,
            "bootstrap_s": boot,
            "floor_s": floor,
            "page_s": end - begin,
            "ratio": (end - begin) / floor if floor > 0 else None,
        }
    return pages


def execution_table(build: Path) -> dict[str, float]:
    """Seconds each page took to execute, from the build's execution cache: ``page -> s``."""
    return {page: end - begin for page, begin, end in _windows(build)}


def _edit_prose(notebook: Path, sentence: str) -> None:
    """Append ``sentence`` to the last markdown cell of ``notebook`` (the code is untouched)."""
    content = json.loads(notebook.read_text())
    last = [c for c in content["cells"] if c["cell_type"] == "markdown"][-1]
    last["source"] = "".join(last["source"]) + sentence
    notebook.write_text(json.dumps(content, indent=1) + "\n")


def _copy_repository(root: Path, dest: Path) -> None:
    """The files git tracks in ``root``, copied to ``dest`` (what a fresh clone holds)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    for name in listed.split("\0"):
        if name and (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # a line per request would bury the figures
        pass


def replay_pages(html: Path, notebooks: Path, env: dict) -> dict[str, dict[str, float]]:
    """Each chapter of ``notebooks`` replayed from the built site ``html``, served on
    127.0.0.1, as a student runs it: a fresh kernel, an empty cache, torch unimportable.
    ``chapter -> {"seconds": kernel start to last cell, "peak_mib": the kernel's peak RSS}``."""
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "blocked" / "torch").mkdir(parents=True)
            (Path(folder) / "blocked" / "torch" / "__init__.py").write_text(NO_TORCH)
            for notebook in sorted(notebooks.glob("0*.ipynb")):
                student = {k: v for k, v in env.items() if not k.startswith(("CVSP_", "HF_"))}
                student.update(  # the data files (under 1 MB) where the build read them
                    {k: env[k] for k in ("CVSP_DATA_DIR",) if k in env},
                    CVSP_REPLAY=f"http://127.0.0.1:{server.server_address[1]}/replay/",
                    CVSP_CACHE_DIR=str(Path(folder) / notebook.stem),
                    HF_HOME=str(Path(folder) / "hf"),
                    HF_HUB_OFFLINE="1",
                    PYTHONPATH=str(Path(folder) / "blocked"),
                    MPLBACKEND="Agg",
                )
                done = subprocess.run(
                    [sys.executable, "-c", REPLAY_PROBE, str(notebook), str(notebook.parent)],
                    env=student,
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"replaying {notebook.name} failed: {done.stderr[-3000:]}")
                seconds, peak = map(float, done.stdout.split()[-2:])
                pages[notebook.stem] = {"seconds": seconds, "peak_mib": peak}
                print(f"  replayed {notebook.stem}: {seconds:.1f} s, {peak:.0f} MiB", flush=True)
    finally:
        server.shutdown()
    return pages


def replay_only(out: Path) -> int:
    """A cold build with small stand-ins (the same tables' rows as the full build's), then
    each chapter replayed from its site; the figures replace the ``replay`` section of ``out``."""
    root = Path(__file__).resolve().parents[1]
    report = json.loads(out.read_text())
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "book"
        _copy_repository(root, source)
        env = dict(
            os.environ,
            CVSP_CACHE_DIR=str(Path(folder) / "cache"),
            CVSP_MODELS="stand-in",
            CVSP_STANDIN_SIZE="small",
            MPLBACKEND="Agg",
        )
        print("A cold build with small stand-ins, to replay...", flush=True)
        _build(source, env)
        pages = replay_pages(source / "_build" / "html", source / "notebooks", env)
    report["replay"] = {
        "commit": _commit(root),
        "machine": machine(),
        "built_with": "small stand-ins",
        "pages": pages,
    }
    report["targets"] = verdicts(report)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote the replay figures to {out}")
    write_costs(report)
    return 0


def book(root: Path, engine_fraction: float) -> dict:
    """Three strict stand-in builds of a copy of the repository at ``root``: cold, after a
    prose edit, and with only the forward passes cached (see the module's docstring).
    ``engine_fraction``: the best fraction of the matmul rate the engine reached (the
    extraction figures), which scales each page's compute floor."""
    with tempfile.TemporaryDirectory() as folder:
        source, cache = Path(folder) / "book", Path(folder) / "cache"
        _copy_repository(root, source)
        env = dict(os.environ, CVSP_CACHE_DIR=str(cache), CVSP_MODELS="stand-in", MPLBACKEND="Agg")
        trace = Path(folder) / "trace.jsonl"
        cold_s, samples = _build(source, dict(env, CVSP_TRACE=str(trace)), sample=cache)
        report = {"cold_s": cold_s, "cold_pages_s": execution_table(source / "_build")}
        report["matmul_gflops"] = matmul_gflops()  # this machine's rate beside the build
        report["engine_fraction"] = engine_fraction
        report["floor_pages"] = floors_by_page(
            source / "_build", trace, engine_fraction * report["matmul_gflops"]
        )
        report["floor_s"] = sum(p["floor_s"] for p in report["floor_pages"].values())
        print(
            f"  compute floor {report['floor_s']:.0f} s of {cold_s:.0f} s: "
            + ", ".join(
                f"{k} x{v['ratio']:.1f}" for k, v in report["floor_pages"].items() if v["ratio"]
            ),
            flush=True,
        )
        report["cache_mib"] = disk_mib(cache)
        report["cache_peak_mib"] = max(s[1] for s in samples)
        report["embeddings_peak_mib"] = max(s[2] for s in samples)
        report["cache_pages_mib"] = cache_by_page(source / "_build", samples)
        print(
            f"  cache: peak {report['cache_peak_mib']:.0f} MiB (embeddings {report['embeddings_peak_mib']:.0f}); by page (start, peak, end) "
            + ", ".join(
                f"{k} {v['start_mib']:.0f}/{v['peak_mib']:.0f}/{v['end_mib']:.0f}"
                for k, v in report["cache_pages_mib"].items()
            ),
            flush=True,
        )
        print(
            f"  cold {report['cold_s']:.0f} s: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in report["cold_pages_s"].items()),
            flush=True,
        )
        report["replay_pages"] = replay_pages(source / "_build" / "html", source / "notebooks", env)
        _edit_prose(source / PROSE_EDIT[0], PROSE_EDIT[1])
        report["prose_edit_s"] = _build(source, env)
        page = (source / "_build" / "html" / PROSE_EDIT[0]).with_suffix(".html")
        if PROSE_EDIT[1].strip() not in page.read_text():
            raise RuntimeError(f"the rebuild after the prose edit did not update {page}")
        print(
            f"  after a prose edit of {PROSE_EDIT[0]}: {report['prose_edit_s']:.0f} s", flush=True
        )
        executed = _windows(source / "_build")
        shutil.rmtree(
            source / "_build" / "html"
        )  # as on Pages when the executed notebooks' cache hits
        report["pages_from_executed_cache_s"] = _build(source, env)
        if _windows(source / "_build") != executed:
            raise RuntimeError("a page executed again although its executed notebook was cached")
        print(
            f"  every page rendered from the executed notebooks: {report['pages_from_executed_cache_s']:.0f} s",
            flush=True,
        )
        shutil.rmtree(source / "_build")  # the pages and their execution cache; the embeddings stay
        report["cached_passes_s"] = _build(source, env)
        report["cached_passes_pages_s"] = execution_table(source / "_build")
        print(
            f"  forward passes cached {report['cached_passes_s']:.0f} s: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in report["cached_passes_pages_s"].items()),
            flush=True,
        )
    return report


def engine_fraction(report: dict) -> float:
    """The best fraction of the machine's matmul rate the engine reached in ``report``'s
    extraction figures."""
    return max(row["fraction_of_matmul"] for row in report["extraction"])


def command_line(repeats: int = 5) -> list[dict]:
    """Wall time of ``cvsp --help`` and ``cvsp models`` from a fresh interpreter (median of
    ``repeats``, after one run that warms the file cache), and whether torch was imported."""
    rows = []
    for command in CLI_COMMANDS:
        times, imported = [], set()
        for _ in range(repeats + 1):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CLI_PROBE, *command], capture_output=True, text=True
            )
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 2):
                raise RuntimeError(f"cvsp {' '.join(command)} failed: {done.stderr[-2000:]}")
            imported.add(done.stderr.strip().splitlines()[-1] == "True")
        rows.append(
            {
                "command": "cvsp " + " ".join(command),
                "median_s": float(np.median(times[1:])),
                "torch_imported": any(imported),
            }
        )
        print(
            f"  cvsp {' '.join(command)}: {rows[-1]['median_s']:.2f} s, torch imported: {any(imported)}",
            flush=True,
        )
    return rows


def verdicts(report: dict) -> list[dict]:
    sts = [r for r in report["extraction"] if r["inputs"] == "sts_sentences"]
    checks = [
        (
            f"batched >= {TARGETS['batched_speedup_sts']:.0f}x naive, {r['model']}, STS sentences",
            r["speedup"],
            ">=",
            TARGETS["batched_speedup_sts"],
        )
        for r in sts
    ]
    checks += [
        (
            f"GPT-2 FLOP rate >= {TARGETS['gpt2_fraction_of_matmul']:.0%} of matmul, STS",
            r["fraction_of_matmul"],
            ">=",
            TARGETS["gpt2_fraction_of_matmul"],
        )
        for r in sts
        if r["model"] == "gpt2"
    ]
    for row in report["self_similarity"]:
        if row["n"] == 50_000:
            checks.append(
                (
                    "self-similarity 50,000 x 768 time (s)",
                    row["fast_s"],
                    "<",
                    TARGETS["self_similarity_50k_s"],
                )
            )
            checks.append(
                (
                    "self-similarity 50,000 x 768 extra memory (MiB)",
                    row["fast_peak_mib"],
                    "<",
                    TARGETS["self_similarity_50k_mib"],
                )
            )
    for row in report.get("geometry", []):
        if row["n"] == 50_000:
            checks.append(
                (
                    "uniformity 50,000 x 768 extra memory (MiB)",
                    row["uniformity_peak_mib"],
                    "<",
                    TARGETS["uniformity_50k_mib"],
                )
            )
    for row in report.get("command_line", []):
        checks.append((f"{row['command']} (s)", row["median_s"], "<", TARGETS["cli_s"]))
    e2e = report.get("end_to_end")
    if e2e:
        checks.append(("cold cvsp reproduce (s)", e2e["cold_s"], "<=", TARGETS["cold_s"]))
        checks.append(("warm cvsp reproduce (s)", e2e["warm_s"], "<=", TARGETS["warm_s"]))
        checks.append(
            ("peak resident memory (MiB)", e2e["peak_rss_mib"], "<=", TARGETS["peak_rss_mib"])
        )
        if "uncertainty" in e2e:
            checks.append(
                (
                    "bootstrap intervals of a reproduction (s)",
                    e2e["uncertainty"]["default_s"],
                    "<=",
                    TARGETS["uncertainty_s"],
                )
            )
    pages = report.get("book")
    if pages:
        checks.append(
            ("book, strict, from an empty cache (s)", pages["cold_s"], "<=", TARGETS["book_cold_s"])
        )
        checks.append(
            (
                "book rebuilt after a prose edit (s)",
                pages["prose_edit_s"],
                "<=",
                TARGETS["book_prose_edit_s"],
            )
        )
        if "embeddings_peak_mib" in pages:
            checks.append(
                (
                    "embeddings at the cold book's peak (MiB)",
                    pages["embeddings_peak_mib"],
                    "<=",
                    TARGETS["book_embeddings_peak_mib"],
                )
            )
        slowest = max(pages["cached_passes_pages_s"].items(), key=lambda item: item[1])
        checks.append(
            (
                f"slowest page with its forward passes cached: {slowest[0]} (s)",
                slowest[1],
                "<=",
                TARGETS["chapter_cached_s"],
            )
        )
    replayed = _replayed(report)
    if replayed:
        slowest = max(replayed["pages"].items(), key=lambda item: item[1]["seconds"])
        largest = max(replayed["pages"].items(), key=lambda item: item[1]["peak_mib"])
        checks.append(
            (
                f"slowest replayed chapter: {slowest[0]} (s)",
                slowest[1]["seconds"],
                "<=",
                TARGETS["replay_chapter_s"],
            )
        )
        checks.append(
            (
                f"largest replayed chapter's memory: {largest[0]} (MiB)",
                largest[1]["peak_mib"],
                "<=",
                TARGETS["replay_chapter_mib"],
            )
        )
    compare = {">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    return [
        {
            "target": name,
            "measured": value,
            "relation": relation,
            "limit": limit,
            "ratio_to_limit": value / limit,
            "met": bool(compare[relation](value, limit)),
        }
        for name, value, relation, limit in checks
    ]


def _replayed(report: dict) -> dict | None:
    """The replay figures of ``report``: the full book run's (after its cold build), else
    those of --replay-only; each with the commit and the build it replayed."""
    book = report.get("book", {})
    if "replay_pages" in book:
        return {
            "commit": book.get("commit"),
            "built_with": "full-size stand-ins",
            "pages": book["replay_pages"],
        }
    return report.get("replay")


COSTS = Path(__file__).resolve().parents[1] / "src" / "cvsp" / "costs.json"


def costs_of(report: dict) -> dict:
    """The figures ``cvsp preflight`` estimates from (:class:`cvsp.costs.Benchmark`), taken
    from a full benchmark report: the cold book's time and cache (its peak, and the most each
    page added at once: a page's scratch draws are gone at its end) and the cold ``cvsp
    reproduce``."""
    book, e2e = report["book"], report["end_to_end"]
    other = sum(v for k, v in book["cache_mib"].items() if k not in ("embeddings", "stand-ins"))
    pages = {
        page: {
            "seconds": book["cold_pages_s"][page],
            "embeddings_mib": sizes["embeddings_peak_mib"] - sizes["embeddings_start_mib"],
            "cache_mib": sizes["peak_mib"] - sizes["start_mib"],
        }
        for page, sizes in book["cache_pages_mib"].items()
    }
    return {
        "commit": book.get("commit", "unknown"),
        "cores": report["machine"]["cores"],
        "book_s": book["cold_s"],
        "book_embeddings_peak_mib": book["embeddings_peak_mib"],
        "book_cache_peak_mib": book["cache_peak_mib"],
        "book_other_mib": other,
        "pages": pages,
        "reproduce_s": e2e["cold_s"],
        "reproduce_embeddings_mib": e2e["cache_mib"]["embeddings"],
        "reproduce_other_mib": e2e["cache_mib"]["intervals"] + e2e["cache_mib"]["replicates"],
        "reproduce_standins_mib": e2e["cache_mib"]["stand-ins"],
        "replay": _replayed(report) or {},
    }


def write_costs(report: dict, path: Path = COSTS) -> None:
    path.write_text(json.dumps(costs_of(report), indent=2) + "\n")
    print(f"Wrote {path}")


def _commit(root: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def book_only(out: Path) -> int:
    """The book's three builds alone, their figures put in place of those in ``out`` (the
    other sections keep theirs; each book section names the commit it measured)."""
    root = Path(__file__).resolve().parents[1]
    report = json.loads(out.read_text())
    print("The book: cold, after a prose edit, with the forward passes cached...", flush=True)
    report["book"] = {
        "commit": _commit(root),
        "machine": machine(),
        **book(root, engine_fraction(report)),
    }
    report["targets"] = verdicts(report)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote the book's figures to {out}")
    write_costs(report)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument(
        "--quick", action="store_true", help="small inputs, no end-to-end run (smoke test)"
    )
    parser.add_argument(
        "--no-book",
        dest="book",
        action="store_false",
        help="leave out the three book builds (about 30 min)",
    )
    parser.add_argument(
        "--book-only",
        action="store_true",
        help="run only the three book builds and replace the book's figures in --out (about 30 min)",
    )
    parser.add_argument(
        "--replay-only",
        action="store_true",
        help="a cold build with small stand-ins and each chapter replayed from its site; replaces the replay figures in --out (about 10 min)",
    )
    args = parser.parse_args(argv)
    if args.book_only:
        return book_only(args.out)
    if args.replay_only:
        return replay_only(args.out)

    settings = Settings.from_env().with_(models="stand-in", device="cpu", **_size(args.quick))
    print("Loading stand-in models and data...", flush=True)
    models = load_models(settings)
    sentences = experiments.prepare_sentences(
        data.load_sts(settings), models["clip"].tokenizer
    ).sentences
    words = experiments.load_word_data(settings).vocabulary()
    if args.quick:
        sentences, words = sentences[:40], words[:40]

    report: dict = {"machine": machine(), "quick": args.quick}
    print("Matmul rate...", flush=True)
    report["matmul_gflops"] = matmul_gflops(1024 if args.quick else 4096)
    print(f"  {report['matmul_gflops']:.0f} GFLOP/s fp32", flush=True)
    print("Extraction, batched engine vs one text at a time...", flush=True)
    report["extraction"] = extraction(
        models, {"sts_sentences": sentences, "words": words}, report["matmul_gflops"]
    )
    print("Self-similarity, cvsp.metrics vs the pairwise matrix...", flush=True)
    report["self_similarity"] = self_similarity([1_000] if args.quick else [1_000, 10_000, 50_000])
    print("Geometry measures (chapter 6), O(n·d) memory...", flush=True)
    report["geometry"] = geometry_memory([1_000] if args.quick else [10_000, 50_000])
    print("The command line without a model (cvsp --help, cvsp models)...", flush=True)
    report["command_line"] = command_line()
    if not args.quick:
        print("End to end: cvsp reproduce --models stand-in...", flush=True)
        report["end_to_end"] = end_to_end()
    else:
        print("Bootstrap intervals (quick: 30 items per task, 100 replicates)...", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            report["uncertainty_quick"] = uncertainty_time(Path(folder), quick=True)
            report["cache_quick_mib"] = disk_mib(Path(folder))
    if args.book and not args.quick:
        print("The book: cold, after a prose edit, with the forward passes cached...", flush=True)
        root = Path(__file__).resolve().parents[1]
        report["book"] = {"commit": _commit(root), **book(root, engine_fraction(report))}
    report["targets"] = verdicts(report)

    print(
        "\nExtraction                     tokens   naive tok/s  batched tok/s  speedup  GFLOP/s  of matmul"
    )
    for r in report["extraction"]:
        print(
            f"  {r['model']:5s} {r['inputs']:14s} {r['tokens']:9d} {r['naive_tokens_per_s']:12.0f} "
            f"{r['batched_tokens_per_s']:14.0f} {r['speedup']:8.1f} {r['batched_gflops']:8.1f} "
            f"{r['fraction_of_matmul']:9.0%}"
        )
    print("\nTargets")
    for t in report["targets"]:
        status = "met" if t["met"] else "MISSED"
        print(
            f"  {status:6s} {t['target']}: {t['measured']:.3g} (limit {t['relation']} {t['limit']:g}, "
            f"ratio {t['ratio_to_limit']:.2f})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {args.out}")
    if "book" in report and "end_to_end" in report:
        write_costs(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
