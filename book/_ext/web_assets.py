"""Web assets shipped inside the built book, so that its pages render with no network.

Each asset is an npm package at a pinned version, fetched once from the npm registry
with pooch (the tarball npm itself would download), checked by sha256 and unpacked into
cvsp's cache (``CVSP_CACHE_DIR``). The pins sit beside npm's own integrity value
(``npm view <name>@<version> dist.integrity``), which says the same thing in sha512.

- MathJax 3 renders the formulas (Sphinx's ``mathjax_path`` points at the local copy;
  without it every page would load MathJax from a CDN and show raw TeX offline).
- axe-core is not part of the site: the browser test injects it to check each page.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import pooch

from cvsp.storage import atomic_folder


@dataclass(frozen=True)
class Asset:
    """An npm package at a pinned version, and the files of it the book keeps."""

    name: str
    version: str
    sha256: str  # of the registry's tarball
    npm_integrity: str  # npm's dist.integrity of the same tarball (sha512, base64)
    keep: tuple[str, ...]  # paths inside the package (a trailing "/" keeps a folder)

    @property
    def url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"

    def kept(self, member: str) -> bool:
        """Whether a path inside the package is one the book keeps."""
        return any(
            member == path or (path.endswith("/") and member.startswith(path)) for path in self.keep
        )


# The combined TeX + MathML -> CommonHTML component, what it loads on demand (TeX
# extensions, the menu, the accessibility tools and the speech rule engine they use)
# and the CommonHTML fonts; not the SVG output nor the other combined components.
MATHJAX = Asset(
    "mathjax",
    "3.2.2",
    sha256="1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09",
    npm_integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    keep=(
        "es5/tex-mml-chtml.js",
        "es5/input/",
        "es5/output/chtml/",
        "es5/a11y/",
        "es5/ui/",
        "es5/sre/",
    ),
)
MATHJAX_SCRIPT = "mathjax/es5/tex-mml-chtml.js"  # relative to the static folder

AXE = Asset(
    "axe-core",
    "4.14.1",
    sha256="e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745",
    npm_integrity="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
    keep=("axe.min.js",),
)


class AssetError(RuntimeError):
    """An asset could not be fetched or did not match its pin."""


def unpacked(asset: Asset, cache: Path) -> Path:
    """A folder holding ``<asset.name>/<kept files>``: fetched, checked and unpacked on
    first use, read from the cache afterwards (offline too)."""
    folder = cache / "web-assets" / f"{asset.name}-{asset.version}"
    if folder.is_dir():
        return folder
    try:
        tarball = pooch.retrieve(
            asset.url,
            known_hash=f"sha256:{asset.sha256}",
            fname=f"{asset.name}-{asset.version}.tgz",
            path=cache / "web-assets",
            progressbar=False,
        )
    except Exception as error:  # no network, a proxy, or a tarball that is not the pinned one
        raise AssetError(
            f"{asset.name} {asset.version} could not be fetched from {asset.url} ({error}); the book ships it "
            f"so that its pages need no network. Connect once: it is then kept in {cache / 'web-assets'}."
        ) from error
    with (
        atomic_folder(folder, replace=False, mode=0o755) as staging,
        tarfile.open(tarball) as archive,
    ):
        members = []
        for member in archive.getmembers():
            inside = member.name.removeprefix("package/")
            if member.isfile() and asset.kept(inside) and ".." not in Path(inside).parts:
                member.name = f"{asset.name}/{inside}"
                members.append(member)
        if not members:
            raise AssetError(f"{asset.url} holds none of {', '.join(asset.keep)}.")
        # regular files only, under the staging folder; the "data" filter where this
        # Python has it (3.10.12, 3.11.4 and later) also drops modes and owners
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(staging, members=members, **safe)
    return folder
