"""A local replica of the Hugging Face hub, for testing the real-weights path offline.

An HTTP server on 127.0.0.1 that speaks the part of the hub's protocol that
``huggingface_hub`` and transformers use, serving repositories laid out as the real ones
are (commits, branches, pull-request refs, regular and LFS files) with stand-in content.
Point ``HF_ENDPOINT`` at :attr:`HubReplica.url`. Every request is logged.

Routes (``{rev}`` is a branch, ``refs/pr/N`` URL-quoted or not, or a full commit hash):

| route | answer |
| --- | --- |
| ``HEAD/GET /{repo}/resolve/{rev}/{path}`` | regular file: 200 with ``ETag`` (git blob sha1), ``Content-Length``, ``X-Repo-Commit``; LFS file: 302 to the storage origin's ``/lfs/{sha256}`` with ``X-Linked-Etag`` (sha256), ``X-Linked-Size``, ``X-Repo-Commit`` |
| ``GET /lfs/{sha256}`` on the storage origin | the LFS object (``Range`` answered with 206) |
| ``GET /api/models/{repo}`` and ``.../revision/{rev}`` | model info: ``id``, ``sha``, ``siblings`` |
| ``GET /api/models/{repo}/tree/{rev}[/{path}]`` | the folder listing (``oid``, ``size``, ``lfs``) |
| anything else | 404 (logged, so tests can assert it was never asked for) |

Errors, as the hub sends them: an unknown repository 401 with ``X-Error-Code:
RepoNotFound``; an unknown revision 404 ``RevisionNotFound``; a missing file 404
``EntryNotFound`` (with ``X-Repo-Commit``). :attr:`HubReplica.fail_with` makes every
request answer with that status instead (e.g. 500). :class:`SilentServer` accepts
connections and never answers.

As on the hub, LFS objects are served from another origin than the API (the hub
redirects to its CDN): here a second port on 127.0.0.1, :attr:`HubReplica.storage_url`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# Paths cvsp must never ask for: pickled or other frameworks' weights, and the hub's
# discussion, pull-request, conversion and commit routes (transformers' conversion fallback).
NEVER_REQUESTED = (
    "pytorch_model.bin",
    "flax_model",
    "tf_model",
    "discussions",
    "/pulls",
    "convert",
    "/commit/",
    "/preupload/",
)


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a file's content (the hub's ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    """A model repository: commits (path -> bytes), refs, and which paths are LFS."""

    repo_id: str
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "main", "refs/pr/66" -> commit
    lfs: frozenset[str] = frozenset()  # paths stored with git LFS

    def resolve(self, revision: str) -> str | None:
        """The commit a revision names, or None."""
        if revision in self.refs:
            return self.refs[revision]
        if COMMIT_RE.match(revision) and revision in self.commits:
            return revision
        return None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    size: int = 0  # bytes of the body sent


class HubReplica:
    """The server. Use as a context manager, or call :meth:`start` / :meth:`stop`."""

    def __init__(self, repos: list[Repo]) -> None:
        self.repos = {repo.repo_id: repo for repo in repos}
        self.log: list[Request] = []
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        self._objects = {
            hashlib.sha256(content).hexdigest(): content
            for repo in repos
            for files in repo.commits.values()
            for path, content in files.items()
            if path in repo.lfs
        }
        self._servers: list[ThreadingHTTPServer] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The hub's origin: set ``HF_ENDPOINT`` to it."""
        return self._origin(0)

    @property
    def storage_url(self) -> str:
        """The origin LFS downloads are redirected to (the hub's CDN)."""
        return self._origin(1)

    def _origin(self, which: int) -> str:
        assert self._servers, "the replica is not running"
        host, port = self._servers[which].server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubReplica:
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
                replica._answer(self, body=False)

            def do_GET(self) -> None:  # noqa: N802
                replica._answer(self, body=True)

            def do_POST(self) -> None:  # noqa: N802
                replica._answer(self, body=True)

            def log_message(self, *args: object) -> None:  # the replica keeps its own log
                pass

        for _ in ("hub", "storage"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def __enter__(self) -> HubReplica:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def bytes_sent(self) -> int:
        """Bytes of every body served so far (what the clients downloaded)."""
        with self._lock:
            return sum(r.size for r in self.log)

    def requests(self, pattern: str = "") -> list[Request]:
        """Logged requests whose path contains ``pattern``."""
        with self._lock:
            return [r for r in self.log if pattern in r.path]

    # ------------------------------------------------------------------ answers

    def _send(
        self, handler, status: int, headers: dict[str, str], payload: bytes, body: bool
    ) -> None:
        with self._lock:
            self.log.append(
                Request(handler.command, handler.path, status, len(payload) if body else 0)
            )
        handler.send_response(status)
        headers = {"Content-Length": str(len(payload)), **headers}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if body and payload:
            handler.wfile.write(payload)

    def _error(
        self, handler, status: int, code: str, message: str, body: bool, commit: str | None = None
    ) -> None:
        headers = {
            "X-Error-Code": code,
            "X-Error-Message": message,
            "Content-Type": "application/json",
        }
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(handler, status, headers, json.dumps({"error": message}).encode(), body)

    def _json(self, handler, payload: object, body: bool) -> None:
        self._send(
            handler, 200, {"Content-Type": "application/json"}, json.dumps(payload).encode(), body
        )

    def _answer(self, handler, body: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        if self.fail_with is not None:
            self._send(handler, self.fail_with, {}, b"replica failure", body)
            return
        if path.startswith("/lfs/"):
            self._lfs(handler, path.removeprefix("/lfs/"), body)
        elif path.startswith("/api/models/"):
            self._api(handler, path.removeprefix("/api/models/"), body)
        elif "/resolve/" in path:
            self._resolve(handler, path, body)
        else:
            self._send(handler, 404, {}, b"not a route of the replica", body)

    def _repo_and_rest(self, text: str) -> tuple[Repo | None, str]:
        """Split ``org/name/rest`` or ``name/rest`` at the longest known repository id."""
        for repo_id in sorted(self.repos, key=len, reverse=True):
            if text == repo_id or text.startswith(repo_id + "/"):
                return self.repos[repo_id], text[len(repo_id) :].lstrip("/")
        return None, text

    def _split_revision(self, repo: Repo, rest: str) -> tuple[str, str]:
        """``refs/pr/66/config.json`` -> (``refs/pr/66``, ``config.json``)."""
        for ref in sorted(repo.refs, key=len, reverse=True):
            if rest == ref or rest.startswith(ref + "/"):
                return ref, rest[len(ref) :].lstrip("/")
        revision, _, remainder = rest.partition("/")
        return revision, remainder

    def _resolve(self, handler, path: str, body: bool) -> None:
        repo_part, _, rest = path.lstrip("/").partition("/resolve/")
        repo = self.repos.get(repo_part)
        if repo is None:
            self._error(handler, 401, "RepoNotFound", "Repository not found", body)
            return
        revision, filename = self._split_revision(repo, rest)
        commit = repo.resolve(revision)
        if commit is None:
            self._error(handler, 404, "RevisionNotFound", f"Invalid rev id: {revision}", body)
            return
        files = repo.commits[commit]
        if filename not in files:
            self._error(handler, 404, "EntryNotFound", "Entry not found", body, commit=commit)
            return
        content = files[filename]
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if filename in repo.lfs:
            digest = hashlib.sha256(content).hexdigest()
            headers.update(
                {
                    "Location": f"{self.storage_url}/lfs/{digest}",
                    "X-Linked-Etag": f'"{digest}"',
                    "X-Linked-Size": str(len(content)),
                    "ETag": f'"{git_blob_sha1(content)}"',
                }
            )
            self._send(handler, 302, headers, b"", body)
            return
        headers.update(
            {"ETag": f'"{git_blob_sha1(content)}"', "Content-Type": "application/octet-stream"}
        )
        self._send(handler, 200, headers, content, body)

    def _lfs(self, handler, digest: str, body: bool) -> None:
        content = self._objects.get(digest)
        if content is None:
            self._send(handler, 404, {}, b"no such object", body)
            return
        status, start = 200, 0
        headers = {
            "ETag": f'"{digest}"',
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        match = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range", ""))
        if match:
            status, start = 206, int(match.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
        self._send(handler, status, headers, content[start:], body)

    def _api(self, handler, rest: str, body: bool) -> None:
        repo, remainder = self._repo_and_rest(rest)
        if repo is None:
            self._error(handler, 401, "RepoNotFound", "Repository not found", body)
            return
        if remainder == "" or remainder.startswith("revision/"):
            revision = remainder.removeprefix("revision/") or "main"
            commit = repo.resolve(revision)
            if commit is None:
                self._error(handler, 404, "RevisionNotFound", f"Invalid rev id: {revision}", body)
                return
            siblings = [{"rfilename": name} for name in sorted(repo.commits[commit])]
            info = {
                "_id": repo.repo_id,
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "sha": commit,
                "private": False,
                "disabled": False,
                "gated": False,
                "siblings": siblings,
            }
            self._json(handler, info, body)
        elif remainder.startswith("tree/"):
            revision, folder = self._split_revision(repo, remainder.removeprefix("tree/"))
            commit = repo.resolve(revision)
            if commit is None:
                self._error(handler, 404, "RevisionNotFound", f"Invalid rev id: {revision}", body)
                return
            self._tree(handler, repo, commit, folder, body)
        else:  # discussions, pull requests, commits, conversions: never expected
            self._send(handler, 404, {}, b"not a route of the replica", body)

    def _tree(self, handler, repo: Repo, commit: str, folder: str, body: bool) -> None:
        prefix = f"{folder}/" if folder else ""
        entries, folders = [], set()
        for name, content in sorted(repo.commits[commit].items()):
            if not name.startswith(prefix):
                continue
            inner = name[len(prefix) :]
            if "/" in inner:
                folders.add(prefix + inner.split("/")[0])
                continue
            entry = {
                "type": "file",
                "oid": git_blob_sha1(content),
                "size": len(content),
                "path": name,
            }
            if name in repo.lfs:
                entry["lfs"] = {
                    "oid": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "pointerSize": 134,
                }
            entries.append(entry)
        entries += [
            {"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)
        ]
        if folder and not entries:
            self._error(
                handler, 404, "EntryNotFound", f"{folder} does not exist", body, commit=commit
            )
            return
        self._json(handler, entries, body)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung hub)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)  # the kernel completes handshakes; nothing ever reads

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
