"""What the browser tests share: a `streamlit run app.py` server, Debian's Chromium, page helpers.

Used by test_browser.py (the main journey), test_browser_multiuser.py (three users at once)
and test_browser_restart.py (a server that dies during a run).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# CI machines reach the package registries through a proxy (http_proxy in the environment); the local server
# must never be asked for through it, neither by urllib nor by Chromium.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHROMIUM_ARGS = ["--no-proxy-server", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `streamlit run app.py` and where its output goes."""

    proc: subprocess.Popen
    url: str
    workspace: Path
    log_path: Path
    _log: object

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server (its own process group): what a crash or a power cut does."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        """Stop the server politely, then firmly."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def start_server(workspace: Path, *, env: dict[str, str] | None = None, port: int | None = None,
                 log_name: str = "streamlit.log", timeout_s: float = 60) -> Server:
    """`streamlit run app.py` on a free local port with its own workspace (jobs inherit the environment)."""
    port = port or free_port()
    full_env = dict(os.environ, TLCORE_WORKSPACE=str(workspace), PYTHONUNBUFFERED="1")
    full_env.pop("TLCORE_DATA_ROOTS", None)
    full_env.update(env or {})
    log_path = workspace / log_name
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", workspace, log_path, log)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if _NO_PROXY.open(f"{server.url}/_stcore/health", timeout=2).read() == b"ok":
                return server
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit did not start: " + server.log_tail())


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never Playwright's own browser download)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.fail("Debian's chromium is not installed: run `make browser` (apt-get install chromium).")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def wait_idle(page, timeout_s: float = 120) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            page.wait_for_timeout(300)
            if page.locator('[data-testid="stStatusWidget"]').count() == 0:
                return
        page.wait_for_timeout(250)
    raise AssertionError("the app kept running for too long")


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator('[data-testid="stException"]').first.inner_text()


def go_to(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    wait_idle(page)


def small_model(page, image_size: int, epochs: int = 3) -> None:
    """On the Model page: a small image size and few epochs, for a quick run."""
    for name, value, exact in (("Image size (pixels)", image_size, False), ("Epochs", epochs, True)):
        box = page.get_by_role("spinbutton", name=name, exact=exact)
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page)
