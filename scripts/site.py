"""Render the course to a static HTML site: one page per executed notebook, an index with the
course map, and the results of the paper's experiment.

Usage (``make site`` runs both steps)::

    python scripts/editions.py teacher build/site-notebooks --execute
    python scripts/site.py build/site-notebooks build/site

Pages are rendered with nbconvert (figures are embedded in the page); the folder is written beside
the target and renamed into place when complete. Open ``build/site/index.html`` in a browser.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from xai_tutor.atomic import atomic_folder
from xai_tutor.teaching.syllabus import notebook_files
from xai_tutor.teaching.web_pages import (
    MATHJAX,
    copy_mathjax,
    for_the_web,
    objectives_of,
    title_of,
)

ROOT = Path(__file__).resolve().parents[1]
NBCONVERT_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
                               re.S)
RESULTS = ROOT / "results"
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}
img{max-width:100%}nav a{margin-right:1rem}
"""
#: Every page prints as a handout (the browser's Print or Save as PDF): no navigation or prompts,
#: long lines wrapped instead of cut, no scroll boxes, figures and tables kept whole on a page,
#: the address of each outside link written out.
PRINT_STYLE = """<style media="print">
@page{margin:14mm}
nav,.jp-InputPrompt,.jp-OutputPrompt,.jp-Collapser{display:none!important}
body{max-width:none!important;margin:0!important;padding:0!important;font-size:10.5pt}
.jp-Notebook,.jp-Cell,.jp-InputArea,.jp-OutputArea-child{padding-left:0!important;
margin-left:0!important}
pre,code,.jp-OutputArea-output pre{white-space:pre-wrap!important;overflow-wrap:anywhere}
.jp-OutputArea-output,.jp-RenderedHTMLCommon{overflow:visible!important;max-height:none!important}
img,svg,table,pre,.jp-OutputArea-child{break-inside:avoid}
img{max-width:100%!important;height:auto!important}
table{font-size:9pt}
h1,h2,h3,h4{break-after:avoid}
a[href^="http"]::after{content:" <" attr(href) ">";font-size:80%;overflow-wrap:anywhere}
</style>"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
            f"{html.escape(title)}</title><style>{STYLE}</style>{PRINT_STYLE}</head><body>"
            f"<nav><a href='index.html'>Course map</a><a href='results.html'>Results</a></nav>"
            f"{body}{MATHJAX}</body></html>")


EXTERNAL = re.compile(r"<script[^>]*src=[\"']https?://[^>]*>\s*</script>|<link[^>]*href=[\"']https?://[^>]*>")


def with_local_mathjax(body: str) -> str:
    """An nbconvert page with its CDN MathJax replaced by the site's own copy and no other
    script or style sheet from the network (require.js, widget managers): the site is offline;
    and with the print style sheet, so that the page prints as a handout."""
    body = EXTERNAL.sub("", body)
    body, n = NBCONVERT_MATHJAX.subn(lambda _m: MATHJAX, body, count=1)
    if n == 0:
        body = body.replace("</head>", MATHJAX + "</head>", 1)
    return body.replace("</head>", PRINT_STYLE + "</head>", 1)


def render_results(out: Path) -> str:
    """``results/README.md`` as a page; its figures are copied beside it."""
    source = RESULTS / "README.md"
    if not source.exists():
        return page("Results", "<h1>Results</h1><p>No results yet: run <code>make experiment"
                               "</code>.</p>")
    (out / "results").mkdir(exist_ok=True)
    for item in RESULTS.iterdir():  # figures, tables and notes the page links to
        if item.is_file() and item.name != "README.md":
            shutil.copy2(item, out / "results" / item.name)
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"\]\((?!https?:|#)([^)/]+\.(?:png|md|csv|json))\)", r"](results/\1)", text)
    return page("Results", markdown2html_mistune(text))


def build(notebooks: Path, out: Path) -> list[Path]:
    """Render every course notebook (``NN[b-z]?_slug.ipynb``) in ``notebooks`` into the site
    folder ``out``, in course order."""
    books = notebook_files(Path(notebooks), ".ipynb")
    if not books:
        raise SystemExit(f"site: no notebooks in {notebooks}; run scripts/editions.py first")
    with atomic_folder(Path(out)) as tmp:
        exporter = HTMLExporter(template_name="lab")
        copy_mathjax(tmp)
        rows = []
        for book in books:
            nb = for_the_web(nbformat.read(book, as_version=4))
            body, _ = exporter.from_notebook_node(nb)
            body = re.sub(r'href="(\d\d[a-z]?_[a-z0-9_]+)\.ipynb', r'href="\1.html', body)
            body = with_local_mathjax(body)
            (tmp / f"{book.stem}.html").write_text(body, encoding="utf-8")
            rows.append(f"<tr><td><a href='{book.stem}.html'>{html.escape(title_of(nb, book.stem))}"
                        f"</a></td><td>{markdown2html_mistune(objectives_of(nb))}</td></tr>")
        (tmp / "results.html").write_text(render_results(tmp), encoding="utf-8")
        index = ("<h1>xai-tutor: post-hoc explanations of CNN image classifiers</h1>"
                 "<p>The course's notebooks, run, with their outputs. Every page prints as a "
                 "handout (the browser's Print, or Save as PDF).</p>"
                 "<table><tr><th>Notebook</th><th>About</th></tr>" + "".join(rows) + "</table>")
        (tmp / "index.html").write_text(page("xai-tutor", index), encoding="utf-8")
    return sorted(Path(out).glob("*.html"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, help="folder of executed notebooks")
    parser.add_argument("out", type=Path, help="site folder to write")
    args = parser.parse_args(argv)
    pages = build(args.notebooks, args.out)
    print(f"site: {len(pages)} pages in {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
