"""The real-weights path, end to end, against a local replica of the Hugging Face hub.

``cvsp`` runs in real mode (``--models real``, ``CVSP_MODELS=real``) with ``HF_ENDPOINT``
pointing at :class:`hub_replica.HubReplica`, which serves ``gpt2`` and
``openai/clip-vit-base-patch32`` in their hub layouts (CLIP's ``main`` without
safetensors; its conversion on ``refs/pr/66``), and for the model sets ``contrast`` and
``beyond`` the other repositories the book reads (:mod:`hub_repos`). Every request the
replica answers is logged; no test may ask for ``pytorch_model.bin`` or reach a
discussion, pull-request or conversion route.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_replica import NEVER_REQUESTED, HubReplica, SilentServer
from support.runs import removed_when_done

from cvsp.registry import BERT_COMMIT, CLIP_COMMIT, GPT2_COMMIT, MODELS
from cvsp.settings import revision_variable

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = NEVER_REQUESTED


# Bootstrap replicates of these runs: what they prove (each model read at its commit, no
# forbidden file fetched, a rerun offline byte-identical, a chapter reading the command
# line's cache) does not depend on the count, and at the default 2,000 the intervals of
# these runs and their reruns cost about 100 s of the suite (measured 2026-11-29: the
# beyond, contrast and paper runs 87, 63 and 32 s, now 47, 29 and 19 s; the two offline
# reruns 27 and 26 s, now 16-18 s each). The real-mode book
# (tests/test_book_real.py) keeps every default.
BOOTSTRAP = "200"


def _env(endpoint: str, hf_home: Path, cache: Path, **changes: str) -> dict[str, str]:
    env = dict(
        os.environ,
        HF_ENDPOINT=endpoint,
        HF_HOME=str(hf_home),
        CVSP_CACHE_DIR=str(cache),
        CVSP_MODELS="real",
        CVSP_REPLAY="off",  # a chapter computes, whatever its REPLAY line says
        MPLBACKEND="Agg",
        HF_HUB_DISABLE_TELEMETRY="1",
        CVSP_BOOTSTRAP=BOOTSTRAP,
    )
    revisions = [revision_variable(key) for key in MODELS]
    for name in ("HF_HUB_OFFLINE", *revisions, "DISABLE_SAFETENSORS_CONVERSION"):
        env.pop(name, None)
    env.update(changes)
    return env


# `cvsp ...` as `python -m cvsp` runs it, then one last line saying whether torch was imported
CLI = "import sys\nfrom cvsp.cli import main\ncode = main(sys.argv[1:])\nprint('torch imported:', 'torch' in sys.modules)\nsys.exit(code)"


def _reproduce(out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            CLI,
            "reproduce",
            "--models",
            "real",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _refusal(done: subprocess.CompletedProcess) -> str:
    """The one sentence of a refused run, which must have stopped before importing torch."""
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "torch imported: False", done.stdout
    return _one_sentence(done.stderr)


def _load(
    env: dict[str, str], key: str = "gpt2", spec: str | None = None
) -> subprocess.CompletedProcess:
    """Load one model in a fresh interpreter (the hub settings are read at import)."""
    call = f"load_hub({spec})" if spec else f"load_real({key!r}, device='cpu')"
    code = f"from cvsp.models import load_hub, load_real\nfrom cvsp.registry import ModelSpec\n{call}\n"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )


def _execute(notebook: Path, executed: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a chapter in a fresh interpreter with ``env`` (nbclient, its folder as working
    directory) and write the executed copy to ``executed``."""
    code = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=1200, resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
        "nbformat.write(nb, sys.argv[2])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(notebook), str(executed), str(notebook.parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _forbidden(hub: HubReplica) -> list:
    return [r for r in hub.log if any(word in r.path for word in FORBIDDEN)]


def _nothing_written(hf_home: Path, cache: Path) -> None:
    hub_cache = hf_home / "hub"
    written = [p for p in hub_cache.rglob("*") if p.is_file()] if hub_cache.exists() else []
    assert not [p for p in written if "blobs" in p.parts or "snapshots" in p.parts], written
    assert not (cache / "embeddings").exists()


