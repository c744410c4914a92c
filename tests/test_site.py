"""The built book in a real browser: every page, desktop and phone, light and dark, offline.

The stand-in build (``test_book.built_book``) is served on 127.0.0.1 and opened in
Chromium (Debian's ``chromium``, driven by Playwright; never a downloaded browser).
Every request that leaves the local server is refused, as on a machine without a
network. A page fails on: a script error or console error, a local request that failed,
any request for another host (the site must be self-contained), TeX left unrendered in
its text or a formula MathJax could not render, a page wider than the screen, an axe-core violation of impact serious or
critical, or an image without a real description. On the phone (390 px), every figure
must also be readable (:func:`_figure_problems`): within the screen, shown at 55 % or
more of its natural size, its smallest text at least the size of the theme's small text
in CSS pixels, and its colours undimmed in dark mode. The search page is queried for a
glossary term (an empty index anchor once made it throw a TypeError).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from support.runs import ROOT, module_at, toc_files

from cvsp.settings import Settings

web_assets = module_at(
    ROOT / "book" / "_ext" / "web_assets.py"
)  # the book's extension folder, not a package

pytestmark = pytest.mark.slow

VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
# Each page is loaded once per viewport in the light scheme, checked, switched to the dark
# scheme (the theme follows the system's scheme: the same switch a reader's system makes)
# and checked again; loading it again for the dark scheme cost a minute more per viewport.
SCHEMES = ("light", "dark")
SERIOUS = ("serious", "critical")
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|rho|mathrm|operatorname|sum|top)\b")
SHOWN_AT_LEAST = 0.55  # of a figure's natural width, on the phone
PX_PER_PT = 96 / 72
# Each figure as the page shows it: its box, the natural width and smallest text (in
# points) of the layout the browser chose (cvsp.picture's data- attributes: the <source>
# whose image was loaded, else the <picture>'s own, the desktop's) and the theme's small text.
FIGURES = """() => {
  const small = document.createElement('small');
  small.textContent = 'x';
  (document.querySelector('main') || document.body).appendChild(small);
  const smallPx = parseFloat(getComputedStyle(small).fontSize);
  small.remove();
  return [...document.querySelectorAll('div.cell_output img')].map(img => {
    const picture = img.closest('picture.cvsp-figure');
    const sources = picture ? [...picture.querySelectorAll('source')] : [];
    const chosen = sources.find(s => new URL(s.getAttribute('srcset'), location.href).href === img.currentSrc);
    const facts = chosen || picture;
    const box = img.getBoundingClientRect();
    return {name: img.currentSrc.split('/').pop(), left: box.left, right: box.right,
            width: box.width, screen: window.innerWidth, smallPx,
            natural: facts ? parseFloat(facts.dataset.naturalWidth) : img.naturalWidth,
            points: facts ? parseFloat(facts.dataset.smallestPt) : null,
            filter: getComputedStyle(img).filter};
  });
}"""
A_PATH = re.compile(r"(^|/)[^/\s]+\.(svg|png|jpe?g|gif|webp)$|^\.\./|^_images/", re.IGNORECASE)


def chromium() -> str:
    """Debian's Chromium (``CVSP_CHROMIUM`` may name another binary)."""
    found = (
        os.environ.get("CVSP_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found:
        message = "no Chromium: apt-get install chromium (or set CVSP_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book):
    html = built_book[0] / "_build" / "html"
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def axe_script() -> Path:
    return (
        web_assets.unpacked(web_assets.AXE, Settings.from_env().cache_dir)
        / "axe-core"
        / "axe.min.js"
    )


class Visit:
    """One page in one view, with every problem the browser reported while it loaded."""

    def __init__(self, browser, origin: str, viewport: str, scheme: str = SCHEMES[0]):
        self.origin, self.problems = origin, []
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on(
            "requestfailed",
            lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"),
        )
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"),
        )

    def _route(self, route) -> None:
        if route.request.url.startswith(self.origin):
            route.continue_()
        else:  # no network: the site must not need one
            self.problems.append(f"request for another host: {route.request.url}")
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(f"{self.origin}/{path}", wait_until="load")
        self.page.wait_for_function(
            "() => !window.MathJax || !window.MathJax.startup || window.MathJax.startup.promise"
        )
        self.page.evaluate(
            "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise"
        )
        self.page.wait_for_timeout(150)  # late console errors of deferred scripts

    def switch(self, scheme: str) -> None:
        """The system's colour scheme becomes ``scheme``; the page's theme must follow."""
        self.page.emulate_media(color_scheme=scheme)
        self.page.wait_for_function(
            "scheme => document.documentElement.dataset.theme === scheme", arg=scheme
        )
        # the theme's colours change by CSS transitions: checked once they have ended
        self.page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running')"
        )

    def close(self) -> None:
        self.context.close()


