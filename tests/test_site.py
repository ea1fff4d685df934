"""The rendered course site opens in a real browser: every page loads, every image is drawn,
formulas are typeset by the site's own MathJax, and links between pages resolve.

``make test`` builds the full site first (``make site``) and points ``XAI_TUTOR_SITE`` at it;
without that variable the test builds a small site from two notebooks of the teacher edition.
Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); screenshots go to
``test-output/site/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xai_tutor.teaching import editions
from xai_tutor.teaching.syllabus import notebook_files

from course_scripts import load_script

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "site"
HREFS = "els => els.map(e => e.getAttribute('href'))"
TYPESET = """async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  const prose = [...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText);
  return [prose.join('\\n'), document.querySelectorAll('mjx-container').length];
}"""




@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(executed notebooks, site): ``make site``'s when XAI_TUTOR_SITE names the site, else a
    small site of two notebooks."""
    given = os.environ.get("XAI_TUTOR_SITE")
    if given:
        path = Path(given).resolve()
        assert (path / "index.html").exists(), f"XAI_TUTOR_SITE={given} holds no built site"
        return path.with_name(f"{path.name}-notebooks"), path
    work = tmp_path_factory.mktemp("site")
    editions.build("teacher", work / "notebooks", run=True, only=["01", "05"])
    load_script("site").build(work / "notebooks", work / "site")
    return work / "notebooks", work / "site"


@pytest.fixture(scope="module")
def site(built: tuple[Path, Path]) -> Path:
    return built[1]


def _browser(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                             args=["--no-sandbox", "--disable-gpu"])


def test_every_page_loads_with_its_images_and_formulas(site: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pages = sorted(site.glob("*.html"))
    notebooks = [p for p in pages if p.name[:2].isdigit()]
    assert {"index.html", "results.html"} <= {p.name for p in pages} and notebooks
    whole = len(notebooks) == len(notebook_files())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 900})
            failed: list[str] = []
            drawn = 0
            tab.on("requestfailed", lambda r: failed.append(r.url))
            for html_page in pages:
                failed.clear()
                tab.goto(html_page.as_uri(), wait_until="load")
                images = tab.eval_on_selector_all(
                    "img", "els => els.map(e => [e.src.slice(0, 60), e.complete, e.naturalWidth])")
                broken = [src for src, done, width in images if not done or width == 0]
                assert not broken, f"{html_page.name}: images not drawn: {broken}"
                assert not failed, f"{html_page.name}: requests failed: {failed}"
                if html_page in notebooks:
                    drawn += len(images)
                    prose, typeset = tab.evaluate(TYPESET)
                    assert "$" not in prose, f"{html_page.name}: formulas left as TeX"
                    has_math = "$" in html_page.read_text(encoding="utf-8").split("<body", 1)[1]
                    assert typeset > 0 or not has_math, f"{html_page.name}: MathJax did not run"
                    hrefs = tab.eval_on_selector_all("a[href$='.html']", HREFS)
                    for href in hrefs:
                        if not href.startswith(("http:", "https:")):
                            target = href.split("#")[0]
                            assert (site / target).exists() or not whole, (
                                f"{html_page.name} links to missing page {href}")
                tab.screenshot(path=str(SHOTS / f"{html_page.stem}.png"))
            assert drawn > 0, "no notebook page shows a figure"
            tab.goto((site / "index.html").as_uri())
            links = tab.eval_on_selector_all("table a", HREFS)
            assert sorted(links) == sorted(p.name for p in notebooks)
        finally:
            browser.close()


def test_a_notebook_page_prints_as_a_handout(site: Path) -> None:
    """Print media: no prompts, nothing wider than the paper, figures whole; the PDF has pages."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    page_file = sorted(p for p in site.glob("*.html") if p.name[:2].isdigit())[-1]
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            tab = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
            tab.goto(page_file.as_uri(), wait_until="load")
            tab.emulate_media(media="print")
            hidden = tab.eval_on_selector_all(
                ".jp-InputPrompt", "els => els.every(e => getComputedStyle(e).display == 'none')")
            assert hidden, "input prompts are printed"
            wide = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 1, f"{page_file.name}: the printed page is {wide} px wider than paper"
            pdf = tab.pdf(format="A4")
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / f"{page_file.stem}.pdf").write_bytes(pdf)
            assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 1
        finally:
            browser.close()


def test_the_slides_run_offline_with_their_figures_and_formulas(built: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    """reveal.js decks of the executed notebooks: every request stays on disk, reveal.js starts,
    the slides advance, figures are drawn and formulas typeset."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    notebooks, _site = built
    subset = tmp_path / "notebooks"
    subset.mkdir()
    for book in notebook_files(notebooks, ".ipynb")[:2]:
        (subset / book.name).write_bytes(book.read_bytes())
    decks = load_script("slides").build(subset, tmp_path / "slides")
    assert decks
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            outside: list[str] = []
            tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                "file:") else (outside.append(route.request.url), route.abort()))
            for deck in decks:
                tab.goto(deck.as_uri(), wait_until="load")
                tab.wait_for_function("window.Reveal && Reveal.isReady()")
                total = tab.evaluate("Reveal.getTotalSlides()")
                assert total > 3, f"{deck.name}: {total} slides"
                before = tab.evaluate("JSON.stringify(Reveal.getIndices())")
                tab.evaluate("Reveal.next()")
                assert tab.evaluate("JSON.stringify(Reveal.getIndices())") != before
                images = tab.eval_on_selector_all(
                    "img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
                assert all(images), f"{deck.name}: images not drawn"
                typeset = tab.evaluate(TYPESET)[1]
                has_math = "$" in deck.read_text(encoding="utf-8").split("<body", 1)[1]
                assert typeset > 0 or not has_math, f"{deck.name}: MathJax did not run"
                tab.screenshot(path=str(SHOTS / f"slides-{deck.stem}.png"))
            assert not outside, f"the slides asked the network for {outside}"
        finally:
            browser.close()