def _one_sentence(stderr: str) -> str:
    text = stderr.strip()
    assert text.count("\n") == 0 and "Traceback" not in text, stderr
    return text


# The three runs are module-scoped and their folders (1.6 GB together) removed with the
# module's last test, not kept to the session's end beside what runs later (in CI, the
# real-mode book, the whole run's disk peak). Under pytest-xdist the module's tests reach
# one worker as one scope (tests/support/scheduling.py), one after another, so each run is made once.
@pytest.fixture(scope="module")
def online_run(request, hub_repos, tmp_path_factory):
    """``cvsp reproduce --models real`` against the running replica (downloads everything)."""
    root = tmp_path_factory.mktemp("real")
    removed_when_done(request, root)
    hub = HubReplica(hub_repos).start()
    endpoint = hub.url
    try:
        done = _reproduce(root / "out", _env(endpoint, root / "hf", root / "cache"))
    finally:
        hub.stop()
    assert done.returncode == 0, done.stderr[-4000:]
    return root, hub, endpoint


@pytest.mark.slow
def test_reproduce_real_downloads_and_records_the_pinned_commits(online_run, hub_repos):
    root, hub, _ = online_run
    out = root / "out"
    for name in ("scores.csv", "comparison.csv", "provenance.json", "figures/sts.png"):
        assert (out / name).is_file(), name
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["warning"] is None and provenance["models_source"] == "real"
    served = {repo.repo_id: repo for repo in hub_repos}
    for key, pinned in (("gpt2", GPT2_COMMIT), ("clip", CLIP_COMMIT)):
        record = provenance["models"][key]
        assert record["source"] == "real"
        assert record["commit"] == pinned == record["pinned_commit"] == MODELS[key].revision
        weights = served[MODELS[key].hub_id].commits[pinned]["model.safetensors"]
        assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert "pretrained" in (out / "scores.csv").read_text().splitlines()[1]
    # every file was read at the pinned commits, never at a branch
    resolves = [r.path for r in hub.requests("/resolve/")]
    assert resolves and all(GPT2_COMMIT in p or CLIP_COMMIT in p for p in resolves), resolves
    assert hub.requests(f"/gpt2/resolve/{GPT2_COMMIT}/model.safetensors")
    assert hub.requests(f"/openai/clip-vit-base-patch32/resolve/{CLIP_COMMIT}/model.safetensors")
    assert not _forbidden(hub), _forbidden(hub)


@pytest.mark.slow
@pytest.mark.parametrize("offline", [True, False], ids=["HF_HUB_OFFLINE", "server-gone"])
def test_rerun_without_the_hub_is_byte_identical(online_run, tmp_path, offline):
    root, _, stopped = online_run
    # the replica has stopped (its port refuses connections); a fresh embedding cache
    # forces every forward pass again, from the weights in the hub cache
    changes = {"HF_HUB_OFFLINE": "1"} if offline else {}
    env = _env(stopped, root / "hf", tmp_path / "cache", **changes)
    done = _reproduce(tmp_path / "out", env)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "out" / "scores.csv").read_bytes() == (
        root / "out" / "scores.csv"
    ).read_bytes()
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["models"]["clip"]["commit"] == CLIP_COMMIT


@pytest.mark.slow
def test_notebook_in_real_mode_uses_the_command_lines_path(online_run, hub_repos, tmp_path):
    """A chapter run against the replica loads the same commits and reuses the CLI's cache."""
    root, _, _ = online_run
    cache = root / "cache"
    before = sorted(p.name for p in (cache / "embeddings").glob("*.npy"))
    executed = tmp_path / "03_sts.ipynb"
    with HubReplica(hub_repos) as hub:
        done = _execute(
            ROOT / "notebooks" / "03_sts.ipynb", executed, _env(hub.url, root / "hf", cache)
        )
        assert done.returncode == 0, done.stderr[-4000:]
        assert not _forbidden(hub)
        assert not hub.requests("/lfs/"), (
            "weights downloaded again instead of read from the hub cache"
        )
    after = sorted(p.name for p in (cache / "embeddings").glob("*.npy"))
    assert after == before, "the notebook computed embeddings the command line had cached"
    text = executed.read_text()
    assert "STAND-IN" not in text
    assert (
        f"gpt2@{GPT2_COMMIT[:7]}" in text
        and f"openai/clip-vit-base-patch32@{CLIP_COMMIT[:7]}" in text
    )


