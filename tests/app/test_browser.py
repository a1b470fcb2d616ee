"""The app in a real browser: Debian's headless Chromium driven by selenium.

Starts ``python app.py`` (the real launcher, default model: the shipped one, or the untrained
fallback until it exists) on 127.0.0.1 and a free port, uploads the real golf clip, analyses
it, plays the overlay, asks a question and checks the answer, the viewpoint thumbnails and
the 3D view of a chosen frame. Screenshots go to $LLAMO_ARTIFACTS (else a temp dir).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import real_path

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
QUESTION = "When is the top of the backswing?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], object], timeout: float, every: float = 0.5) -> object:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("LLAMO_ARTIFACTS")
    path = Path(env) / "browser" if env else tmp_path_factory.mktemp("browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _temp_dirs() -> set[Path]:
    tmp = Path(tempfile.gettempdir())
    return set(tmp.glob("llamo-session-*")) | set(tmp.glob("llamo-uploads-*"))


class App:
    """The real launcher in a subprocess; its log is kept with the screenshots."""

    def __init__(self, artifacts: Path) -> None:
        self.before = _temp_dirs()
        self.log = (artifacts / "app.log").open("w")
        port = _free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("GRADIO_TEMP_DIR", None)
        self.proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"http://127.0.0.1:{port}/"
        self.artifacts = artifacts

    def up(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"the app exited with {self.proc.returncode}; see {self.artifacts}/app.log")
        try:
            return urllib.request.urlopen(self.url, timeout=2).status == 200
        except OSError:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        return self.proc.wait()


@pytest.fixture(scope="module")
def app(artifacts: Path) -> Iterator[App]:
    running = App(artifacts)
    try:
        _wait("the app to serve its page", running.up, timeout=120)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def driver(app: App):  # -> selenium WebDriver
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(
            "Debian chromium + chromium-driver are not installed (scripts/install.sh --dev)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                "--window-size=1400,1800", "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(arg)
    # An explicit driver path: selenium-manager is never asked to download anything.
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drv.get(app.url)
    yield drv
    drv.quit()


def _shot(drv, artifacts: Path, name: str) -> Path:
    """A screenshot of the whole page (the window is stretched to the page height)."""
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(1400, min(max(int(height) + 40, 900), 4000))
    path = artifacts / f"{name}.png"
    drv.save_screenshot(str(path))
    return path


def _bot_texts(drv) -> list[str]:
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('#chat [data-testid=\"bot\"]'))"
        ".map(e => e.innerText.trim())"
    )


def test_upload_analyze_play_ask_and_pick_a_frame(driver, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    clip = real_path("golf_swing_dtl.mp4")
    _wait("the page", lambda: driver.find_elements(By.CSS_SELECTOR, "#analyze-btn"), 60)
    assert "nothing leaves" in driver.page_source or "never leave" in driver.page_source
    _shot(driver, artifacts, "01_start")

    driver.find_element(By.CSS_SELECTOR, "#clip-input input[type=file]").send_keys(str(clip))
    _wait("the uploaded clip's preview",
          lambda: driver.find_elements(By.CSS_SELECTOR, "#clip-input video"), 60)  # fmt: skip
    driver.find_element(By.CSS_SELECTOR, "#analyze-btn").click()
    # The progress bar names the step (a cached pose can skip past it, so do not insist).
    end = time.monotonic() + 30
    while time.monotonic() < end and not any(
        word in driver.find_element(By.CSS_SELECTOR, "#overlay-video").text
        for word in ("pose", "Pose", "overlay", "model")
    ):
        time.sleep(0.3)
    _shot(driver, artifacts, "02_analyzing")

    # The overlay is an H.264 mp4 the browser can decode: readyState >= 2 (HAVE_CURRENT_DATA).
    video = _wait("a playable overlay video", lambda: driver.execute_script(
        "const v = document.querySelector('#overlay-video video');"
        "return v && v.readyState >= 2 && v.videoWidth > 0 ? v : null;"), 420)  # fmt: skip
    driver.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    _wait("the overlay to play", lambda: driver.execute_script(
        "return arguments[0].currentTime > 0.2;", video), 30)  # fmt: skip
    facts = driver.find_element(By.CSS_SELECTOR, "#facts").text
    assert "golf swing" in facts.lower() and "top of backswing" in facts.lower()
    _wait("the joint-angle plot", lambda: driver.find_elements(
        By.CSS_SELECTOR, "#angles-plot img, #angles-plot svg"), 30)  # fmt: skip
    _shot(driver, artifacts, "03_analyzed")

    box = driver.find_element(By.CSS_SELECTOR, "#question textarea")
    box.send_keys(QUESTION)
    driver.find_element(By.CSS_SELECTOR, "#ask-btn").click()
    thumbs = _wait("viewpoint thumbnails", lambda: driver.find_elements(
        By.CSS_SELECTOR, "#viewpoint-gallery img"), 300)  # fmt: skip
    answer = _wait("the finished answer", lambda: _finished_answer(driver), 300)
    assert answer and answer != "..."
    assert QUESTION in driver.find_element(By.CSS_SELECTOR, "#chat").text
    thumbs = driver.find_elements(By.CSS_SELECTOR, "#viewpoint-gallery img")
    assert len(thumbs) >= 1
    caption = driver.find_element(By.CSS_SELECTOR, "#viewpoint-gallery").text
    assert " s (frame " in caption
    _wait("the relevance plot", lambda: driver.find_elements(
        By.CSS_SELECTOR, "#relevance-plot img, #relevance-plot svg"), 30)  # fmt: skip
    _shot(driver, artifacts, "04_answered")

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", thumbs[0])
    thumbs[0].click()
    _wait("the 3D skeleton of the chosen frame", lambda: driver.find_elements(
        By.CSS_SELECTOR, "#skeleton-3d img"), 120)  # fmt: skip
    label = driver.find_element(By.CSS_SELECTOR, "#skeleton-3d").text
    assert "3D skeleton at" in label
    _shot(driver, artifacts, "05_frame_3d")

    export = driver.find_element(By.CSS_SELECTOR, "#export-btn")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", export)
    export.click()
    link = _wait("the report download link", lambda: driver.find_elements(
        By.CSS_SELECTOR, "#report-file a[href*='.html']"), 120)  # fmt: skip
    assert "llamo-report-" in link[0].get_attribute("href")
    _shot(driver, artifacts, "06_exported")
    shutil.copy(artifacts / "06_exported.png", artifacts / "final.png")


def _finished_answer(drv) -> str | None:
    """The last bot message once the ask event is over (the chat's status tracker hidden)."""
    texts = _bot_texts(drv)
    idle = drv.execute_script(
        "const t = document.querySelector('#chat [data-testid=\"status-tracker\"]');"
        "return !t || t.classList.contains('hide');"
    )
    return texts[-1] if texts and idle and texts[-1] not in ("", "...") else None


def test_stopping_the_app_removes_its_temp_files(app: App, driver) -> None:
    """SIGTERM (as from a service manager) ends the app cleanly: uploads and sessions go."""
    assert "LLaMo Coach is running on http://127.0.0.1:" in (app.artifacts / "app.log").read_text()
    created = _temp_dirs() - app.before
    assert any(p.name.startswith("llamo-uploads-") for p in created)
    assert app.stop() == 128 + 15
    assert not (_temp_dirs() - app.before), "temp dirs left behind after the app stopped"
