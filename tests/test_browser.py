"""The playground in a real browser: JupyterLab + Debian's Chromium driven by Playwright.

JupyterLab is started on a free loopback port with a token, serving a temporary copy of the
notebooks; Chromium (``/usr/bin/chromium``, never downloaded) opens ``12_playground.ipynb``, runs
all cells, changes the method and the image in the rendered widgets and checks that the rendered
figure changes. Screenshots go to ``test-output/browser/``. Run with::

    .venv/bin/python -m pytest tests/test_browser.py -m browser -q
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "12_playground.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _jupyterlab(root: Path, home: Path) -> Iterator[tuple[str, str]]:
    """Start JupyterLab serving ``root``; yield ``(base_url, token)``; always stop it."""
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.setdefault("XAI_TUTOR_MODELS", "offline")
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    })
    log = open(home / "jupyterlab.log", "wb")  # noqa: SIM115 - closed in finally
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited ({proc.returncode}): "
                    + (home / "jupyterlab.log").read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not answer within 45 s")
            time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _figure_src(page, index: int) -> str:
    return page.evaluate(
        "i => { const im = document.querySelectorAll('img.xai-figure')[i];"
        " return im && im.complete && im.naturalWidth > 0 ? im.src : ''; }",
        index,
    )


def _wait_src_change(page, index: int, old: str, timeout_ms: int = 30000) -> str:
    page.wait_for_function(
        "([i, old]) => { const im = document.querySelectorAll('img.xai-figure')[i];"
        " return im && im.complete && im.naturalWidth > 0 && im.src && im.src !== old; }",
        arg=[index, old], timeout=timeout_ms,
    )
    return _figure_src(page, index)


def _kernel_done(page) -> bool:
    return bool(page.evaluate(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          if (!w || !w.content || !w.sessionContext || !w.sessionContext.session) return false;
          const k = w.sessionContext.session.kernel;
          if (!k || k.status !== 'idle') return false;
          return w.content.widgets.filter(c => c.model.type === 'code')
                  .every(c => c.model.executionCount !== null);
        }"""
    ))


def test_playground_widgets_update_in_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    SHOTS.mkdir(parents=True, exist_ok=True)

    start = time.monotonic()

    def phase(name: str) -> None:  # timings for the log, never asserted
        print(f"[browser test] {time.monotonic() - start:6.1f} s  {name}")

    with _jupyterlab(root, tmp_path) as (base, token), sync_api.sync_playwright() as p:
        phase("JupyterLab up")
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(60000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.isReady"
            )
            phase("notebook open, kernel ready")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # three explorers (full, compare, per-method) render a figure each
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('img.xai-figure'))"
                ".filter(im => im.complete && im.naturalWidth > 0).length >= 3",
                timeout=60000,
            )
            deadline = time.monotonic() + 30
            while not _kernel_done(page) and time.monotonic() < deadline:
                time.sleep(0.25)
            assert _kernel_done(page), "the notebook did not finish running"
            errors = page.locator(".jp-OutputArea-output[data-mime-type*='error']").count()
            assert errors == 0, "a cell raised an error"
            phase("all cells ran")
            page.screenshot(path=str(SHOTS / "01_after_run_all.png"), full_page=True)

            figure = page.locator("img.xai-figure").first
            figure.scroll_into_view_if_needed()
            before_src = _figure_src(page, 0)
            before = _pixels(figure.screenshot(path=str(SHOTS / "02_figure_before.png")))

            # change the method in the first explorer's dropdown
            method = page.locator(".xai-explorer").first.locator(".xai-method select")
            method.select_option(label=_label(method, "gradient"))
            after_method_src = _wait_src_change(page, 0, before_src)
            time.sleep(0.3)
            after_method = _pixels(
                figure.screenshot(path=str(SHOTS / "03_figure_method_changed.png"))
            )
            phase("method changed, figure updated")
            assert after_method_src != before_src
            assert before.shape != after_method.shape or np.abs(before - after_method).mean() > 1

            # change the image
            image = page.locator(".xai-explorer").first.locator(".xai-image select")
            image.select_option(label="course scene: flock")
            after_image_src = _wait_src_change(page, 0, after_method_src)
            time.sleep(0.3)
            after_image = _pixels(
                figure.screenshot(path=str(SHOTS / "04_figure_image_changed.png"))
            )
            assert after_image_src != after_method_src
            assert (
                after_method.shape != after_image.shape
                or np.abs(after_method - after_image).mean() > 1
            )
            status = page.locator(".xai-explorer").first.locator(".xai-status").inner_text()
            assert "failed" not in status and "could not" not in status, status
            phase("image changed, figure updated")
            page.screenshot(path=str(SHOTS / "05_final.png"), full_page=True)
        finally:
            browser.close()


def _label(select, value: str) -> str:
    """The visible option label of ``select`` whose text starts with ``value``."""
    labels = select.locator("option").all_inner_texts()
    match = [t for t in labels if t.split()[0] == value]
    assert match, f"no option {value!r} among {labels}"
    return match[0]