def test_clip_main_is_refused_before_any_download(hub_repos, tmp_path):
    with HubReplica(hub_repos) as hub:
        env = _env(hub.url, tmp_path / "hf", tmp_path / "cache", CVSP_CLIP_REVISION="main")
        done = _reproduce(tmp_path / "out", env)
    message = _refusal(done)
    assert "revision 'main' holds no model.safetensors" in message
    assert CLIP_COMMIT in message and "CVSP_CLIP_REVISION" in message
    assert not hub.requests("/resolve/"), "files were fetched before the refusal"
    assert not _forbidden(hub), _forbidden(hub)
    _nothing_written(tmp_path / "hf", tmp_path / "cache")
    assert not (tmp_path / "out").exists()


def test_conversion_ref_by_name_loads_the_conversion_commit(hub_repos, tmp_path):
    code = (
        "from cvsp.models import load_real\n"
        "m = load_real('clip', 'refs/pr/66', device='cpu')\nprint(m.commit, m.revision)\n"
    )
    with HubReplica(hub_repos) as hub:
        env = _env(hub.url, tmp_path / "hf", tmp_path / "cache")
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [CLIP_COMMIT, "refs/pr/66"]
    assert not _forbidden(hub)


@pytest.mark.parametrize(
    "spec, revision, expected",
    [
        (
            "ModelSpec('x', 'nobody/no-such-model', 'gpt2', 'X', 1024)",
            None,
            "The hub has no model 'nobody/no-such-model'",
        ),
        (
            None,
            "0" * 40,
            f"The hub has no revision '{'0' * 40}' of gpt2; check CVSP_GPT2_REVISION (pinned default {GPT2_COMMIT})",
        ),
        (None, "no-such-branch", "The hub has no revision 'no-such-branch' of gpt2"),
    ],
    ids=["repository", "commit", "branch"],
)
def test_missing_repository_or_revision(hub_repos, tmp_path, spec, revision, expected):
    with HubReplica(hub_repos) as hub:
        changes = {"CVSP_GPT2_REVISION": revision} if revision else {}
        env = _env(hub.url, tmp_path / "hf", tmp_path / "cache", **changes)
        if spec:
            done = _load(env, spec=spec)
            assert f"ModelUnavailableError: {expected}" in done.stderr
        else:
            done = _reproduce(tmp_path / "out", env)
            assert expected in _refusal(done)
    assert done.returncode != 0
    _nothing_written(tmp_path / "hf", tmp_path / "cache")


def test_hub_answering_500_is_one_sentence_within_seconds(hub_repos, tmp_path):
    with HubReplica(hub_repos) as hub:
        hub.fail_with = 500
        start = time.perf_counter()
        done = _reproduce(tmp_path / "out", _env(hub.url, tmp_path / "hf", tmp_path / "cache"))
        elapsed = time.perf_counter() - start
    assert "The hub answered HTTP 500 when asked for gpt2" in _refusal(done)
    assert elapsed < 60, f"took {elapsed:.0f} s"
    _nothing_written(tmp_path / "hf", tmp_path / "cache")


def test_hub_that_never_answers_is_one_sentence_within_seconds(tmp_path):
    with SilentServer() as silent:
        start = time.perf_counter()
        done = _reproduce(tmp_path / "out", _env(silent.url, tmp_path / "hf", tmp_path / "cache"))
        elapsed = time.perf_counter() - start
    assert "cannot be reached" in _refusal(done)
    assert elapsed < 60, f"took {elapsed:.0f} s"
    _nothing_written(tmp_path / "hf", tmp_path / "cache")