def _figure_problems(page) -> list[str]:
    """What keeps a figure from being read on this screen: wider than it, shrunk below
    :data:`SHOWN_AT_LEAST` of its natural size, its smallest text smaller in CSS pixels
    than the theme's small text, or dimmed by the dark theme's filter."""
    problems = []
    for figure in page.evaluate(FIGURES):
        name, shown = figure["name"][:16], figure["width"] / figure["natural"]
        if figure["left"] < -1 or figure["right"] > figure["screen"] + 1:
            problems.append(f"figure {name} reaches beyond the screen ({figure['right']:.0f} px)")
        if shown < SHOWN_AT_LEAST:
            problems.append(f"figure {name} shown at {shown:.0%} of its natural width")
        if figure["points"] is None:
            problems.append(f"figure {name} without its layouts' sizes (not a cvsp figure)")
        elif figure["points"] * PX_PER_PT * shown < figure["smallPx"] - 0.05:
            label = figure["points"] * PX_PER_PT * shown
            problems.append(
                f"figure {name}: smallest text {label:.1f} px, small text {figure['smallPx']} px"
            )
        if figure["filter"] != "none":
            problems.append(f"figure {name} dimmed by a filter: {figure['filter']}")
    return problems


def _check_page(visit: Visit, axe_script: Path, viewport: str) -> list[str]:
    page, problems = visit.page, list(visit.problems)
    if viewport == "phone":
        problems += _figure_problems(page)
    text = page.evaluate(
        "() => document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText"
    )
    for match in RAW_TEX.finditer(text):
        problems.append(f"raw TeX: …{text[max(0, match.start() - 40) : match.end() + 40]!r}…")
    errors = page.evaluate(
        "() => [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error'))"
    )
    problems += [f"formula MathJax could not render: {error}" for error in errors]
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        problems.append(f"the page is {overflow} px wider than the screen")
    for image in page.evaluate(
        "() => [...document.images].map(i => [i.getAttribute('src'), i.getAttribute('alt')])"
    ):
        source, alt = image
        if alt is None or not alt.strip() or A_PATH.search(alt.strip()) or alt.strip() == source:
            problems.append(f"image without a description: {source} (alt {alt!r})")
    if not page.evaluate("() => typeof axe !== 'undefined'"):  # once per load
        page.add_script_tag(path=str(axe_script))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )
    problems += [
        f"axe {v['impact']} {v['id']}: {v['nodes']}" for v in violations if v["impact"] in SERIOUS
    ]
    return problems


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_renders_offline_without_errors(site, browser, axe_script, viewport):
    origin, _ = site
    found = {}
    for page in toc_files():
        visit = Visit(browser, origin, viewport)
        try:
            visit.open(f"{page}.html")
            for scheme in SCHEMES:
                visit.switch(scheme)
                problems = _check_page(visit, axe_script, viewport)
                if problems:
                    found[f"{page} ({viewport}, {scheme})"] = problems
        finally:
            visit.close()
    assert not found, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in found.items())


def test_search_finds_a_glossary_term_without_errors(site, browser):
    origin, _ = site
    visit = Visit(browser, origin, "desktop")
    try:
        visit.open("search.html?q=anisotropy")
        visit.page.wait_for_selector(
            "#search-results .search-summary, #search-results p", timeout=20_000
        )
        visit.page.wait_for_timeout(500)
        results = visit.page.locator("#search-results li").count()
        links = visit.page.eval_on_selector_all(
            "#search-results li a", "as => as.map(a => a.getAttribute('href'))"
        )
        problems = list(visit.problems)
    finally:
        visit.close()
    assert results > 0, "no search result for a glossary term"
    assert any("glossary" in (link or "") for link in links), links
    assert not problems, problems
