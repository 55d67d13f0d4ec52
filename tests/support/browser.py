"""Debian's Chromium driven by its chromedriver (Selenium 4), for the browser tests of
``emeterai serve``: a fresh profile per test, downloads into a folder of the test's, and
screenshots kept as test artifacts and checked to show something.

Nothing is fetched at run time: the driver and the browser are the system's, named by path, so
Selenium Manager never runs. Screenshots go to ``$EMETERAI_TEST_ARTIFACTS`` or else
``tests/artifacts`` (ignored by git), one folder per test.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from tests.support.common import PROJECT_ROOT, require_tool

T = TypeVar("T")

WINDOW = (1280, 1600)  # tall enough for a whole A4 page image at 100 dpi and the buttons
# Chromium as root in a container: no sandbox, no GPU, and nothing that calls home.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--force-device-scale-factor=1",
)


def artifacts_dir(test_name: str) -> Path:
    """Where one test's screenshots are kept: ``$EMETERAI_TEST_ARTIFACTS/TEST`` or
    ``tests/artifacts/TEST``."""
    root = Path(os.environ.get("EMETERAI_TEST_ARTIFACTS") or PROJECT_ROOT / "tests" / "artifacts")
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def distinct_colours(image: Image.Image) -> int:
    """How many different colours ``image`` shows (counted on a 6-bit-per-channel copy, so
    anti-aliasing noise alone does not make a blank page look busy)."""
    small = image.convert("RGB").point(lambda v: v & 0xFC)
    colours = small.getcolors(maxcolors=1 << 18)
    return len(colours) if colours is not None else 1 << 18


def assert_not_blank(path: Path, min_colours: int = 16, min_share: float = 0.01) -> None:
    """The screenshot at ``path`` shows a page: many colours, and no single colour covering
    all of it (a white, black or error-grey screen fails)."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        count = distinct_colours(rgb)
        colours = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
        top = max(n for n, _ in colours) if colours else rgb.width * rgb.height
        rest = 1 - top / (rgb.width * rgb.height)
    assert count >= min_colours, f"{path}: only {count} colours, the page looks blank"
    assert rest >= min_share, f"{path}: {1 - rest:.1%} of it is one colour, the page looks blank"


@dataclass
class Browser:
    """One Chromium: its driver, its download folder, the test's artifact folder."""

    driver: Any  # selenium.webdriver.Chrome
    downloads: Path
    artifacts: Path

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def wait(self, what: Callable[[Any], T], timeout: float = 30, about: str = "") -> T:
        """``what(driver)`` once it is truthy; fails naming ``about`` and the page's console
        errors after ``timeout`` seconds."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            result: T = WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(what)
        except TimeoutException:
            self.screenshot("timeout")
            raise AssertionError(
                f"waited {timeout:g} s for {about or what}; console: {self.console_errors()}"
            ) from None
        return result

    def wait_visible(self, element_id: str, timeout: float = 30) -> Any:
        return self.wait(
            lambda d: (el := self.find(element_id)).is_displayed() and el,
            timeout,
            f"#{element_id} to be shown",
        )

    def text(self, element_id: str) -> str:
        return str(self.find(element_id).text)

    def console_errors(self) -> list[str]:
        """The page's console errors (uncaught exceptions, failed requests) so far."""
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a driver without logs has nothing to add
            return []
        return [e["message"] for e in entries if e.get("level") == "SEVERE"]

    def screenshot(self, name: str, check: bool = False) -> Path:
        """The page as shown, saved as ``NAME.png`` among the test's artifacts; with ``check``,
        asserted to show something."""
        path = self.artifacts / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        if check:
            assert_not_blank(path)
        return path

    def wait_for_download(self, name: str, timeout: float = 30) -> Path:
        """The file ``name`` once Chromium has finished writing it into the download folder."""
        path = self.downloads / name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            partial = list(self.downloads.glob("*.crdownload"))
            if path.is_file() and not partial and path.stat().st_size > 0:
                return path
            time.sleep(0.1)
        present = sorted(p.name for p in self.downloads.iterdir())
        raise AssertionError(f"no download {name} after {timeout:g} s; the folder holds {present}")


def _binaries() -> tuple[str, str]:
    """Debian's chromium and chromedriver (skipped locally when absent, failed under CI)."""
    return require_tool("chromium"), require_tool("chromedriver")


@contextmanager
def chromium(
    artifacts: Path, downloads: Path | None = None, languages: str | None = None
) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, downloading into ``downloads`` without
    asking; quit afterwards (its profile removed). ``languages`` (``id-ID,id``) is what the
    browser asks pages for (Accept-Language), else Chromium's own default (``en-US``)."""
    browser_path, driver_path = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="emeterai-chromium-") as profile:
        folder = downloads or Path(profile) / "downloads"
        folder.mkdir(parents=True, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = browser_path
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}/profile")
        options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
        prefs: dict[str, Any] = {
            "download.default_directory": str(folder),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        }
        if languages:
            options.add_argument(f"--lang={languages.split(',')[0]}")
            prefs["intl.accept_languages"] = languages
        options.add_experimental_option("prefs", prefs)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(driver_path, log_output=str(artifacts / "chromedriver.log"))
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(30)
            driver.execute_cdp_cmd(
                "Browser.setDownloadBehavior",
                {"behavior": "allow", "downloadPath": str(folder), "eventsEnabled": False},
            )
            yield Browser(driver, folder, artifacts)
        finally:
            driver.quit()