# ------------------------------------------------- BERT and SimCSE (chapter "Images or contrast?")


@pytest.fixture(scope="module")
def contrast_run(request, contrast_repos, tmp_path_factory):
    """``cvsp reproduce --model-set contrast`` in real mode with no revision set: SimCSE
    from its pinned conversion refs (``refs/pr/4``, ``refs/pr/3``)."""
    root = tmp_path_factory.mktemp("contrast")
    removed_when_done(request, root)
    with HubReplica(contrast_repos) as hub:
        done = _reproduce(
            root / "out", _env(hub.url, root / "hf", root / "cache"), "--model-set", "contrast"
        )
    assert done.returncode == 0, done.stderr[-4000:]
    return root, hub


def _contrast_commits() -> dict[str, str]:
    """The commit each model of the contrast set must be read from, in the replica."""
    from hub_repos import simcse_layout

    return {
        "gpt2": GPT2_COMMIT,
        "clip": CLIP_COMMIT,
        "bert": BERT_COMMIT,
        **{
            key: simcse_layout(key)[0][MODELS[key].revision]
            for key in ("simcse_unsup", "simcse_sup")
        },
    }


@pytest.mark.slow
def test_contrast_set_loads_every_model_at_its_commit(contrast_run, online_run, contrast_repos):
    root, hub = contrast_run
    provenance = json.loads((root / "out" / "provenance.json").read_text())
    expected = _contrast_commits()
    served = {repo.repo_id: repo for repo in contrast_repos}
    for key, commit in expected.items():
        record = provenance["models"][key]
        assert record["source"] == "real" and record["commit"] == commit, key
        assert (
            record["pinned_revision"] == MODELS[key].revision
            and record["revision"] == MODELS[key].revision
        ), key
        weights = served[MODELS[key].hub_id].commits[commit]["model.safetensors"]
        assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest(), key
        assert (
            "tokenizer" not in record
        )  # real models bring their own tokenizer, never the stand-in one
    assert (
        provenance["models"]["simcse_unsup"]["published_sha256"]
        == MODELS["simcse_unsup"].published_sha256
    )
    assert provenance["models"]["simcse_sup"]["pinned_commit_prefix"] == "d9aa2ff"
    assert (
        provenance["models"]["simcse_sup"]["pinned_commit"] is None
    )  # a ref is pinned, not a commit
    resolves = [r.path for r in hub.requests("/resolve/")]
    by_ref = [p for p in resolves if not any(c in p for c in expected.values())]
    # files are read at the resolved commits; only config.json by the ref's name (to record the ref)
    assert by_ref and all(
        p.endswith("/config.json") and ("refs%2Fpr%2F" in p or "refs/pr/" in p) for p in by_ref
    ), by_ref
    assert not _forbidden(hub), _forbidden(hub)
    contrasts = (root / "out" / "contrasts.csv").read_text().splitlines()
    assert contrasts[0].startswith("result,task,model,base,variant,base_variant,layer,difference")
    assert {line.split(",")[2:4] == ["simcse_sup", "bert"] for line in contrasts[1:]} == {
        True,
        False,
    }

    # the paper's two models: the very rows the paper-only run wrote
    def paper_rows(path):
        return [
            row for row in path.read_text().splitlines() if row.split(",")[1] in ("gpt2", "clip")
        ]

    online_root = online_run[0]
    assert paper_rows(root / "out" / "scores.csv") == paper_rows(online_root / "out" / "scores.csv")


