"""Where a model's revision leads on the Hugging Face hub, and why a revision is refused.

A revision (the pinned commit, a user's ``CVSP_<KEY>_REVISION``, a pinned conversion
ref) is resolved to one commit before any download: :func:`resolve_revision` asks the
hub, or offline (``HF_HUB_OFFLINE=1``, or no answer) the local hub cache. It refuses a
commit without ``model.safetensors`` and a pinned ref that has moved, each with one
sentence saying what to do. No torch here: :mod:`cvsp.stamp` names the book's commits
with these functions, :mod:`cvsp.models` loads the weights at them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from huggingface_hub import HfApi, constants, errors, hf_hub_download, try_to_load_from_cache

try:  # the hub client's transport: httpx2 from huggingface_hub 2, httpx before
    from httpx2 import TransportError
except ImportError:  # pragma: no cover (huggingface_hub 1.x)
    from httpx import TransportError

from cvsp.data import sha256_of
from cvsp.registry import (
    MODELS,
    WEIGHTS_FILE,
    ModelSpec,
    ModelUnavailableError,
    is_commit,
    revision_variable,
)
from cvsp.settings import Settings

HUB_TIMEOUT_S = 5.0

# What "the hub cannot be reached" raises: refused connections, DNS, proxies, TLS and
# time-outs (the transport's errors), and offline mode. Anything else is a bug, not the hub.
UNREACHABLE = (TransportError, errors.OfflineModeIsEnabled)


def offline_message(spec: ModelSpec) -> str:
    """Why real weights cannot be had without the hub, and what to do instead."""
    return (
        f"The Hugging Face hub cannot be reached (or HF_HUB_OFFLINE is set), so the real {spec.label} weights "
        f"({spec.hub_id}) cannot be downloaded and are not in the local hub cache; "
        "connect to the internet, or run with stand-in models (random weights) "
        "using --models stand-in or CVSP_MODELS=stand-in."
    )


def refusal_message(spec: ModelSpec, revision: str) -> str:
    """Why a revision without safetensors weights is refused, and what to do instead."""
    if spec.key in MODELS and spec.revision:
        remedy = (
            f"unset {revision_variable(spec.key)} to use the pinned default {spec.revision} "
            f"or name another revision that holds {WEIGHTS_FILE}"
        )
    else:
        remedy = f"name a revision that holds {WEIGHTS_FILE}, such as the hub's safetensors conversion commit"
    return (
        f"{spec.hub_id} at revision {revision!r} holds no {WEIGHTS_FILE}; cvsp reads "
        "safetensors weights only (it never unpickles .bin files nor asks the hub to "
        f"convert them), so {remedy}."
    )


def unpinned_message(spec: ModelSpec) -> str:
    """Why a model without a pinned revision needs a revision from the user."""
    return (
        f"{spec.hub_id} has no pinned commit in cvsp's registry ({spec.note}), so its real weights load "
        f"only at a revision you name: set {revision_variable(spec.key)} to a commit that holds {WEIGHTS_FILE}."
    )


def moved_message(spec: ModelSpec, commit: str) -> str:
    """Why a pinned ref whose commit is not the verified one is refused."""
    return (
        f"{spec.hub_id}: the pinned ref {spec.revision} now names commit {commit}, not the verified "
        f"commit {spec.commit_prefix}…, so the ref has moved and cvsp will not load it; set "
        f"{revision_variable(spec.key)} to a commit you have checked that holds {WEIGHTS_FILE}."
    )


def check_pin(spec: ModelSpec, revision: str, commit: str) -> None:
    """Refuse the registry's pinned ref when it names another commit than the verified one."""
    if (
        spec.commit_prefix
        and revision == spec.revision
        and not commit.startswith(spec.commit_prefix)
    ):
        raise ModelUnavailableError(moved_message(spec, commit))


def cached_commit(spec: ModelSpec, revision: str) -> str | None:
    """The commit a revision names in the local hub cache (a commit names itself)."""
    if is_commit(revision):
        return revision
    cached = try_to_load_from_cache(spec.hub_id, "config.json", revision=revision)
    return Path(cached).parent.name if isinstance(cached, str) else None


def _has_safetensors(names: set[str]) -> bool:
    return WEIGHTS_FILE in names or f"{WEIGHTS_FILE}.index.json" in names


