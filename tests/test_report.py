"""The summary and the reports of many verdicts (emeterai/report.py), on results as verify makes
them: counts by main reason, CSV rows per file and stamp, and an HTML page that nothing in a file
name can inject into. The files rendered by LibreOffice and Chromium: tests/cli/test_report.py."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from emeterai.errors import Hint, UsageError
from emeterai.problems import EXPLANATIONS
from emeterai.report import (
    CSV_COLUMNS,
    InvalidFirst,
    ReportFormat,
    check_destination,
    csv_report,
    html_report,
    invalid_first,
    report_format,
    summarize,
)
from emeterai.verify import Code, Problem, StampReport, VerifyResult

SHA = "ab" * 32


def stamp(serial: str, *problems: Problem, page: int = 1) -> StampReport:
    return StampReport(
        serial=serial,
        value=10000,
        issuer="Test Issuer",
        specimen=True,
        stamped_at="2026-11-28T05:02:11+00:00",
        document_sha256=SHA,
        page=page,
        problems=tuple(problems),
    )


CHANGED = Problem(Code.MODIFIED_AFTER_STAMP, "the document was changed after stamping")
HIDDEN = Problem(Code.STAMP_NOT_SHOWN, "the stamp's annotation is hidden")
REUSED = Problem(Code.SERIAL_REUSED, "serial S2 was first seen on a.pdf")
NOT_PDF = Problem(Code.UNREADABLE, "not a PDF (no %PDF- header)")


def batch() -> list[VerifyResult]:
    return [
        VerifyResult("ok.pdf", (stamp("S1"),)),
        VerifyResult("hidden.pdf", (stamp("S2", HIDDEN, CHANGED),)),
        VerifyResult("two.pdf", (stamp("S3"), stamp("S2", REUSED, page=2))),
        VerifyResult("text.pdf", (), (NOT_PDF,)),
        VerifyResult("changed.pdf", (stamp("S4", CHANGED),)),
    ]


def test_summary_counts_each_invalid_file_once_under_its_main_reason():
    summary = summarize(batch())
    assert (summary.files, summary.valid, summary.invalid) == (5, 1, 4)
    assert summary.reasons == (
        (Code.MODIFIED_AFTER_STAMP, 2),
        (Code.UNREADABLE, 1),
        (Code.SERIAL_REUSED, 1),
    )
    assert dict(summary.codes)[Code.STAMP_NOT_SHOWN] == 1
    assert summary.text() == (
        "5 file(s): 1 valid, 4 invalid — 2 modified-after-stamp, 1 unreadable, 1 serial-reused"
    )
    assert summarize(batch()[:1]).text() == "1 file(s): 1 valid, 0 invalid"
    assert summary.to_json()["reasons"] == {
        "modified-after-stamp": 2,
        "unreadable": 1,
        "serial-reused": 1,
    }


def test_invalid_files_come_first_in_their_order():
    assert [r.file for r in invalid_first(batch())] == [
        "hidden.pdf",
        "two.pdf",
        "text.pdf",
        "changed.pdf",
        "ok.pdf",
    ]


def test_invalid_first_as_they_come_shows_an_invalid_one_at_once_and_holds_valid_ones():
    """The one rule of the order that verify prints verdicts in and the HTML report lists
    them in: an invalid verdict at once (seen while a long batch runs), valid ones at the end."""
    order = InvalidFirst()
    at_once = [[r.file for r in order.take(result)] for result in batch()]
    assert at_once == [[], ["hidden.pdf"], ["two.pdf"], ["text.pdf"], ["changed.pdf"]]
    assert [r.file for r in order.rest()] == ["ok.pdf"]
    assert order.rest() == ()  # held once, given once
    assert [r.file for r in invalid_first(batch())] == [f for files in at_once for f in files] + [
        "ok.pdf"
    ]


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_one_row_per_file_and_stamp_main_reason_first():
    rows = read_csv(csv_report(batch()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["file"], r["stamp"], r["serial"]) for r in rows] == [
        ("ok.pdf", "1", "S1"),
        ("hidden.pdf", "1", "S2"),
        ("two.pdf", "1", "S3"),
        ("two.pdf", "2", "S2"),
        ("text.pdf", "", ""),
        ("changed.pdf", "1", "S4"),
    ]
    ok, hidden, two_a, two_b, text, _ = rows
    assert ok["verdict"] == "valid" and ok["problem_codes"] == "" and ok["main_problem"] == ""
    assert ok["value"] == "10000" and ok["specimen"] == "yes" and ok["page"] == "1"
    assert ok["stamped_at"] == "2026-11-28T05:02:11+00:00"
    assert hidden["problem_codes"] == "modified-after-stamp stamp-not-shown"
    assert (
        hidden["problem_details"]
        == f"modified-after-stamp: {CHANGED.detail} | stamp-not-shown: {HIDDEN.detail}"
    )
    # the file's verdict on each of its rows; each row the problems of its own stamp
    assert two_a["verdict"] == two_b["verdict"] == "invalid"
    assert two_a["main_problem"] == two_b["main_problem"] == "serial-reused"
    assert two_a["problem_codes"] == "" and two_b["problem_codes"] == "serial-reused"
    assert text["verdict"] == "invalid" and text["problem_codes"] == "unreadable"


def test_csv_file_level_problems_are_on_every_row_of_the_file():
    ledger = Problem(Code.LEDGER_UNAVAILABLE, "ledger seen.db: cannot record")
    result = VerifyResult("a.pdf", (stamp("S1"), stamp("S2")), (ledger,))
    rows = read_csv(csv_report([result]))
    assert [r["problem_codes"] for r in rows] == ["ledger-unavailable", "ledger-unavailable"]


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+1.pdf", "-2.pdf", "@SUM(A1).pdf"])
def test_csv_cells_a_spreadsheet_would_evaluate_stay_text(name):
    (row,) = read_csv(csv_report([VerifyResult(name, (), (NOT_PDF,))]))
    assert row["file"] == "'" + name


def test_csv_keeps_non_ascii_names():
    name = "Surat lamaran – Budi Ñ.pdf"
    data = csv_report([VerifyResult(name, (stamp("S1"),))])
    assert read_csv(data)[0]["file"] == name


def test_names_that_are_not_utf8_are_shown_escaped_in_both_reports():
    """Bytes that are no UTF-8 (a name from Windows, unpacked on Linux) made both reports an
    encoding error; they are shown as backslash escapes (emeterai/names.py)."""
    name = os.fsdecode(b"surat-\xe9.pdf")
    results = [VerifyResult(name, (), (Problem(Code.UNREADABLE, f"{name}: not a PDF"),))]
    (row,) = read_csv(csv_report(results))
    assert row["file"] == "surat-\\xe9.pdf"
    assert row["problem_details"] == "unreadable: surat-\\xe9.pdf: not a PDF"
    page = html_report(results).decode("utf-8")
    assert "<td class='file'>surat-\\xe9.pdf</td>" in page
    assert "surat-\\xe9.pdf: not a PDF" in page


def test_html_escapes_hostile_names_and_details_and_refers_to_nothing_outside():
    hostile = VerifyResult(
        "<script>alert(1)</script>.pdf",
        (stamp("S9", Problem(Code.SERIAL_MISMATCH, "serial '<img src=x onerror=alert(2)>'")),),
    )
    page = html_report([*batch(), hostile]).decode("utf-8")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "http://" not in page and "https://" not in page
    assert "default-src 'none'" in page


def test_html_has_title_summary_and_invalid_files_first_with_what_to_do():
    page = html_report(batch()).decode("utf-8")
    assert "<title>e-meterai verification report: 4 of 5 invalid</title>" in page
    assert summarize(batch()).text() in page
    order = [page.index(f">{name}<") for name in ("hidden.pdf", "changed.pdf", "ok.pdf")]
    assert order == sorted(order)
    for code in (Code.MODIFIED_AFTER_STAMP, Code.STAMP_NOT_SHOWN, Code.UNREADABLE):
        assert EXPLANATIONS[code].meaning.replace("'", "&#x27;") in page
        assert EXPLANATIONS[code].action in page
    # the main reason before the other one within a file
    row = page[page.index(">hidden.pdf<") :]
    assert row.index("<b>modified-after-stamp</b>") < row.index("<b>stamp-not-shown</b>")


def test_report_format_by_suffix_else_a_usage_error():
    assert report_format(Path("r.csv")) is ReportFormat.CSV
    assert report_format(Path("R.HTML")) is ReportFormat.HTML
    assert report_format(Path("r.htm")) is ReportFormat.HTML
    for bad in ("r.txt", "r", "r.csv.gz", "r.xlsx"):
        with pytest.raises(UsageError) as caught:
            report_format(Path(bad))
        assert caught.value.exit_code == 2 and caught.value.path == bad


def test_check_destination_refuses_an_existing_report_unless_overwrite(tmp_path):
    target = tmp_path / "r.csv"
    assert check_destination(target, overwrite=False) is ReportFormat.CSV
    target.write_text("old")
    with pytest.raises(UsageError) as caught:
        check_destination(target, overwrite=False)
    assert caught.value.hint is Hint.FORCE
    assert check_destination(target, overwrite=True) is ReportFormat.CSV
    with pytest.raises(UsageError, match="no folder"):
        check_destination(tmp_path / "missing" / "r.html", overwrite=True)
    (tmp_path / "d.html").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        check_destination(tmp_path / "d.html", overwrite=True)