def test_simcse_loads_by_default_and_again_offline(contrast_repos, tmp_path):
    """No revision set: supervised SimCSE loads from its pinned ref ``refs/pr/3`` (the
    conversion commit, safetensors, nothing else fetched), and then without the hub from
    the hub cache, which remembers the commit the ref named."""
    code = (
        "from cvsp.models import load_models\nfrom cvsp.settings import Settings\n"
        "m = load_models(Settings.from_env(), ('simcse_sup',), device='cpu')['simcse_sup']\n"
        "print(m.revision, m.commit, m.weights_sha256)\n"
    )
    expected = _contrast_commits()["simcse_sup"]
    with HubReplica(contrast_repos) as hub:
        env = _env(hub.url, tmp_path / "hf", tmp_path / "cache")
        online = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
        )
        assert online.returncode == 0, online.stderr[-3000:]
        assert online.stdout.split()[:2] == ["refs/pr/3", expected]
        assert not _forbidden(hub), _forbidden(hub)
        assert hub.requests(f"/resolve/{expected}/model.safetensors")
    offline = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert offline.returncode == 0, offline.stderr[-3000:]
    assert offline.stdout == online.stdout


def test_simcse_ref_that_moved_is_refused_before_any_download(contrast_repos, tmp_path):
    """The pinned ref names another commit than the verified one: refused, nothing fetched."""
    import dataclasses

    moved = []
    for repo in contrast_repos:
        if repo.repo_id == MODELS["simcse_unsup"].hub_id:  # refs/pr/4 now names refs/pr/5's commit
            repo = dataclasses.replace(
                repo, refs={**repo.refs, "refs/pr/4": repo.refs["refs/pr/5"]}
            )
        moved.append(repo)
    with HubReplica(moved) as hub:
        done = _reproduce(
            tmp_path / "out",
            _env(hub.url, tmp_path / "hf", tmp_path / "cache"),
            "--model-set",
            "contrast",
        )
    message = _refusal(done)
    assert "the pinned ref refs/pr/4 now names commit 99b4eb6" in message and "8d6e532" in message
    assert "CVSP_SIMCSE_UNSUP_REVISION" in message
    assert not hub.requests("/resolve/") and not _forbidden(hub)
    _nothing_written(tmp_path / "hf", tmp_path / "cache")


def test_simcse_main_without_safetensors_is_refused_before_any_download(contrast_repos, tmp_path):
    with HubReplica(contrast_repos) as hub:
        env = _env(hub.url, tmp_path / "hf", tmp_path / "cache", CVSP_SIMCSE_UNSUP_REVISION="main")
        done = _reproduce(tmp_path / "out", env, "--model-set", "contrast")
    message = _refusal(done)
    assert "unsup-simcse-bert-base-uncased at revision 'main' holds no model.safetensors" in message
    assert "refs/pr/4" in message  # the pinned default it names
    assert not hub.requests("/resolve/") and not _forbidden(hub)
    _nothing_written(tmp_path / "hf", tmp_path / "cache")


@pytest.mark.slow
def test_chapter_7_in_real_mode_reads_the_contrast_runs_models_and_cache(
    contrast_run, contrast_repos, tmp_path
):
    """Chapter 7 against the replica: the same commits as the command line, no new forward pass."""
    root, _ = contrast_run
    cache = root / "cache"
    before = sorted(p.name for p in (cache / "embeddings").glob("*.npy"))
    executed = tmp_path / "07.ipynb"
    with HubReplica(contrast_repos) as hub:
        env = _env(hub.url, root / "hf", cache)
        done = _execute(ROOT / "notebooks" / "07_images_or_contrast.ipynb", executed, env)
        assert done.returncode == 0, done.stderr[-4000:]
        assert not _forbidden(hub)
        assert not hub.requests("/lfs/"), (
            "weights downloaded again instead of read from the hub cache"
        )
    after = sorted(p.name for p in (cache / "embeddings").glob("*.npy"))
    assert after == before, "the chapter computed embeddings the command line had cached"
    text = executed.read_text()
    assert "STAND-IN" not in text
    for key, commit in _contrast_commits().items():
        assert commit in text, f"chapter 7 does not name the full commit of {key}"


