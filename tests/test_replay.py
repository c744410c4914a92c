"""The replay store: a bundle written from a cache folder reads back the same tables, from
a folder or over HTTP, and refuses a changed file, by name, and another package's bundle."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.fakes import WordEmbedder, sentence_data
from support.runs import ROOT

import cvsp
from cvsp import cache, experiments, intervals
from cvsp.cache import MANIFEST, DiskStore
from cvsp.replay import ReplayError, ReplayStore, bundle_from_ledger, store_for, write_bundle
from cvsp.settings import Settings

FACTS = {
    "package": {"version": "9.9.9", "digest": "0123456789abcdef"},
    "build": {"models": "stand-in"},
}


@pytest.fixture
def bundle(tmp_path):
    """A cache with a table, a curve and an embedding; a bundle of the first two."""
    built = DiskStore(tmp_path / "built")
    scores = pd.DataFrame({"layer": ["0", "12", "projection"], "value": [0.1, 1 / 3, np.pi]})
    built.put_tables("intervals", "k1", {"scores": scores})
    built.put_array("curves", "k2", np.linspace(0, 1, 13))
    built.put_array("embeddings", "k3", np.ones((2, 13, 4), np.float32))
    entries = ["intervals/k1/scores.csv", "curves/k2.npy"]
    write_bundle(built.root, entries, tmp_path / "bundle", FACTS)
    return tmp_path / "bundle", scores


@pytest.fixture
def served(bundle):
    """The bundle's folder over HTTP on 127.0.0.1."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(bundle[0]))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.parametrize("over", ["folder", "http"])
def test_a_bundle_reads_back_what_the_build_stored(bundle, served, tmp_path, over):
    folder, scores = bundle
    source = str(folder) if over == "folder" else served
    store = ReplayStore.open(source, DiskStore(tmp_path / "local"), "9.9.9")
    (table,) = store.get_tables("intervals", "k1", ["scores"])
    pd.testing.assert_frame_equal(table, scores)  # layers stay text, floats exact
    np.testing.assert_array_equal(store.get_array("curves", "k2"), np.linspace(0, 1, 13))
    assert store.get_array("embeddings", "k3") is None  # never bundled
    assert store.code == "0123456789abcdef" and store.stand_in
    store.put_tables("tables", "new", {"t": scores})  # a page's own table: kept locally
    pd.testing.assert_frame_equal(store.get_tables("tables", "new", ["t"])[0], scores)
    assert (tmp_path / "local" / "tables" / "new" / "t.csv").is_file()


@pytest.mark.parametrize("over", ["folder", "http"])
@pytest.mark.parametrize("name", ["intervals/k1/scores.csv", "curves/k2.npy"])
def test_a_changed_file_is_refused_by_name(bundle, served, tmp_path, over, name):
    folder, _ = bundle
    with (folder / name).open("ab") as stream:
        stream.write(b" ")
    source = str(folder) if over == "folder" else served
    store = ReplayStore.open(source, DiskStore(tmp_path / "local"), "9.9.9")
    with pytest.raises(ReplayError, match=f"file {name} does not match the sha256"):
        if name.endswith(".csv"):
            store.get_tables("intervals", "k1", ["scores"])
        else:
            store.get_array("curves", "k2")


def test_another_version_s_bundle_is_refused_unless_asked(bundle, tmp_path):
    folder, _ = bundle
    local = DiskStore(tmp_path / "local")
    with pytest.raises(ReplayError, match=r"made by cvsp 9\.9\.9; this is cvsp 1\.0\.0"):
        ReplayStore.open(str(folder), local, "1.0.0")
    assert ReplayStore.open(str(folder), local, "1.0.0", any_version=True).code


@pytest.mark.parametrize(
    ("variable", "line", "replays"),
    [
        (None, "site", "site"),  # a chapter run by hand: its REPLAY line
        ("other", "site", "other"),  # CVSP_REPLAY names another bundle
        ("off", "site", None),  # the book's build: compute, whatever the line says
        ("OFF", None, None),
        (None, None, None),  # REPLAY = None, and everything but a chapter: compute
    ],
)
def test_cvsp_replay_overrides_a_chapter_s_replay_line(variable, line, replays, tmp_path):
    env = {"CVSP_CACHE_DIR": str(tmp_path)} | ({"CVSP_REPLAY": variable} if variable else {})
    settings = Settings.from_env(env)
    assert settings.replay_source(line) == replays
    if variable and variable.lower() == "off":  # the store of code that names no bundle
        assert type(store_for(settings)) is DiskStore


