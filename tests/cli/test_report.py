"""`emeterai verify --report FILE.csv|FILE.html` (README, "Reports for an office"): the CSV read
back by Python's csv module and converted by LibreOffice, the HTML rendered by Chromium; a
non-ASCII and a hostile file name; the report's path checked before any file is verified."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from emeterai.problems import EXPLANATIONS
from emeterai.verify import Code
from tests.support import attacks
from tests.support.cli import _assert_clean_failure, json_lines, run, stamp_cli
from tests.support.common import PROJECT_ROOT, _missing, require_tool

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"
NON_ASCII = "Surat lamaran – Budi Ñ.pdf"
HOSTILE = "<script>alert('x') & \"q\".pdf"


@pytest.fixture
def office(runner, home, wallet_with_stamps, tmp_path) -> dict[str, Path]:
    """An office's folder: two valid files (one with a non-ASCII name), one changed after its
    stamp (with a hostile name), one re-saved by qpdf, one that is no PDF."""
    wallet_with_stamps(2)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    folder = tmp_path / "lamaran masuk"
    folder.mkdir()
    ok = folder / "a-lamaran.emeterai.pdf"
    stamp_cli(runner, src, ok)
    nice = folder / NON_ASCII
    shutil.copyfile(ok, nice)
    hostile = folder / HOSTILE
    hostile.write_bytes(attacks.append_page_text(ok.read_bytes()))
    resaved = folder / "resaved.pdf"
    subprocess.run([require_tool("qpdf"), str(ok), str(resaved)], check=True)
    text = folder / "surat.pdf"
    text.write_text("bukan PDF")
    return {"folder": folder, "ok": ok, "nice": nice, "hostile": hostile, "resaved": resaved}


def verify_report(runner, office, report: Path, *extra: str):
    result = run(runner, "verify", office["folder"], "--report", report, "--jobs", "1", *extra)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result


def read_rows(report: Path) -> list[dict[str, str]]:
    data = report.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_report_one_row_per_file_and_stamp_read_back(runner, office, tmp_path):
    report = tmp_path / "laporan.csv"
    result = verify_report(runner, office, report, "--json")
    rows = read_rows(report)
    records = {o["file"]: o for o in json_lines(result)}
    assert {r["file"] for r in rows} == set(records)
    assert len(rows) == 5  # each file here has at most one stamp
    by_file = {r["file"]: r for r in rows}
    for name, obj in records.items():
        row = by_file[name]
        assert row["verdict"] == ("valid" if obj["valid"] else "invalid")
        assert row["serial"] == (obj["serial"] or "")
        assert row["stamped_at"] == (obj["stamped_at"] or "")
        assert set(row["problem_codes"].split()) == {p["code"] for p in obj["problems"]}
        for p in obj["problems"]:
            assert f"{p['code']}: {p['detail']}" in row["problem_details"]
    nice = by_file[str(office["nice"])]
    assert nice["verdict"] == "valid" and nice["value"] == "10000"
    assert by_file[str(office["hostile"])]["main_problem"] == "modified-after-stamp"
    assert by_file[str(office["resaved"])]["main_problem"] == "signature-invalid"
    assert by_file[str(office["folder"] / "surat.pdf")]["stamp"] == ""
    assert "report: " + str(report) in result.stderr


def test_csv_report_converted_by_libreoffice_keeps_the_name_and_the_counts(
    runner, office, tmp_path
):
    """LibreOffice Calc reads the report as UTF-8 (``76``: the character set its import
    dialog offers), the byte-order mark is no character of the first cell, and the converted
    sheet holds the non-ASCII name and the verdicts."""
    import html

    soffice = require_tool("soffice")
    if not Path("/usr/lib/libreoffice/program/libsclo.so").exists():
        _missing("LibreOffice Calc is not installed (libreoffice-calc-nogui)")
    report = tmp_path / "laporan.csv"
    verify_report(runner, office, report)
    out = tmp_path / "converted"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--infilter=CSV:44,34,76",
            "--convert-to",
            "html",
            "--outdir",
            str(out),
            str(report),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    page = (out / "laporan.html").read_text(encoding="utf-8")
    cells = [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S)
    ]
    assert cells[0] == "file", cells[:3]
    assert str(office["nice"]) in cells, "the non-ASCII name did not survive"
    assert str(office["hostile"]) in cells
    assert cells.count("valid") == 2 and cells.count("invalid") == 3
    assert "modified-after-stamp" in cells and "signature-invalid" in cells


def test_html_report_is_self_contained_escaped_and_invalid_first(runner, office, tmp_path):
    report = tmp_path / "laporan.html"
    verify_report(runner, office, report)
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"https?:", page), "the report refers to the network"
    assert "<script" not in page
    assert html_escape(str(office["hostile"])) in page
    files = re.findall(r"<td class='file'>(.*?)</td>", page)
    verdicts = re.findall(r"<td class='verdict'>(\w+)</td>", page)
    assert verdicts == ["INVALID"] * 3 + ["VALID"] * 2
    assert len(files) == 5 and html_escape(str(office["nice"])) in files[3:]
    for code in (Code.MODIFIED_AFTER_STAMP, Code.SIGNATURE_INVALID, Code.UNREADABLE):
        assert html_escape(EXPLANATIONS[code].action) in page


def test_verdict_lines_and_the_html_report_list_the_files_in_one_order(runner, office, tmp_path):
    """Both follow emeterai.report.InvalidFirst: invalid files as they came, then valid ones."""
    import html

    report = tmp_path / "laporan.html"
    result = verify_report(runner, office, report)
    page = report.read_text(encoding="utf-8")
    files = [html.unescape(f) for f in re.findall(r"<td class='file'>(.*?)</td>", page)]
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(("VALID ", "INVALID "))]
    assert len(lines) == len(files) == 5, result.stderr
    for line, name in zip(lines, files, strict=True):
        assert line.split(None, 1)[1].startswith(name + ": "), (line, name)
    assert [ln.split()[0] for ln in lines] == ["INVALID"] * 3 + ["VALID"] * 2


def html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_html_report_rendered_by_chromium(runner, office, tmp_path):
    chromium = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if chromium is None:
        require_tool("chromium")
    report = tmp_path / "laporan.html"
    verify_report(runner, office, report)
    png = tmp_path / "laporan.png"
    base = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(
        [*base, f"--screenshot={png}", "--window-size=1200,2400", report.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 2400)
    cells = verdict_cells(image)
    # the invalid-first order as drawn: three red cells above two green ones
    assert [c.colour for c in cells] == ["red"] * 3 + ["green"] * 2, cells
    # one column (the first, narrow one) of one table: the same left and right edges, each
    # cell right below the one above it (a border between), the last one not cut off
    assert len({(c.left, c.right) for c in cells}) == 1, cells
    assert cells[0].left < 100 and cells[0].right - cells[0].left < image.width // 6, cells
    assert all(0 < b.top - a.bottom <= 3 for a, b in zip(cells, cells[1:], strict=False)), cells
    assert all(c.bottom - c.top > 20 for c in cells) and cells[-1].bottom < image.height - 20
    dom = subprocess.run(
        [*base, "--dump-dom", report.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    ).stdout
    assert "<title>e-meterai verification report: 3 of 5 invalid</title>" in dom
    assert "5 file(s): 2 valid, 3 invalid — " in dom
    assert "<script" not in dom.split("</head>", 1)[1]


VERDICT_RGB = {"red": (0xB0, 0x00, 0x20), "green": (0x1B, 0x7F, 0x3B)}  # the report's CSS


@dataclass(frozen=True)
class Cell:
    colour: str
    top: int
    bottom: int
    left: int
    right: int


def _mask(image: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    """White where ``image`` is within 12 of ``rgb`` in every channel, black elsewhere."""
    diff = ImageChops.difference(image, Image.new("RGB", image.size, rgb))
    near = [band.point(lambda v: 255 if v <= 12 else 0) for band in diff.split()]
    return ImageChops.multiply(ImageChops.multiply(near[0], near[1]), near[2])


def _verdict_in_row(masks: dict[str, Image.Image], y: int) -> tuple[str, int, int] | None:
    """(colour, left, right) of the verdict colour that fills more than 20 pixels of row y."""
    for colour, mask in masks.items():
        row = mask.crop((0, y, mask.width, y + 1))
        box = row.getbbox()
        if box is not None and row.histogram()[255] > 20:
            return colour, box[0], box[2] - 1
    return None


def verdict_cells(image: Image.Image) -> list[Cell]:
    """The verdict cells as drawn, top to bottom: each run of pixel rows in which more than 20
    pixels have the red (INVALID) or the green (VALID) background of the report's CSS."""
    masks = {colour: _mask(image, rgb) for colour, rgb in VERDICT_RGB.items()}
    cells: list[Cell] = []
    for y in range(image.height):
        found = _verdict_in_row(masks, y)
        if found is None:
            continue
        colour, left, right = found
        last = cells[-1] if cells else None
        if last is not None and last.colour == colour and last.bottom == y - 1:
            cells[-1] = Cell(colour, last.top, y, min(last.left, left), max(last.right, right))
        else:
            cells.append(Cell(colour, y, y, left, right))
    return cells