def resolve_revision(spec: ModelSpec, revision: str) -> tuple[str, bool]:
    """``(commit, online)``: the commit ``revision`` names, asked of the hub or its cache.

    A revision whose commit holds no safetensors weights is refused here, before any
    download. Offline (``HF_HUB_OFFLINE=1``) or when the hub cannot be reached, the
    commit comes from the local hub cache, and a clear error says when it is not there.
    """
    if not constants.is_offline_mode():
        try:
            info = HfApi().model_info(spec.hub_id, revision=revision, timeout=HUB_TIMEOUT_S)
        except errors.RepositoryNotFoundError:
            raise ModelUnavailableError(
                f"The hub has no model {spec.hub_id!r} (or it is private); check the model id."
            ) from None
        except errors.RevisionNotFoundError:
            raise ModelUnavailableError(
                f"The hub has no revision {revision!r} of {spec.hub_id}; check "
                f"{revision_variable(spec.key)} (pinned default {spec.revision})."
            ) from None
        except errors.HfHubHTTPError as error:
            status = getattr(error.response, "status_code", "?")
            raise ModelUnavailableError(
                f"The hub answered HTTP {status} when asked for {spec.hub_id} at revision "
                f"{revision!r}; try again later, or set HF_HUB_OFFLINE=1 to use the local hub cache."
            ) from None
        except UNREACHABLE:  # the hub's cache decides below
            pass
        else:
            if not _has_safetensors({s.rfilename for s in info.siblings or ()}):
                raise ModelUnavailableError(refusal_message(spec, revision))
            commit = str(info.sha)
            check_pin(spec, revision, commit)
            if not is_commit(revision):
                _remember_ref(spec, revision, commit)
            return commit, True
    commit = cached_commit(spec, revision)
    if commit is None:
        raise ModelUnavailableError(offline_message(spec))
    check_pin(spec, revision, commit)
    found = [
        try_to_load_from_cache(spec.hub_id, name, revision=commit)
        for name in (WEIGHTS_FILE, f"{WEIGHTS_FILE}.index.json")
    ]
    if any(isinstance(path, str) for path in found):
        return commit, False
    if found[0] is not None:  # the hub said earlier that this commit has no safetensors
        raise ModelUnavailableError(refusal_message(spec, revision))
    raise ModelUnavailableError(offline_message(spec))


def _remember_ref(spec: ModelSpec, revision: str, commit: str) -> None:
    """Record in the hub cache which commit a branch or ref named, so that a later run
    without the hub finds the commit of ``refs/pr/4`` as it finds that of ``main``:
    ``config.json`` is fetched by the ref's name (huggingface_hub then writes the ref)."""
    try:
        path = hf_hub_download(
            spec.hub_id, "config.json", revision=revision, etag_timeout=HUB_TIMEOUT_S
        )
    except (*UNREACHABLE, errors.HfHubHTTPError) as error:
        raise ModelUnavailableError(
            f"Could not read {spec.hub_id} at revision {revision!r} from the hub: {error}"
        ) from None
    if Path(path).parent.name != commit:  # the ref moved between two requests
        raise ModelUnavailableError(
            f"{spec.hub_id}: revision {revision!r} named two commits in a row ({commit}, "
            f"{Path(path).parent.name}); try again, or name a commit."
        )


def weights_digest(spec: ModelSpec, commit: str) -> str | None:
    """sha256 of the cached weights: the hub stores LFS files under their sha256."""
    cached = try_to_load_from_cache(spec.hub_id, WEIGHTS_FILE, revision=commit)
    if not isinstance(cached, str):
        return None
    blob = Path(cached).resolve()
    return blob.name if re.fullmatch(r"[0-9a-f]{64}", blob.name) else sha256_of(blob)


def revision_for(spec: ModelSpec, settings: Settings) -> str:
    """The revision to load: the user's override, else the pinned commit; none is an error."""
    revision = settings.revision(spec.key, spec.revision) if spec.key in MODELS else spec.revision
    if not revision:
        raise ModelUnavailableError(unpinned_message(spec))
    return revision


def resolve_all(
    specs: Iterable[ModelSpec], settings: Settings
) -> dict[str, tuple[str, tuple[str, bool]]]:
    """Each model's revision (:func:`revision_for`) and its ``(commit, online)``
    (:func:`resolve_revision`), by key: every revision named, then each checked (one
    without safetensors refused) before anything is downloaded. Torch-free, so that
    ``cvsp reproduce`` refuses a revision before it loads the model libraries."""
    specs = list(specs)
    revisions = {spec.key: revision_for(spec, settings) for spec in specs}
    return {
        spec.key: (revisions[spec.key], resolve_revision(spec, revisions[spec.key]))
        for spec in specs
    }