def test_a_chapter_replays_the_bundle_its_line_names_unless_told_to_compute(tmp_path, capsys):
    from cvsp import notebook

    built = DiskStore(tmp_path / "built")
    built.put_array("curves", "k", np.zeros(13))
    facts = dict(FACTS, package={**FACTS["package"], "version": cvsp.__version__})
    write_bundle(
        built.root,
        ["curves/k.npy"],
        tmp_path / "bundle",
        {**facts, "build": {"bootstrap": 200, "models": "stand-in"}},
    )
    student = Settings(models="stand-in", standin_size="small", cache_dir=tmp_path / "student")
    session = notebook.start("03_sts", settings=student, replay=str(tmp_path / "bundle"))
    assert session.replayed and "replaying the tables of the build" in capsys.readouterr().out
    session = notebook.start(
        "03_sts", settings=student.with_(replay="off"), replay=str(tmp_path / "bundle")
    )
    assert not session.replayed and "cvsp preflight:" in capsys.readouterr().out


def test_the_manifest_lists_each_file_with_its_digest_and_size(bundle):
    folder, _ = bundle
    manifest = pd.read_json(folder / MANIFEST, typ="series")
    files = manifest["files"]
    assert sorted(files) == ["curves/k2.npy", "intervals/k1/scores.csv"]
    for name, entry in files.items():
        assert entry["size"] == (folder / name).stat().st_size
        assert len(entry["sha256"]) == 64


def test_only_tables_and_curves_are_bundled(tmp_path):
    built = DiskStore(tmp_path / "built")
    built.put_array("embeddings", "k", np.ones(3, np.float32))
    with pytest.raises(ValueError, match="embeddings/k.npy is not of a kind a bundle holds"):
        write_bundle(built.root, ["embeddings/k.npy"], tmp_path / "bundle", FACTS)


def test_the_disk_store_s_code_is_the_package_digest(tmp_path):
    from cvsp.storage import package_digest

    assert DiskStore(tmp_path).code == package_digest()
    assert cache.key(code=DiskStore(tmp_path).code) == cache.key(code=package_digest())


def test_a_build_keeps_the_tables_of_pages_it_did_not_run_if_the_code_is_the_same(tmp_path):
    built = DiskStore(tmp_path / "cache", ledger=tmp_path / "ledger.jsonl")
    built.put_array("curves", "first", np.zeros(13))
    built.put_array("embeddings", "vectors", np.zeros((2, 13, 4), np.float32))  # not listed
    out = tmp_path / "bundle"
    assert sorted(bundle_from_ledger(built.root, built.ledger, out, FACTS)["files"]) == [
        "curves/first.npy"
    ]
    built.ledger.unlink()  # the next build runs one page, which reads one table
    built.put_array("curves", "second", np.ones(13))
    both = bundle_from_ledger(built.root, built.ledger, out, FACTS)["files"]
    assert sorted(both) == ["curves/first.npy", "curves/second.npy"]
    built.ledger.unlink()
    built.put_array("curves", "third", np.ones(13))
    changed = {**FACTS, "package": {"version": "9.9.9", "digest": "another"}}
    assert sorted(bundle_from_ledger(built.root, built.ledger, out, changed)["files"]) == [
        "curves/third.npy"
    ]
    built.ledger.unlink()
    assert bundle_from_ledger(built.root, built.ledger, out, changed) is None  # nothing ran
    assert (out / MANIFEST).is_file()


class _Described:
    """An embedder that stands for a model by its facts alone (fingerprint, seed), as a
    replayed page's would: asked for vectors, it fails the test."""

    def __init__(self, family: str):
        self.family, self.seed, self.blocks = family, 0, 12
        self.fingerprint = f"described:{family}"

    def __call__(self, texts, variants):
        raise AssertionError("a replayed table was computed")


def test_with_cvsp_replay_the_scores_are_the_build_s_and_nothing_is_computed(tmp_path, monkeypatch):
    """The seam replay plugs into: the scores a build cached are read back through the
    bundle under the keys a page makes from its models' facts, the build's code digest
    standing in for this package's."""
    words = pd.DataFrame({"word1": ["a", "b"], "word2": ["b", "c"], "score": [1.0, 2.0]})
    word_data = experiments.WordData(
        {"rg65": words}, pd.DataFrame({"word": ["a", "b", "c"], "valence": [1.0, 2.0, 3.0]})
    )
    sentences = sentence_data(["one two", "three four"], [("one two", "three four", 1.0)])
    built = Settings(models="stand-in", cache_dir=tmp_path / "built", ledger=tmp_path / "ledger")
    computing = {"gpt2": WordEmbedder("gpt2"), "clip": WordEmbedder("clip")}
    for key, embedder in computing.items():
        embedder.seed, embedder.blocks, embedder.fingerprint = 0, 12, f"described:{key}"
    with monkeypatch.context() as building:  # the build ran other code than this package's
        building.setattr(cache, "package_digest", lambda: "the build's code")
        scores = intervals.results(built, computing, word_data, sentences)
    facts = {"package": {"version": "9.9.9", "digest": "the build's code"}, "build": {}}
    bundle_from_ledger(built.cache_dir, built.ledger, tmp_path / "site" / "replay", facts)
    replaying = Settings(
        models="stand-in",
        cache_dir=tmp_path / "student",
        replay=str(tmp_path / "site" / "replay"),
        replay_any_version=True,
    )
    assert isinstance(store_for(replaying), ReplayStore)
    described = {key: _Described(key) for key in computing}
    replayed = intervals.results(replaying, described, word_data, sentences)
    pd.testing.assert_frame_equal(replayed, scores)