def test_any_other_suffix_is_a_usage_error_before_any_file_is_verified(runner, office, tmp_path):
    for name in ("laporan.txt", "laporan.xlsx", "laporan"):
        result = run(runner, "verify", office["folder"], "--report", tmp_path / name)
        line = _assert_clean_failure(result, code=2)
        assert str(tmp_path / name) in line and ".csv" in line and ".html" in line
        assert "VALID" not in result.stderr and "file(s)" not in result.stderr
        assert not (tmp_path / name).exists()


def test_an_existing_report_is_kept_unless_force(runner, office, tmp_path):
    report = tmp_path / "laporan.csv"
    report.write_text("kept\n")
    result = run(runner, "verify", office["folder"], "--report", report)
    line = _assert_clean_failure(result, code=2)
    assert str(report) in line and "--force" in line
    assert "file(s)" not in result.stderr  # refused before any file was verified
    assert report.read_text() == "kept\n"
    verify_report(runner, office, report, "--force")
    assert len(read_rows(report)) == 5
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_report_in_a_missing_folder_is_refused_before_verifying(runner, office, tmp_path):
    report = tmp_path / "no such folder" / "laporan.html"
    result = run(runner, "verify", office["folder"], "--report", report)
    line = _assert_clean_failure(result, code=2)
    assert str(report) in line and "file(s)" not in result.stderr


