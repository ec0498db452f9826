"""A real browser runs the quickstart notebook in JupyterLab (headless Chromium, loopback only)."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = ROOT / "reports" / "browser" / "quickstart.png"

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does it)"),
]


# Outputs as the notebook model holds them (the DOM only renders cells in view).
OUTPUTS_TEXT = """(() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells; let text = '';
  for (let i = 0; i < cells.length; i++) { const c = cells.get(i);
    if (c.type === 'code') { for (let j = 0; j < c.outputs.length; j++) { text += JSON.stringify(c.outputs.get(j).toJSON()); } } }
  return text; })()"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    work = tmp_path / "lab"
    work.mkdir()
    # Outputs stripped, so whatever the screenshot shows was produced by this run.
    nb = nbformat.read(ROOT / "notebooks" / "00_quickstart.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, work / "00_quickstart.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.open_browser=False", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 90 s")
    yield base, token, work
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_quickstart_runs_in_jupyterlab(jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token, work = jupyterlab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/00_quickstart.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        page.wait_for_function(
            "(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; })()",
            timeout=120_000,
        )
        assert not page.evaluate(OUTPUTS_TEXT + ".includes('of the scene is vegetated')")
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => null)")
        page.wait_for_function(OUTPUTS_TEXT + ".includes('image/png')", timeout=180_000)
        text = page.evaluate(OUTPUTS_TEXT)
        page.wait_for_selector(".jp-OutputArea-output img", timeout=60_000)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".jp-OutputArea-output img").last.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
        browser.close()
    assert "device: cpu" in text or "device: cuda" in text
    assert "% of the scene is vegetated" in text and "Traceback" not in text
    assert '"output_type":"error"' not in text
    assert (work / "outputs" / "quickstart" / "ndvi.tif").exists()  # the kernel really ran, in the notebook's folder
    assert SCREENSHOT.stat().st_size > 20_000