def test_a_bundle_describes_the_models_the_build_ran_well_enough_to_make_its_keys(
    small_models, tmp_path
):
    """The ledger notes each model an embedder ran; the manifest carries its facts, and a
    model described by them makes the same cache keys and layers but has no vectors."""
    from cvsp.cached import CachedEmbedder
    from cvsp.embeddings import cached
    from cvsp.facts import Described
    from cvsp.lazy import ComputeNeeded, Deferred, refuse

    built = DiskStore(tmp_path / "cache", ledger=tmp_path / "ledger.jsonl")
    embedders = {key: cached(m, built, seed=3, progress=False) for key, m in small_models.items()}
    texts = ["a dog runs", "strawberries"]
    embedders["gpt2"](texts, ["random_token"])
    built.put_array("curves", "k", np.zeros(13))
    manifest = bundle_from_ledger(built.root, built.ledger, tmp_path / "bundle", FACTS)
    for key, embedder in embedders.items():
        described = Described(**manifest["models"][key])
        assert described.fingerprint == embedder.fingerprint and described.seed == 3
        for variant in ("random_token", "eos", "mean"):
            assert described.layers(variant) == embedder.layers(variant)
            assert described.key(texts, variant) == embedder.key(texts, variant)
        assert described.width == embedder.forward.width
        replayed = CachedEmbedder(Deferred(described, key, refuse(f"{key}'s vectors")), built)
        with pytest.raises(ComputeNeeded, match=f"needs {key}'s vectors.*compute mode"):
            replayed(texts, ["eos"])
    stored = CachedEmbedder(
        Deferred(Described(**manifest["models"]["gpt2"]), "", refuse("")), built
    )
    np.testing.assert_array_equal(  # what is stored is read without a model
        stored(texts, ["random_token"])["random_token"].values,
        embedders["gpt2"](texts, ["random_token"])["random_token"].values,
    )


# a package named torch that cannot be imported: a replayed chapter must not need it
NO_TORCH = 'raise ImportError("torch is unimportable here: a replayed chapter must not need it")\n'
# what differs between two runs of one figure or table and says nothing of its content
VOLATILE = [
    (r"<dc:date>[^<]*</dc:date>", ""),
    (r"\b[pm][0-9a-f]{10}\b", "ID"),  # matplotlib's random SVG ids
    (r"T_[0-9a-f]{5}_?", "T_ID_"),  # pandas Styler's table id
    (r" at 0x[0-9a-f]+>", " at ADDR>"),
]


def _shown(cell) -> list:
    """What a code cell shows (tables, figures, glued values, printed lines); not what the
    session's first cell prints (replaying, in place of the preflight's line), nor
    warnings (the book leaves them out)."""
    shown = []
    for output in cell.get("outputs", []):
        if output.get("name") == "stdout" and "notebook.start(" not in cell.source:
            shown.append((output["name"], output["text"]))
        if output["output_type"] in ("display_data", "execute_result"):
            for mime, value in sorted(output["data"].items()):
                value = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                for pattern, replacement in VOLATILE:
                    value = re.sub(pattern, replacement, value)
                shown.append((mime, value))
    return shown


def _executed_pages(output: Path) -> dict[str, object]:
    """``chapter name -> executed notebook`` of the book built in ``output``."""
    from jupyter_cache import get_cache

    cache = get_cache(output / "_build" / ".jupyter_cache")
    return {
        Path(record.uri).stem: cache.get_cache_bundle(record.pk).nb
        for record in cache.list_cache_records()
        if record.uri.endswith(".ipynb")
    }


def _replay_chapter(path: Path, env: dict[str, str]):
    """``path`` executed in a kernel with ``env``, as Jupyter's Run All does: an error
    stops it, but in a cell tagged ``raises-exception``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    folder = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=folder)
    client.execute(env=env)
    return notebook


@pytest.fixture
def site(built_book, tmp_path):
    """A copy of the stand-in book's site over HTTP on 127.0.0.1, as the site publishes it."""
    html = tmp_path / "html"
    shutil.copytree(built_book[0] / "_build" / "html", html)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/replay/"
    server.shutdown()