@pytest.mark.slow
def test_the_workflows_real_tests_pass_against_the_replica(contrast_run, book_repos, tmp_path):
    """The Pages workflow's test step runs ``tests/test_real.py`` with the hub reachable:
    against the replica of every repository the book reads (from the contrast run's
    caches; the models of chapter 8 are downloaded), every test passes and none is
    skipped, but those that need the real files' published sha256."""
    from cvsp.registry import BOOK_MODELS

    root, _ = contrast_run
    with HubReplica(book_repos) as hub:
        env = _env(hub.url, root / "hf", root / "cache")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--basetemp",
                str(tmp_path / "inner"),
                str(ROOT / "tests" / "test_real.py"),
                "-k",
                "not published",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    assert done.returncode == 0, done.stdout[-4000:]
    summary = done.stdout.strip().splitlines()[-1]
    published = sum(bool(MODELS[key].published_sha256) for key in BOOK_MODELS)
    assert re.match(rf"{len(BOOK_MODELS) + 1} passed, {published} deselected in ", summary), summary
    assert not _forbidden(hub), _forbidden(hub)


# ------------------------------------------------- the chapter "Beyond one CLIP" (--model-set beyond)

# The files a real load may ask for by name: the safetensors weights, the config and the
# tokenizer's files (transformers also looks for a chat template and added tokens, which
# these repositories do not hold: answered 404). Anything else (another weights file,
# OpenCLIP's checkpoint, an export, the image preprocessor, generation_config.json) is not
# cvsp's to fetch.
WEIGHTS_CONFIG_TOKENIZER = frozenset(
    {
        "model.safetensors",
        "config.json",
        "tokenizer_config.json",
        "tokenizer.json",
        "vocab.json",
        "merges.txt",
        "spiece.model",
        "special_tokens_map.json",
        "added_tokens.json",
        "chat_template.jinja",
    }
)


@pytest.fixture(scope="module")
def beyond_run(request, beyond_repos, tmp_path_factory):
    """``cvsp reproduce --model-set beyond`` in real mode with no revision set, against the
    running replica: LAION's B/32, L/14, SigLIP base and GPT-2 medium beside the paper's two."""
    root = tmp_path_factory.mktemp("beyond")
    removed_when_done(request, root)
    with HubReplica(beyond_repos) as hub:
        done = _reproduce(
            root / "out", _env(hub.url, root / "hf", root / "cache"), "--model-set", "beyond"
        )
        endpoint = hub.url
    assert done.returncode == 0, done.stderr[-4000:]
    return root, hub, endpoint


@pytest.mark.slow
def test_beyond_set_loads_every_model_at_its_pinned_commit(beyond_run, beyond_repos, online_run):
    from hub_repos import marked_never

    from cvsp.registry import MODEL_SETS, PAPER_MODELS

    root, hub, _ = beyond_run
    out = root / "out"
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["warning"] is None and provenance["models_source"] == "real"
    assert list(provenance["models"]) == list(MODEL_SETS["beyond"])
    served = {repo.repo_id: repo for repo in beyond_repos}
    for key in MODEL_SETS["beyond"]:
        spec, record = MODELS[key], provenance["models"][key]
        assert record["source"] == "real" and "tokenizer" not in record, (
            key
        )  # the hub's tokenizer, not cvsp's
        assert record["commit"] == spec.revision == record["pinned_commit"] == record["revision"], (
            key
        )
        weights = served[spec.hub_id].commits[spec.revision]["model.safetensors"]
        assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest(), key
        assert hub.requests(f"/{spec.hub_id}/resolve/{spec.revision}/model.safetensors"), key
    # every file was read at its model's pinned commit, and only weights, config and tokenizer
    pinned = {
        f"/{MODELS[key].hub_id}/resolve/{MODELS[key].revision}/" for key in MODEL_SETS["beyond"]
    }
    resolves = [r.path for r in hub.requests("/resolve/")]
    assert resolves and all(any(p.startswith(prefix) for prefix in pinned) for p in resolves), (
        resolves
    )
    named = {p.split("/resolve/", 1)[1].split("/", 1)[1] for p in resolves}
    assert named <= WEIGHTS_CONFIG_TOKENIZER, sorted(named - WEIGHTS_CONFIG_TOKENIZER)
    assert "spiece.model" in named  # SigLIP's SentencePiece tokenizer, from its repository
    assert not _forbidden(hub), _forbidden(hub)
    assert not marked_never(hub, beyond_repos), marked_never(hub, beyond_repos)

    for name in ("verdicts.csv", "depth_differences.csv"):
        lines = (out / name).read_text().splitlines()
        assert len(lines) > 1 and lines[1].endswith(",pretrained"), name
    verdict_models = {
        line.split(",")[0] for line in (out / "verdicts.csv").read_text().splitlines()[1:]
    }
    assert verdict_models == set(MODEL_SETS["beyond"])
    scores = (out / "scores.csv").read_text().splitlines()
    assert scores[0].startswith("result,model,variant,task,layer,")
    layers = lambda model: {row.split(",")[4] for row in scores[1:] if row.split(",")[1] == model}  # noqa: E731
    assert layers("gpt2_medium") == {str(i) for i in range(25)}  # 24 blocks: hidden states 0..24
    assert layers("gpt2") == {str(i) for i in range(13)}

    # the paper's two models: the very rows the paper-only run wrote
    def paper_rows(path):
        return [row for row in path.read_text().splitlines() if row.split(",")[1] in PAPER_MODELS]

    assert paper_rows(out / "scores.csv") == paper_rows(online_run[0] / "out" / "scores.csv")


