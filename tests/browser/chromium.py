"""Debian's Chromium, driven by Selenium through Debian's chromedriver: nothing downloaded, nothing left.

- The driver is `/usr/bin/chromedriver`, given to Selenium as `Service(executable_path=...)`, so
  Selenium Manager (which would look for, and may download, a driver and a browser) is skipped.
  As a tripwire, `SE_MANAGER_PATH` points at a script that records being run and fails, and
  `SE_OFFLINE=true` forbids downloads should anything reach it anyway; `chromium_session` fails if
  the tripwire fired.
  `SE_CHROMEDRIVER` is pinned too, since Selenium prefers it to the path it is given.
- chromedriver starts in its own process group, and Chromium's processes inherit it, except its
  crash handlers, which detach; $HOME points into the session's folder, so they (and everything
  Chromium writes) carry that folder in their command line. When the session ends (normally or by
  an exception) the driver quits, then whatever is left of the group or mentions the folder is
  killed, and the session fails loudly if a process survives.
"""

import base64
import os
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW_SIZE = (1366, 900)
DEFAULT_LANGUAGE = "es"
TIMEOUT = 60  # seconds; generous: the machine's CPU is shared

# Console messages that say nothing about our pages: Chromium asks every host for a favicon.
_IGNORED_CONSOLE = ("favicon.ico",)


def chromium_options(*, user_data_dir: Path, language: str = DEFAULT_LANGUAGE) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # a container's /dev/shm is small; use /tmp
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={user_data_dir}",
        f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
        f"--lang={language}",
    ):
        options.add_argument(flag)
    # --lang sets the UI language; the Accept-Language header comes from this preference.
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def _tripwire(directory: Path) -> tuple[Path, Path]:
    """A stand-in for Selenium Manager that leaves a marker and fails if anything runs it."""
    marker = directory / "selenium-manager-was-run"
    script = directory / "selenium-manager-tripwire"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\necho "Selenium Manager is disabled here" >&2\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, marker


def group_processes(pgid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of a process group, as (pid, command name), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after its closing paren.
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        state, _ppid, pgrp = raw[raw.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found.append((int(entry.name), comm))
    return found


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live processes whose command line contains `text` (a session's own folder), as (pid, command
    name), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text in (entry / "cmdline").read_bytes().decode(errors="replace"):  # empty for a zombie
                found.append((int(entry.name), (entry / "comm").read_text().strip()))
        except OSError:
            continue  # the process ended while we looked
    return found


def session_processes(pgid: int, workdir: Path) -> list[tuple[int, str]]:
    """chromedriver's process group (Chromium and its children) plus Chromium's crash handlers, which
    detach into a session of their own but carry the session's folder in their command line."""
    return sorted(set(group_processes(pgid)) | set(processes_mentioning(f"{workdir}/")))


def _end_session_processes(pgid: int, workdir: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while session_processes(pgid, workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, _ in session_processes(pgid, workdir):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while session_processes(pgid, workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_processes(pgid, workdir)
    if left:
        raise RuntimeError(f"browser processes survived the session: {left}")


@contextmanager
def chromium_session(workdir: Path, *, language: str = DEFAULT_LANGUAGE) -> Iterator[WebDriver]:
    """A headless Chromium session; always quit and reaped, whatever happens inside the block."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is missing: install Debian's {package} (bash .ci/system-packages)")
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "profile"
    profile.mkdir(exist_ok=True)  # fresh for every session: no cookies, cache or history carried over
    tripwire, marker = _tripwire(workdir)
    pinned_env = {"SE_MANAGER_PATH": str(tripwire), "SE_OFFLINE": "true", "SE_CHROMEDRIVER": CHROMEDRIVER}
    saved_env = {name: os.environ.get(name) for name in pinned_env}
    os.environ.update(pinned_env)
    home = workdir / "home"  # Chromium writes crash reports and caches under $HOME: keep them here
    home.mkdir(exist_ok=True)
    service = Service(
        executable_path=CHROMEDRIVER,
        log_output=str(workdir / "chromedriver.log"),
        env={
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        },
        popen_kw={"start_new_session": True},
    )
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=chromium_options(user_data_dir=profile, language=language))
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        if marker.exists():
            raise RuntimeError(f"Selenium Manager was run: {marker.read_text()}")
        yield driver
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        try:
            if driver is not None:
                driver.quit()
        finally:
            process = getattr(service, "process", None)
            if process is not None:
                if process.poll() is None:
                    service.stop()
                _end_session_processes(process.pid, workdir)


# --- page helpers ------------------------------------------------------------------------------
def wait(driver: WebDriver, timeout: float = TIMEOUT) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def click_and_wait_for_page(driver: WebDriver, element: WebElement) -> None:
    """Click something that loads a new page (a submit button, a link) and wait until it has loaded."""
    # The old page is marked and we wait for a document without the mark. Selenium's staleness_of asks
    # the old element whether it is enabled; mid-navigation Chromium can answer that with "Node with
    # given id does not belong to the document" (an unknown error, not a stale reference), which failed
    # a CI run. While the page changes, any WebDriver error means "not yet" and the wait goes on.
    driver.execute_script("window.__nvlOldPage = true")
    element.click()
    WebDriverWait(driver, TIMEOUT, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.__nvlOldPage && document.readyState === 'complete'")
    )


def console_errors(driver: WebDriver) -> list[str]:
    """Errors the page logged since the last call (failed requests for CSS/JS, script errors)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(ignored in entry["message"] for ignored in _IGNORED_CONSOLE)
    ]


def save_png(driver: WebDriver, path: Path, *, full_page: bool = False) -> Path:
    """A PNG of the viewport (1366×900) or, with full_page, of the whole page at that width."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not full_page:
        driver.save_screenshot(str(path))
        return path
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
