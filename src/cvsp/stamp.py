"""What a built book depends on beyond its notebooks' code, in one line: the book's stamp.

Jupyter Book's cache of executed notebooks keys each notebook by its code alone, but the
same code gives other numbers with other weights (another ``CVSP_*_REVISION``, a ref
that now names another commit, stand-ins) or another version of this package. The stamp
names all of them: the model source, the commit each model of the book resolves to (or
the stand-ins' seed) and a digest of the package's source. The book's Sphinx extension
(``book/_ext/cvsp_book.py``) compares it with the stamp of the previous build and, when
they differ, empties the notebook cache and re-reads every page.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cvsp.models import MODEL_SETS, MODELS, ModelUnavailableError, cached_commit, is_commit, resolve_revision
from cvsp.settings import Settings

BOOK_MODELS = MODEL_SETS["contrast"]  # every model a chapter of the book loads


def package_digest(root: Path | None = None) -> str:
    """sha256 (16 hex digits) of every module of the installed package, names and contents."""
    root = root or Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def resolved_commits(settings: Settings, keys: tuple[str, ...] = BOOK_MODELS) -> dict[str, str]:
    """The commit each model's revision names: a commit names itself; a ref or branch is
    asked of the hub, else of the hub cache. Where neither knows it, the revision itself,
    marked, so that the build reports the reason when it loads the model."""
    commits = {}
    for key in keys:
        spec = MODELS[key]
        revision = settings.revision(key, spec.revision or "")
        if is_commit(revision):
            commits[key] = revision
            continue
        try:
            commits[key] = resolve_revision(spec, revision)[0]
        except ModelUnavailableError:
            commits[key] = cached_commit(spec, revision) or f"{revision or 'none'} (unresolved)"
    return commits


def book_stamp(settings: Settings, keys: tuple[str, ...] = BOOK_MODELS) -> str:
    """One line naming the weights and the code a build of the book runs."""
    if settings.is_stand_in:
        weights = f"stand-in seed {settings.standin_seed}"
    else:
        weights = "real " + " ".join(f"{key}@{commit}" for key, commit in resolved_commits(settings, keys).items())
    return f"{weights} cvsp {package_digest()}"