def _replay_env(built_env: dict[str, str], url: str, root: Path) -> dict[str, str]:
    """A student's environment: the bundle's address, an empty cache, no torch."""
    (root / "blocked" / "torch").mkdir(parents=True)
    (root / "blocked" / "torch" / "__init__.py").write_text(NO_TORCH)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVSP_", "HF_"))}
    return dict(
        env,
        CVSP_REPLAY=url,
        CVSP_CACHE_DIR=str(root / "cache"),
        CVSP_DATA_DIR=built_env["CVSP_DATA_DIR"],
        HF_HOME=str(root / "hf"),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(
            [str(root / "blocked"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        MPLBACKEND="Agg",
    )


@pytest.mark.slow
def test_every_chapter_replays_from_the_published_site_without_models_or_torch(
    built_book, site, tmp_path
):
    """Each chapter executed with ``CVSP_REPLAY`` at the served site, torch unimportable
    and an empty cache: it finishes, shows every table, figure and glued number its page
    shows, and a cell that needs vectors says in one sentence that it needs compute mode.
    A bundle file with one byte appended stops a chapter with the sentence naming it."""
    html, url = site
    env = _replay_env(built_book[1], url, tmp_path)
    pages = _executed_pages(built_book[0])
    needs_compute = {}
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        replayed = _replay_chapter(path, env)
        built = [c for c in pages[path.stem].cells if c.cell_type == "code"]
        cells = [c for c in replayed.cells if c.cell_type == "code"]
        assert len(cells) == len(built), path.name
        for number, (mine, page) in enumerate(zip(cells, built, strict=True)):
            said = [o["text"] for o in mine.get("outputs", []) if o.get("name") == "stderr"]
            assert not any("Downloading data from" in text for text in said), (path.name, number)
            if any("CVSP_REPLAY=off" in text for text in said):  # one sentence, no traceback
                kinds = {o["output_type"] for o in mine.outputs}
                assert kinds == {"stream"}, (path.name, number, mine.outputs)
                lines = "".join(said)
                assert lines.count("This cell needs") == 1, (path.name, number, lines)
                assert re.search(r"^This cell needs [^\n]+ compute mode [^\n]+\.$", lines, re.M)
                assert "raises-exception" in mine.metadata.get("tags", []), (path.name, number)
                needs_compute.setdefault(path.stem, []).append(number)
                continue
            assert _shown(mine) == _shown(page), (path.name, number, mine.source[:200])
        assert "replaying the tables of the build" in json.dumps(cells[1].get("outputs"))
    # exercises that read raw vectors; every chapter's own cells replay
    assert sum(map(len, needs_compute.values())) <= 12, needs_compute

    manifest = json.loads((html / "replay" / MANIFEST).read_text())
    for name in manifest["files"]:
        with (html / "replay" / name).open("ab") as stream:
            stream.write(b"\n")
    from nbclient.exceptions import CellExecutionError

    fresh = dict(env, CVSP_CACHE_DIR=str(tmp_path / "fresh"))  # nothing downloaded before
    with pytest.raises(CellExecutionError) as failed:
        _replay_chapter(ROOT / "notebooks" / "01_cwe_anisotropy.ipynb", fresh)
    named = re.search(
        r"The replay bundle's file (\S+) does not match the sha256", str(failed.value)
    )
    assert named and named.group(1) in manifest["files"], str(failed.value)[-2000:]


@pytest.mark.parametrize("shell", [None, "off", "https://example.org/replay/"])
def test_the_book_s_build_computes_whatever_the_shell_s_cvsp_replay_says(
    shell, tmp_path, monkeypatch
):
    """The build's kernels get ``CVSP_REPLAY=off`` (a build that replayed would publish
    another build's tables as its own); a bundle named in the shell is refused with a
    warning, which the strict build turns into a failure."""
    from types import SimpleNamespace

    from support.runs import module_at

    extension = module_at(ROOT / "book" / "_ext" / "cvsp_book.py")
    said = []
    monkeypatch.setattr(extension.LOGGER, "warning", said.append)
    monkeypatch.setenv("CVSP_LEDGER", str(tmp_path / "ledger.jsonl"))
    if shell is None:
        monkeypatch.delenv("CVSP_REPLAY", raising=False)
    else:
        monkeypatch.setenv("CVSP_REPLAY", shell)
    extension._ledger(SimpleNamespace(outdir=str(tmp_path / "html")), None)
    assert os.environ["CVSP_REPLAY"] == "off"
    assert bool(said) is (shell not in (None, "off")), said
