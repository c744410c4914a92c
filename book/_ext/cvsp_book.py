"""Sphinx extension of the book: a warning at the top of every page of a stand-in build,
the book's stylesheet (``static/cvsp.css``: wide tables scroll in their box), each figure
in its desktop and phone layouts (:mod:`cvsp.picture`, loaded from here), MathJax
shipped with the site (:mod:`web_assets`), a fresh start whenever the weights or the
package change, a last line saying how much the cvsp cache holds and where, and the
replay bundle: the tables the pages read from the cvsp cache (listed in a ledger,
``CVSP_LEDGER``, as they run) copied with their manifest into ``_build/replay`` and the
site's ``replay/`` (:mod:`cvsp.replay`).

Whether the build runs stand-in models is read from ``CVSP_MODELS`` (through
:class:`cvsp.settings.Settings`, as the notebooks read it) and stored as the config value ``cvsp_models``. The book's stamp
(:func:`cvsp.stamp.book_stamp`: the model source, the commit each model resolves to, a
digest of the package) is the config value ``cvsp_stamp``: when it differs from the
previous build's, Sphinx re-reads every page and the cache of executed notebooks, which
keys a notebook by its code alone, is emptied, so no output is reused wrongly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from web_assets import MATHJAX, MATHJAX_SCRIPT, AssetError, unpacked

from cvsp import costs, stamp
from cvsp.cache import MANIFEST
from cvsp.replay import bundle_from_ledger
from cvsp.settings import REPLAY_OFF, Settings
from cvsp.storage import package_digest

STATIC = Path(__file__).parent / "static"
LOGGER = logging.getLogger(__name__)

TEXT = (
    "This book was built with stand-in models: the real GPT-2 and CLIP architectures (and "
    "those of chapter 7's BERT and chapter 8's SigLIP, with stand-in tokenizers) with random "
    "weights, because the "
    "pretrained weights could not be downloaded where "
    "it was built. Every number and figure here only shows that the code runs; none of "
    "them says anything about the paper. Build with real models (the default) for results."
)


def _notebook_cache(app, config) -> Path:
    """Where myst-nb keeps executed notebooks (``execute.cache``, else ``_build/.jupyter_cache``)."""
    given = config.nb_execution_cache_path
    return Path(given) if given else Path(app.outdir).parent / ".jupyter_cache"


def _set_models(app, config) -> None:
    settings = Settings.from_env()
    config.cvsp_models = settings.models
    config.cvsp_stamp = stamp.book_stamp(settings)
    cache = _notebook_cache(app, config)
    record = cache.with_name(cache.name + ".cvsp-stamp")
    previous = record.read_text() if record.is_file() else None
    if previous != config.cvsp_stamp and cache.exists():
        LOGGER.info(
            "cvsp: models or package changed since the last build; executing every notebook afresh"
        )
        shutil.rmtree(cache)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(config.cvsp_stamp)


def _mathjax(app, config) -> None:
    """MathJax from the site itself, not a CDN: formulas render with no network. Where it
    can be neither fetched nor read from the cache (a first build offline), the pages load
    it from Sphinx's default CDN instead, and the log says so."""
    try:
        folder = unpacked(MATHJAX, Settings.from_env().cache_dir)
    except AssetError as error:
        LOGGER.info(f"cvsp: {error} The pages load MathJax from its CDN instead.")
        return
    config.html_static_path.append(str(folder))
    config.mathjax_path = MATHJAX_SCRIPT


def _theme(app, config) -> None:
    """Colour mode "auto" said explicitly: the theme's empty default made every page log
    "Got invalid theme mode" as a console error."""
    config.html_context = {"default_mode": "auto", **config.html_context}