@pytest.mark.slow
def test_beyond_rerun_offline_from_the_caches_is_byte_identical(beyond_run, tmp_path):
    """The replica stopped and ``HF_HUB_OFFLINE=1``: the six models resolve and load from the
    hub cache at the same commits (SigLIP's tokenizer too), their embeddings are the ones
    cached (no new forward pass, so the same weights were read), and every table is the same."""
    root, _, stopped = beyond_run
    cache = root / "cache"
    before = sorted(p.name for p in (cache / "embeddings").glob("*.npy"))
    done = _reproduce(
        tmp_path / "out",
        _env(stopped, root / "hf", cache, HF_HUB_OFFLINE="1"),
        "--model-set",
        "beyond",
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert sorted(p.name for p in (cache / "embeddings").glob("*.npy")) == before, (
        "embeddings computed again"
    )
    for name in ("scores.csv", "verdicts.csv", "depth_differences.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (root / "out" / name).read_bytes(), name
    first, again = (
        json.loads((out / "provenance.json").read_text())["models"]
        for out in (root / "out", tmp_path / "out")
    )
    assert {k: m["commit"] for k, m in again.items()} == {k: m["commit"] for k, m in first.items()}
    assert {k: m["weights_sha256"] for k, m in again.items()} == {
        k: m["weights_sha256"] for k, m in first.items()
    }


FACTS = """
from cvsp import facts
from cvsp.embeddings import Embedder
from cvsp.hub import resolve_all
from cvsp.models import load_models
from cvsp.registry import MODEL_SETS, spec_for
from cvsp.settings import Settings

settings = Settings.from_env()
specs = [spec_for(key) for key in MODEL_SETS["beyond"]]
resolved = resolve_all(specs, settings)
loaded = load_models(settings, tuple(specs), resolved=resolved)
for spec in specs:
    commit, online = resolved[spec.key][1]
    assert facts.of_hub(spec, commit, online) == Embedder(loaded[spec.key]).facts, spec.key
print("the same facts:", len(specs))
"""


@pytest.mark.slow
def test_facts_read_from_the_hub_cache_are_the_loaded_models(beyond_run):
    """Offline, from the hub cache the beyond run filled: each model's facts, read from its
    commit and config.json alone (two-tower, GPT-2 and GPT-2 medium's 24 blocks among them),
    are those of the model loaded, so a page that reads its tables names them rightly."""
    root, _, stopped = beyond_run
    env = _env(stopped, root / "hf", root / "cache", HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-c", FACTS], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "the same facts: 6"
