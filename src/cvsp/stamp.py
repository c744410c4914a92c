"""What a built book depends on beyond its notebooks' code, in one line: the book's stamp.

Jupyter Book's cache of executed notebooks keys each notebook by its code alone, but the
same code gives other numbers with other weights (another ``CVSP_*_REVISION``, a ref
that now names another commit, stand-ins), another number of bootstrap replicates or
another version of this package. The stamp names them: the model source, the commit each
model of the book resolves to (or the stand-ins' seed), ``CVSP_BOOTSTRAP`` and a digest
of the package's source. (The data files need no place in it: they are checked against
their sha256 wherever they come from.) One stamp serves the whole book: a change
re-executes every chapter, also those that do not read the changed model. The book's Sphinx extension
(``book/_ext/cvsp_book.py``) compares it with the stamp of the previous build and, when
they differ, empties the notebook cache and re-reads every page. No torch is imported
here: the extension computes the stamp before any notebook runs.
"""

from __future__ import annotations

from cvsp.hub import resolve_revision, revision_for
from cvsp.registry import BOOK_MODELS, MODELS, ModelUnavailableError, is_commit
from cvsp.settings import Settings
from cvsp.storage import package_digest


def resolved_commits(settings: Settings, keys: tuple[str, ...] = BOOK_MODELS) -> dict[str, str]:
    """The commit each model's revision names: a commit names itself; a ref or branch is
    asked of the hub (offline: of the hub cache, as a build would). A revision that
    cannot be resolved, or that is refused (a pinned ref that has moved, no safetensors),
    stays as it is, marked: the build then stops on it with the reason."""
    commits = {}
    for key in keys:
        try:
            revision = revision_for(MODELS[key], settings)
            commits[key] = (
                revision if is_commit(revision) else resolve_revision(MODELS[key], revision)[0]
            )
        except ModelUnavailableError:
            commits[key] = f"{settings.revision(key, MODELS[key].revision or 'none')} (unresolved)"
    return commits


def book_stamp(settings: Settings, keys: tuple[str, ...] = BOOK_MODELS) -> str:
    """One line naming the weights and the code a build of the book runs."""
    if settings.is_stand_in:
        sized = "" if settings.standin_size == "full" else f" {settings.standin_size}"
        weights = f"stand-in{sized} seed {settings.standin_seed}"
    else:
        weights = "real " + " ".join(
            f"{key}@{commit}" for key, commit in resolved_commits(settings, keys).items()
        )
    return f"{weights} bootstrap {settings.bootstrap} cvsp {package_digest()}"
