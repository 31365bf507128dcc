"""The web UI end to end in headless Chromium (Debian's, driven by Playwright; no browser
download): type a prompt, generate with the tiny model, get a playable audio element; then vary
that clip from the history. Screenshots land in tests/artifacts/."""

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from latentaudio.app import Settings, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
# Without the networking flags Chromium keeps trying to reach Google on this closed network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture
def server(pipe, tmp_path):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Settings(tmp_path / "server"), lambda: (pipe, {"id": "tiny"}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run ./setup.sh (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, f"the page raised: {errors}"


def playable(page, selector="#player") -> float:
    """Wait until the audio element has a loaded source; returns its duration."""
    page.wait_for_function(
        f"""() => {{ const a = document.querySelector('{selector}');
                    return a.src.startsWith('blob:') && a.readyState >= 1 && a.duration > 0; }}""",
        timeout=60_000)
    return page.eval_on_selector(selector, "a => a.duration")


def test_generate_in_the_browser_then_vary_from_the_history(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(server)
    page.wait_for_selector("#model-state.ready", timeout=30_000)
    page.fill("#prompt", "rain on a tin roof")
    page.fill("#seconds", "1.5")
    page.fill("#steps", "2")
    page.fill("#seed", "4")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert playable(page) == pytest.approx(1.5, abs=0.05)
    page.wait_for_function("() => document.getElementById('spectrogram').naturalWidth > 0")
    assert page.get_attribute("#download", "href").startswith("blob:")
    assert "generate" in page.inner_text("#history")
    page.screenshot(path=str(ARTIFACTS / "web-ui-generate.png"), full_page=True)

    # Vary the clip just made: "Edit" in the history picks it as the input.
    page.click("#history li.succeeded button:has-text('Edit')")
    page.wait_for_selector("#tabs button[data-op='vary'][aria-selected='true']")
    assert "clip" in page.inner_text("#source-label")
    page.fill("#prompt", "heavier rain")
    page.click("#submit")
    page.wait_for_function(
        "() => document.querySelectorAll('#history li.succeeded').length === 2", timeout=60_000)
    page.wait_for_selector("#result-title:has-text('vary')", timeout=30_000)
    assert playable(page) == pytest.approx(1.5, abs=0.05)
    page.screenshot(path=str(ARTIFACTS / "web-ui-vary.png"), full_page=True)


def test_the_ui_shows_a_refusal_in_one_line(server, page):
    page.goto(server)
    page.fill("#prompt", "a song in the style of Taylor Swift")
    page.click("#submit")
    page.wait_for_selector("#status.error", timeout=30_000)
    assert "artist" in page.inner_text("#status")
    assert page.is_hidden("#result")