def _page(app, pagename, templatename, context, doctree) -> None:
    """Each page's scripts once (Sphinx 7.4 adds an inline script registered after its
    builder started twice, once named None and once "": sphinx-thebe's ``const
    THEBE_JS_URL`` was declared twice, a script error on every page), and bibliography
    entries as items of their list (docutils marks them ``doc-biblioentry`` inside a
    ``role="list"``, which axe reports as aria-required-children), and a hidden cell's
    toggle named by its visible text ("Show code cell source"; myst-nb's aria-label
    "Toggle hidden content" differed from it: axe's label-content-name-mismatch)."""
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", repr(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept
    if "body" in context:
        body = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')
        context["body"] = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")


def _warn(app, doctree) -> None:
    if app.config.cvsp_models != "stand-in":
        return
    warning = nodes.warning("", nodes.paragraph("", TEXT), classes=["cvsp-stand-in"])
    sections = list(doctree.findall(nodes.section))
    parent = sections[0] if sections else doctree
    position = 1 if sections and isinstance(parent[0], nodes.title) else 0
    parent.insert(position, warning)


def _ledger(app, config) -> None:
    """A fresh ledger for this build's pages (their kernels inherit the variable), unless
    one is set already; and the pages compute what the build publishes (``CVSP_REPLAY=off``,
    whatever their ``REPLAY`` line or the shell's ``CVSP_REPLAY`` says: a build that
    replayed would publish another build's tables as its own)."""
    if os.environ.get("CVSP_REPLAY", REPLAY_OFF).lower() != REPLAY_OFF:
        LOGGER.warning(
            "cvsp: CVSP_REPLAY is set in this shell; the book's build computes what it "
            "publishes and does not replay: unset it."
        )
    os.environ["CVSP_REPLAY"] = REPLAY_OFF
    if "CVSP_LEDGER" not in os.environ:
        ledger = Path(app.outdir).parent / "replay-ledger.jsonl"
        ledger.unlink(missing_ok=True)
        os.environ["CVSP_LEDGER"] = str(ledger)


def _commit() -> str | None:
    """The repository's commit, where the book is built from a git checkout."""
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _replay_bundle(app, exception) -> None:
    """The replay bundle of this build's tables, beside the executed notebooks and in the
    site; the bundle of an earlier build is kept for the pages this build did not run."""
    if exception is not None:
        return
    settings = Settings.from_env()
    kept = Path(app.outdir).parent / "replay"
    facts = {
        "package": {
            "version": metadata.version("cvsp"),
            "digest": package_digest(),
            "commit": _commit(),
        },
        "build": {
            "models": settings.models,
            "bootstrap": settings.bootstrap,
            "stamp": app.config.cvsp_stamp,
        },
    }
    if settings.ledger is not None:
        bundle_from_ledger(settings.cache_dir, settings.ledger, kept, facts)
    if (kept / MANIFEST).is_file():
        shutil.rmtree(Path(app.outdir) / "replay", ignore_errors=True)
        shutil.copytree(kept, Path(app.outdir) / "replay")
        size = sum(p.stat().st_size for p in kept.rglob("*") if p.is_file())
        LOGGER.info(f"cvsp: replay bundle in replay/ of the site ({size / 1e6:.1f} MB)")


def _cache_size(app, exception) -> None:
    """The build's last line about the cvsp cache: how much it holds and where
    (``cvsp cache --clear`` or ``make clean-cache`` empties it)."""
    LOGGER.info(f"cvsp: {costs.cache_report(Settings.from_env())} `cvsp cache --clear` empties it.")


def _static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_config_value("cvsp_models", "real", "env")
    app.add_config_value("cvsp_stamp", "", "env")
    app.connect("builder-inited", _static)
    app.add_css_file("cvsp.css")
    app.setup_extension("cvsp.picture")  # each figure's two layouts (desktop, phone)
    app.connect("config-inited", _set_models)
    app.connect("config-inited", _mathjax)
    app.connect("config-inited", _theme)
    app.connect("config-inited", _ledger)
    app.connect("html-page-context", _page)
    app.connect("doctree-read", _warn)
    app.connect("build-finished", _replay_bundle)
    app.connect("build-finished", _cache_size)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
