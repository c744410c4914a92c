"""Shared fixtures: settings from the CVSP_* environment, with stand-in models.

Data and tokenizers come from CVSP_DATA_DIR / CVSP_TOKENIZERS_DIR when set (CI points
them at ../shared), otherwise from their canonical sources.
"""

from __future__ import annotations

import pytest

from cvsp.models import load_models
from cvsp.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env().with_(models="stand-in", device="cpu")


@pytest.fixture(scope="session")
def models(settings):
    return load_models(settings)


def run_reproduce(out, cache, *extra: str, check: bool = True):
    """`python -m cvsp reproduce --models stand-in` in a subprocess with its own cache."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, CVSP_CACHE_DIR=str(cache), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "cvsp", "reproduce", "--models", "stand-in", "--out", str(out),
         "--no-progress", *extra],
        env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """One uninterrupted cold run on the full data: (folder with out/ and cache/, process)."""
    root = tmp_path_factory.mktemp("reference")
    return root, run_reproduce(root / "out", root / "cache")


def _real_tokenizers(settings: Settings, folder) -> object:
    """CVSP_TOKENIZERS_DIR, or the real tokenizer files fetched from the hub at the pinned
    commits (where it can be reached, e.g. on GitHub's runners)."""
    if settings.tokenizers_dir is not None:
        return settings.tokenizers_dir
    from huggingface_hub import hf_hub_download

    from cvsp.models import MODELS, PAPER_MODELS

    try:
        for key, spec in ((k, MODELS[k]) for k in PAPER_MODELS):
            for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
                hf_hub_download(spec.hub_id, name, revision=spec.revision, local_dir=folder / key)
    except Exception as error:  # no network and no CVSP_TOKENIZERS_DIR
        pytest.skip(f"the hub replica needs the real tokenizers: set CVSP_TOKENIZERS_DIR ({error})")
    return folder


@pytest.fixture(scope="session")
def hub_repos(settings, tmp_path_factory):
    """The paper's two repositories in their hub layouts, with small stand-in weights."""
    from hub_repos import clip_repo, gpt2_repo

    tokenizers = _real_tokenizers(settings, tmp_path_factory.mktemp("tokenizers"))
    return [gpt2_repo(tokenizers), clip_repo(tokenizers)]


@pytest.fixture(scope="session")
def contrast_repos(settings, hub_repos):
    """The paper's two repositories, bert-base-uncased and the two SimCSE fine-tunes."""
    from hub_repos import bert_repos

    return [*hub_repos, *bert_repos(settings)]
