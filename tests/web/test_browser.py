"""The pages of ``emeterai serve`` in a real browser (Debian's Chromium through chromedriver):
an applicant stamps a letter (unlock, open, preview, drag, stamp, download) and the download
passes the real ``emeterai verify``; an office checks 20 files and downloads the reports; the
language link switches the pages. Screenshots are kept as test artifacts (tests/artifacts or
$EMETERAI_TEST_ARTIFACTS) and asserted to show something."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from emeterai.wallet import Wallet
from tests.support.browser import Browser, artifacts_dir, chromium
from tests.support.common import PASSPHRASE, PROJECT_ROOT
from tests.support.stamping import Kit, _reader_centre_mm, magenta_mask
from tests.support.webserver import Served, serving

LETTER = PROJECT_ROOT / "samples" / "lamaran.pdf"
DRAG_PX = (-260, -330)  # left and up from where the page put the stamp
TOLERANCE_MM = 2.0


@pytest.fixture(scope="module")
def local(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    logs = tmp_path_factory.mktemp("serve-logs")
    with serving(env={"EMETERAI_HOME": str(kit.home)}, log=logs / "stderr.txt") as served:
        yield served


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Browser]:
    with chromium(artifacts_dir(request.node.name), tmp_path / "downloads") as opened:
        yield opened


def _states(kit: Kit) -> dict[str, str]:
    wallet = Wallet(kit.home / "wallet" / "wallet.db")
    try:
        return {e.serial: str(e.state) for e in wallet.entries()}
    finally:
        wallet.close()


def _rect(browser: Browser, element_id: str) -> dict[str, float]:
    rect: dict[str, float] = browser.driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, top: r.top, width: r.width, height: r.height};",
        element_id,
    )
    return rect


def _box_centre_mm(browser: Browser, page_width_mm: float) -> tuple[float, float]:
    """The stamp box's centre on the page image, in mm from the page's top-left: measured on
    the screen, scaled by the page's own width (not by the script's resolution)."""
    img, box = _rect(browser, "page-image"), _rect(browser, "stamp-box")
    mm_per_px = page_width_mm / img["width"]
    return (
        (box["left"] + box["width"] / 2 - img["left"]) * mm_per_px,
        (box["top"] + box["height"] / 2 - img["top"]) * mm_per_px,
    )


def _loaded(browser: Browser, element_id: str) -> bool:
    return bool(
        browser.driver.execute_script(
            "const i = document.getElementById(arguments[0]);"
            "return !i.hidden && i.complete && i.naturalWidth > 0;",
            element_id,
        )
    )


def _stamp_centre_mm(image: Any, page_width_mm: float) -> tuple[float, float]:
    """Where a page image shown in the browser draws the stamp (its magenta), in mm."""
    with Image.open(io.BytesIO(image.screenshot_as_png)) as shot:
        box = magenta_mask(shot.convert("RGB")).getbbox()
        mm_per_px = page_width_mm / shot.width
    assert box is not None, "no stamp drawn in the image"
    return ((box[0] + box[2]) / 2 * mm_per_px, (box[1] + box[3]) / 2 * mm_per_px)


def _cli_verify(kit: Kit, path: Path, home: Path) -> dict[str, Any]:
    """The real command line in its own process, trusting only the kit's issuer root."""
    env = {"EMETERAI_HOME": str(home), "EMETERAI_LANG": "en", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "emeterai", "verify", str(path), "--json"]
        + ["--trust", str(kit.root_pem)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _widget_centre_mm(pdf: Path) -> tuple[float, float]:
    """The centre of the stamp's signature widget, read with pypdf."""
    rects = []
    for annot in pypdf.PdfReader(pdf).pages[0].get("/Annots", []):
        widget = annot.get_object()
        field = widget["/Parent"].get_object() if "/Parent" in widget else widget
        if field.get("/FT") == "/Sig":
            rects.append([float(v) for v in widget["/Rect"]])
    assert len(rects) == 1, rects
    return _reader_centre_mm(pdf, 0, rects[0])


# -- the applicant ------------------------------------------------------------------------------


def test_an_applicant_stamps_a_letter_by_preview_drag_and_stamp(
    kit: Kit, local: Served, browser: Browser, tmp_path: Path
) -> None:
    browser.open(local.url)  # the printed URL: its token becomes the cookie
    assert browser.driver.current_url == local.base + "/"
    browser.find("unlock-passphrase").send_keys(PASSPHRASE)
    browser.find("unlock").click()
    browser.wait(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#stamps tbody tr")) == 30,
        about="the wallet's 30 stamps",
    )
    with local.client() as client:
        assert client.get("/api/v1/wallet").json()["unlocked"] is True

    browser.driver.find_element(By.CSS_SELECTOR, 'nav a[href="/stamp"]').click()
    browser.wait(lambda d: d.current_url == local.base + "/stamp", about="the stamp page")
    browser.find("pdf-file").send_keys(str(LETTER))
    browser.find("upload").click()
    browser.wait_visible("placing")
    browser.wait(lambda d: _loaded(browser, "page-image"), about="the page image")
    browser.wait(lambda d: _rect(browser, "stamp-box")["width"] > 20, about="the stamp box")
    page_mm = [float(v) / 72 * 25.4 for v in pypdf.PdfReader(LETTER).pages[0].mediabox[2:]]

    assert not browser.find("passphrase-row").is_displayed()  # the wallet is unlocked
    assert browser.find("stamp-size").get_attribute("value") == "25"
    start = _box_centre_mm(browser, page_mm[0])

    before = _states(kit)
    browser.find("preview").click()
    browser.wait(lambda d: _loaded(browser, "preview-image"), about="the preview")
    assert _states(kit) == before  # a preview spends nothing
    preview = browser.find("preview-image")
    browser.driver.execute_script("arguments[0].scrollIntoView()", preview)
    browser.screenshot("after-preview", check=True)
    assert _stamp_centre_mm(preview, page_mm[0]) == pytest.approx(start, abs=TOLERANCE_MM)
    browser.driver.execute_script("arguments[0].scrollIntoView()", browser.find("sheet"))

    box = browser.find("stamp-box")
    steps = 6
    drag = ActionChains(browser.driver, duration=50).click_and_hold(box)
    for _ in range(steps):
        drag.move_by_offset(DRAG_PX[0] // steps, DRAG_PX[1] // steps)
    drag.release().perform()
    mm_per_px = page_mm[0] / _rect(browser, "page-image")["width"]
    moved = (DRAG_PX[0] // steps * steps, DRAG_PX[1] // steps * steps)
    expected = (start[0] + moved[0] * mm_per_px, start[1] + moved[1] * mm_per_px)
    assert _box_centre_mm(browser, page_mm[0]) == pytest.approx(expected, abs=1.0)
    assert abs(expected[0] - start[0]) > 40 and abs(expected[1] - start[1]) > 60

    browser.find("stamp").click()
    stamped = browser.wait_for_download("lamaran.emeterai.pdf")
    browser.wait_visible("download-row")
    browser.screenshot("after-stamp", check=True)
    after = _states(kit)
    spent = [s for s in after if after[s] != before[s]]
    assert len(spent) == 1 and after[spent[0]] == "used"

    verdict = _cli_verify(kit, stamped, tmp_path / "office-home")
    assert verdict["valid"] is True, verdict["problems"]
    assert [s["serial"] for s in verdict["stamps"]] == spent
    assert _widget_centre_mm(stamped) == pytest.approx(expected, abs=TOLERANCE_MM)


# -- the office ---------------------------------------------------------------------------------


def _office_files(kit: Kit, folder: Path) -> tuple[list[Path], set[str]]:
    """20 files: 12 stamped letters, 7 unstamped ones, one stamped letter with a byte changed
    after stamping. Returns them (in a mixed order) and the names of the invalid ones."""
    letters = folder / "letters"
    letters.mkdir(parents=True)
    for i in range(12):
        shutil.copy(LETTER, letters / f"pelamar-{i:02d}.pdf")
    out = folder / "stamped"
    result, records = kit.stamp(letters, "--out-dir", out)
    assert result.exit_code == 0, result.stderr
    stamped = sorted(out.glob("*.emeterai.pdf"))
    assert len(stamped) == 12
    tampered = folder / "diubah.emeterai.pdf"
    data = bytearray(stamped[0].read_bytes())
    at = data.index(b"/MediaBox")  # inside the signed bytes; the file still opens
    data[at + 1 : at + 2] = b"m" if data[at + 1 : at + 2] != b"m" else b"M"
    tampered.write_bytes(bytes(data))
    plain = []
    for i in range(7):
        path = folder / f"belum-{i}.pdf"
        shutil.copy(LETTER, path)
        plain.append(path)
    files = stamped[1:] + plain + [tampered]
    files = files[::2] + files[1::2]  # valid and invalid mixed
    invalid = {p.name for p in plain} | {tampered.name}
    return [stamped[0], *files], invalid


def test_an_office_checks_twenty_files_and_downloads_the_reports(
    kit: Kit, local: Served, browser: Browser, tmp_path: Path
) -> None:
    files, invalid = _office_files(kit, tmp_path / "files")
    assert len(files) == 20 and len(invalid) == 8
    browser.open(local.url.replace("/?", "/verify?"))
    assert browser.driver.current_url == local.base + "/verify"
    browser.find("verify-files").send_keys("\n".join(str(p) for p in files))
    browser.find("verify").click()
    browser.wait_visible("results-card", timeout=45)

    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == 20
    shown = [
        (
            r.find_element(By.CSS_SELECTOR, "td").text,
            r.get_attribute("class"),
            [c.text for c in r.find_elements(By.CSS_SELECTOR, "code")],
        )
        for r in rows
    ]
    assert [s[1] for s in shown] == ["invalid"] * 8 + ["valid"] * 12
    assert {s[0] for s in shown[:8]} == invalid
    assert {s[0] for s in shown} == {p.name for p in files}
    codes = {name: found for name, _, found in shown}
    for name in invalid - {"diubah.emeterai.pdf"}:
        assert codes[name] == ["no-stamp"], (name, codes[name])
    assert "signature-invalid" in codes["diubah.emeterai.pdf"]
    assert "no-stamp" not in codes["diubah.emeterai.pdf"]
    assert all(not codes[s[0]] for s in shown[8:])
    summary = browser.text("summary")
    assert "12" in summary and "8" in summary
    browser.screenshot("results", check=True)

    browser.find("report-csv").click()
    report = browser.wait_for_download("emeterai-report.csv")
    table = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    heading, lines = table[0], table[1:]
    by_file = {line[heading.index("file")]: line for line in lines}
    assert set(by_file) == {p.name for p in files}
    codes_column = heading.index("problem_codes")
    for name in invalid - {"diubah.emeterai.pdf"}:
        assert "no-stamp" in by_file[name][codes_column]
    for code in codes["diubah.emeterai.pdf"]:
        assert code in by_file["diubah.emeterai.pdf"][codes_column]

    browser.find("report-html").click()
    page = browser.wait_for_download("emeterai-report.html").read_text(encoding="utf-8")
    for path in files:
        assert path.name in page
    assert "no-stamp" in page and codes["diubah.emeterai.pdf"][0] in page
    assert page.index("belum-") < page.index("pelamar-")  # invalid files first


# -- the language -------------------------------------------------------------------------------


def _words(browser: Browser) -> str:
    """The wallet page's text once its script has filled in the 30 stamps."""
    browser.wait(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#stamps tbody tr")) == 30,
        about="the wallet's 30 stamps",
    )
    return str(browser.driver.find_element(By.TAG_NAME, "body").text)


def _lang(browser: Browser) -> str:
    return str(browser.driver.find_element(By.TAG_NAME, "html").get_attribute("lang"))


def test_the_english_link_switches_the_pages_and_the_choice_holds(
    kit: Kit, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with (
        serving(
            env={"EMETERAI_HOME": str(kit.home), "EMETERAI_LANG": ""}, log=tmp_path / "stderr.txt"
        ) as served,
        chromium(artifacts_dir(request.node.name), languages="id-ID,id") as browser,
    ):
        browser.open(served.url)
        assert _lang(browser) == "id"
        indonesian = _words(browser)
        browser.screenshot("indonesian", check=True)
        browser.find("lang-en").click()
        browser.wait(lambda d: _lang(browser) == "en", about="the English page")
        assert browser.driver.current_url == served.base + "/"  # ?lang= only set a cookie
        english = _words(browser)
        assert english != indonesian
        # The script formats in the page's language too (not from the catalog: from Intl).
        assert "Rp10.000" in indonesian and "Rp10,000" in english
        browser.screenshot("english", check=True)
        browser.driver.find_element(By.CSS_SELECTOR, 'nav a[href="/verify"]').click()
        browser.wait(lambda d: d.current_url == served.base + "/verify", about="the check page")
        assert _lang(browser) == "en"  # the choice holds on the other pages
        browser.find("lang-id").click()
        browser.wait(lambda d: _lang(browser) == "id", about="the Indonesian page")
        browser.open(served.base + "/")
        assert _lang(browser) == "id" and _words(browser) == indonesian


def test_a_browser_left_in_english_still_opens_in_indonesian(
    kit: Kit, browser: Browser, tmp_path: Path
) -> None:
    with serving(
        env={"EMETERAI_HOME": str(kit.home), "EMETERAI_LANG": ""}, log=tmp_path / "stderr.txt"
    ) as served:
        assert browser.driver.execute_script("return navigator.language") == "en-US"
        browser.open(served.url)
        browser.screenshot("first-page", check=True)
        assert _lang(browser) == "id"
        assert browser.find("lang-en").is_displayed()
