"""The what-if notebook in a real browser: JupyterLab in headless Chromium.

Oracle: what a user sees. JupyterLab is started on a free loopback port with a
token, ``notebooks/04-what-if.ipynb`` (a copy, so nothing is saved into the
repository) is opened in Debian's Chromium driven by playwright, all cells are
run, and a finding is clicked in the explorer: the triage line and the chart
must change. Any error or stderr output of a cell, and any error on the
browser's console, fails the test. Screenshots go to a temporary folder.

Needs the ``browser`` extra (playwright, JupyterLab; installed by ``make
test``) and ``/usr/bin/chromium`` (``.ci/run`` installs the Debian package when
it is missing). Skipped, saying why, where either cannot be had.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04-what-if.ipynb"
CHROMIUM = os.environ.get("POPLITEAL_CHROMIUM", "/usr/bin/chromium")
#: A finding that changes the triage of the notebook's starting patient (a DVT is likely there,
#: and breathlessness makes a pulmonary embolism an emergency).
FINDING = "breathlessness"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _needs():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: make test installs the "
                                   "browser extra (.venv/bin/pip install -e \".[browser]\")")
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: .venv/bin/pip install -e \".[browser]\"")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    return sync_api


@pytest.fixture()
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of the notebook; yields its base URL and token."""
    _needs()  # skip, rather than fail, without the browser extra
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"), "IPYTHONDIR": str(home / "ipython"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    env.pop("POPLITEAL_PRIORS", None)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start within 60 s")
            time.sleep(0.3)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


def test_what_if_notebook_runs_and_the_explorer_follows_a_click(jupyterlab, tmp_path):
    sync_api = _needs()
    url, token = jupyterlab
    console_errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}", wait_until="domcontentloaded")
            page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook')")
            page.wait_for_function(  # the kernel is up
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session &&"
                " w.sessionContext.session.kernel && w.sessionContext.session.kernel.connectionStatus === 'connected'"
                " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=60_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(  # every code cell has run: a number in its prompt, none busy
                "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];"
                " return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }", timeout=90_000)
            page.screenshot(path=str(tmp_path / "after-run-all.png"), full_page=True)

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                                  ".jp-OutputArea-output.jp-mod-error, .jp-RenderedText[data-mime-type="
                                  "'application/vnd.jupyter.error']")
            assert errors.count() == 0, errors.first.inner_text()

            explorer = page.locator(".widget-vbox:has(.widget-toggle-buttons)").first
            explorer.wait_for()
            status = page.locator(".widget-html:has-text('Triage:')").first
            chart = page.locator(".widget-output img").first
            chart.wait_for()
            before_status, before_chart = status.inner_text(), chart.get_attribute("src")
            assert "unknown" in [b.inner_text() for b in explorer.locator(".widget-toggle-button").all()[:3]]
            cut = page.evaluate(  # a label wider than its button is drawn cut ("unkn...")
                "() => [...document.querySelectorAll('.widget-toggle-button')]"
                ".filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.innerText)")
            assert cut == []

            row = explorer.locator(".widget-toggle-buttons").filter(
                has=page.locator(".widget-label", has_text=FINDING.replace("_", " ")))
            row.locator(".widget-toggle-button", has_text="yes").first.click()
            page.wait_for_function(
                "([before]) => { const i = document.querySelector('.widget-output img');"
                " return i && i.getAttribute('src') !== before; }", arg=[before_chart])
            page.wait_for_function(
                "([before]) => [...document.querySelectorAll('.widget-html')]"
                ".some(e => e.innerText.includes('Triage:') && e.innerText !== before)", arg=[before_status])
            page.screenshot(path=str(tmp_path / "after-click.png"), full_page=True)
            after_status = status.inner_text()
        finally:
            browser.close()
    assert after_status != before_status
    assert "emergency" in after_status or "urgent" in after_status, after_status
    assert console_errors == []
