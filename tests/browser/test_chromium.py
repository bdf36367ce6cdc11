"""The browser-test infrastructure itself: Debian's binaries, the language, no downloads, no leftovers."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.selenium_manager import SeleniumManager

from tests.browser.chromium import (
    CHROMEDRIVER,
    CHROMIUM,
    WINDOW_SIZE,
    chromium_session,
    group_processes,
    processes_mentioning,
    session_processes,
)


@pytest.fixture
def header_echo():
    """A local HTTP server that records the headers of each request it receives."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            body = b"<!doctype html><title>echo</title><p>ok</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_debian_chromium_speaks_spanish_at_1366_wide(browser, header_echo):
    url, seen = header_echo
    browser.get(url + "/page")
    page_requests = [headers for headers in seen if "favicon" not in headers.get("Referer", "")]
    assert page_requests, "the page request never reached the server"
    assert page_requests[0]["Accept-Language"] == "es"
    assert browser.execute_script("return navigator.languages") == ["es"]
    assert browser.execute_script("return window.innerWidth") == WINDOW_SIZE[0]
    capabilities = browser.capabilities
    assert capabilities["browserName"] in ("chrome", "chromium")
    driver_version = capabilities["chrome"]["chromedriverVersion"].split()[0]
    assert driver_version == capabilities["browserVersion"]  # Debian ships the pair at one version
    assert browser.service.path == CHROMEDRIVER
    assert Path(browser.options.binary_location) == Path(CHROMIUM)


def test_selenium_manager_is_a_tripwire_inside_a_session(tmp_path):
    """Selenium Manager (the downloader) is never run: the session points it at a script that fails
    and leaves a marker, and the marker is absent after the driver started."""
    with chromium_session(tmp_path) as driver:
        marker = tmp_path / "selenium-manager-was-run"
        assert not marker.exists()
        assert driver.service.path == CHROMEDRIVER
        with pytest.raises(WebDriverException):
            SeleniumManager().binary_paths(["--browser", "chrome"])
        assert marker.exists()  # the tripwire fires: had Selenium run it, the session would have failed


def test_no_browser_process_survives_a_failing_block(tmp_path):
    with pytest.raises(RuntimeError, match="the test failed here"):
        with chromium_session(tmp_path) as driver:
            pgid = driver.service.process.pid
            names = [name for _, name in session_processes(pgid, tmp_path)]
            assert "chromedriver" in names and "chromium" in names, names
            assert any("crashpad" in name for name in names), names  # the detached crash handler is found too
            driver.get("data:text/html,<p>about to fail</p>")
            raise RuntimeError("the test failed here")
    assert group_processes(pgid) == []
    assert processes_mentioning(f"{tmp_path}/") == []