def test_names_that_are_not_utf8_are_shown_escaped_in_both_reports(runner, office, tmp_path):
    """A zip made on Windows and unpacked on Linux: names with bytes that are no UTF-8. The
    reports were an internal error after every file had been verified; now they show the bad
    bytes as backslash escapes, as the JSON and the verdict lines do."""
    folder = tmp_path / "dari windows"
    folder.mkdir()
    valid = folder / os.fsdecode(b"surat-\xe9.pdf")
    shutil.copyfile(office["ok"], valid)
    invalid = folder / os.fsdecode(b"bukan-\xff.pdf")
    invalid.write_text("bukan PDF")
    shown_valid = str(folder / "surat-\\xe9.pdf")
    shown_invalid = str(folder / "bukan-\\xff.pdf")
    csv_file, html_file = tmp_path / "laporan.csv", tmp_path / "laporan.html"
    for report in (csv_file, html_file):
        result = run(runner, "verify", folder, "--report", report, "--jobs", "1")
        assert result.exit_code == 1, (result.stderr, result.exception)
        assert "internal error" not in result.stderr
    rows = {r["file"]: r for r in read_rows(csv_file)}
    assert set(rows) == {shown_valid, shown_invalid}
    assert rows[shown_valid]["verdict"] == "valid"
    assert rows[shown_invalid]["main_problem"] == "unreadable"
    page = html_file.read_bytes().decode("utf-8")  # strictly: no lone surrogate in the page
    files = re.findall(r"<td class='file'>(.*?)</td>", page)
    assert files == [html_escape(shown_invalid), html_escape(shown_valid)]
