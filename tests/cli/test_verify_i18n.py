"""`emeterai verify` and `emeterai explain` in Bahasa Indonesia (issue 14): verdicts SAH / TIDAK
SAH, the summary, amounts and local times, the CSV and HTML reports, the explanations and the
help, while the JSON and the exit codes stay exactly as in English."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from pathlib import Path

import pytest

from emeterai import i18n
from emeterai.problems import EXPLANATIONS
from emeterai.verify import Code
from tests.support import attacks
from tests.support.cli import help_in, json_lines, run, stamp_cli
from tests.support.common import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"


@pytest.fixture
def jakarta(monkeypatch):
    """This machine's clock in Jakarta (WIB), so local times are Indonesian ones."""
    monkeypatch.setenv("TZ", "Asia/Jakarta")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def speaking():
    """Restores the language after a test that changes it (the CLI's --lang sets it)."""
    before = i18n.language()
    yield
    i18n.set_language(before)


@pytest.fixture
def folder(runner, home, wallet_with_stamps, tmp_path) -> dict[str, Path]:
    """One valid stamped letter, one changed after its stamp, one that is no PDF."""
    wallet_with_stamps(1)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    inbox = tmp_path / "masuk"
    inbox.mkdir()
    ok = inbox / "a-lamaran.emeterai.pdf"
    stamp_cli(runner, src, ok)
    changed = inbox / "b-diubah.pdf"
    changed.write_bytes(attacks.append_page_text(ok.read_bytes()))
    text = inbox / "c-surat.pdf"
    text.write_text("bukan PDF")
    return {"inbox": inbox, "ok": ok, "changed": changed, "text": text}


def verify(runner, lang: str, *args: object):
    return run(runner, "--lang", lang, "verify", *args, "--jobs", "1")


def test_verdicts_and_summary_speak_indonesian_with_the_same_json_and_exit_code(
    runner, folder, jakarta, speaking
):
    indonesian = verify(runner, "id", folder["inbox"], "--json")
    english = verify(runner, "en", folder["inbox"], "--json")
    assert indonesian.exit_code == english.exit_code == 1
    assert json_lines(indonesian) == json_lines(english)
    lines = indonesian.stderr.splitlines()
    (valid,) = [ln for ln in lines if ln.startswith("SAH ")]
    assert valid.startswith(f"SAH        {folder['ok']}: ")
    assert re.search(
        r"\(Rp10\.000, Test Issuer, SPESIMEN, dibubuhi \d{1,2} \w{3} \d{4} \d\d\.\d\d WIB\)$", valid
    )
    assert f"TIDAK SAH  {folder['changed']}: modified-after-stamp: " in indonesian.stderr
    assert f"TIDAK SAH  {folder['text']}: unreadable: " in indonesian.stderr
    assert "3 berkas: 1 sah, 2 tidak sah — 1 unreadable, 1 modified-after-stamp" in lines
    assert "VALID" not in indonesian.stderr and "file(s)" not in indonesian.stderr
    assert "3 file(s): 1 valid, 2 invalid — 1 unreadable, 1 modified-after-stamp" in (
        english.stderr.splitlines()
    )


def test_every_valid_run_exits_0_in_both_languages(runner, folder, speaking):
    for lang in ("id", "en"):
        result = verify(runner, lang, folder["ok"])
        assert result.exit_code == 0, result.stderr
    assert "1 berkas: 1 sah, 0 tidak sah" in verify(runner, "id", folder["ok"]).stderr


def test_the_csv_report_has_indonesian_headings_and_words_but_codes_stay_codes(
    runner, folder, tmp_path, speaking
):
    report = tmp_path / "laporan.csv"
    result = verify(runner, "id", folder["inbox"], "--report", report)
    assert result.exit_code == 1, result.stderr
    assert f"laporan: {report}" in result.stderr.splitlines()
    text = report.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == [
        "berkas",
        "hasil",
        "masalah utama",
        "meterai ke",
        "nomor seri",
        "nilai",
        "penerbit",
        "spesimen",
        "waktu dibubuhi",
        "halaman",
        "sha256 dokumen",
        "kode masalah",
        "rincian masalah",
    ]
    by_file = {Path(r["berkas"]).name: r for r in rows}
    assert by_file["a-lamaran.emeterai.pdf"]["hasil"] == "sah"
    assert by_file["a-lamaran.emeterai.pdf"]["nilai"] == "10000"  # a number a spreadsheet sums
    assert by_file["b-diubah.pdf"]["hasil"] == "tidak sah"
    assert by_file["b-diubah.pdf"]["masalah utama"] == "modified-after-stamp"
    assert "modified-after-stamp" in by_file["b-diubah.pdf"]["kode masalah"].split()
    assert by_file["c-surat.pdf"]["kode masalah"] == "unreadable"


def test_the_html_report_speaks_indonesian(runner, folder, tmp_path, jakarta, speaking):
    report = tmp_path / "laporan.html"
    assert verify(runner, "id", folder["inbox"], "--report", report).exit_code == 1
    page = report.read_text(encoding="utf-8")
    assert '<html lang="id">' in page
    assert "<title>Laporan pemeriksaan e-meterai: 2 dari 3 tidak sah</title>" in page
    assert "<h1>Laporan pemeriksaan e-meterai</h1>" in page
    assert re.search(r"Dibuat \d{1,2} \w{3} \d{4} \d\d\.\d\d WIB oleh emeterai", page)
    assert "3 berkas: 1 sah, 2 tidak sah" in page
    verdicts = re.findall(r"<td class='verdict'>([^<]*)</td>", page)
    assert verdicts == ["TIDAK SAH", "TIDAK SAH", "SAH"]
    i18n.set_language("id")
    action = EXPLANATIONS[Code.MODIFIED_AFTER_STAMP].translated().action
    assert action != EXPLANATIONS[Code.MODIFIED_AFTER_STAMP].action
    assert f"Yang harus dilakukan: {action}" in page
    assert "Rp10.000" in page and "What to do" not in page and "Files" not in page


def test_explain_speaks_indonesian_and_its_json_stays_english(runner, speaking):
    result = run(runner, "--lang", "id", "explain", "serial-reused")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "serial-reused"
    assert lines[1] == (
        "  arti:                  buku catatan nomor seri sudah mencatat nomor seri ini pada "
        "dokumen lain"
    )
    assert lines[2].startswith("  penyebab biasa:        satu meterai disalin")
    assert lines[3].startswith("  yang harus dilakukan:  bandingkan dengan dokumen")
    listing = run(runner, "--lang", "id", "explain").stdout.splitlines()
    assert listing[0].split(None, 1) == [
        "unreadable",
        "berkas ini bukan PDF, terpotong dan tidak bisa diperbaiki, atau memerlukan kata sandi "
        "PDF yang tidak diberikan",
    ]
    for args in (["explain", "--json"], ["explain", "revoked", "--json"]):
        assert json_lines(run(runner, "--lang", "id", *args)) == json_lines(
            run(runner, "--lang", "en", *args)
        )
    (one,) = json_lines(run(runner, "--lang", "id", "explain", "revoked", "--json"))
    assert one == EXPLANATIONS[Code.REVOKED].to_json()  # the English texts


def test_every_explanation_has_its_own_indonesian_words(speaking):
    i18n.set_language("id")
    for e in EXPLANATIONS.values():
        shown = e.translated()
        for english, indonesian in (
            (e.meaning, shown.meaning),
            (e.cause, shown.cause),
            (e.action, shown.action),
        ):
            assert indonesian and indonesian != english, english
            assert "materai" not in indonesian


def test_help_of_verify_and_explain_in_indonesian_with_person_readable_placeholders(tmp_path):
    home = {"EMETERAI_HOME": str(tmp_path)}
    out = help_in({"LANG": "id_ID.UTF-8", **home}, "verify").stdout
    assert "emeterai verify [PILIHAN] FILE.pdf..." in out
    assert "Periksa PDF bermeterai tanpa internet" in out
    assert "Tanda tangan digital meterai (PAdES)" in out
    for shown in ("--trust PEM", "--crl FILE", "--ledger FILE|URL", "--password PASSWORD"):
        assert shown in out
    assert "--jobs N" in out and "--report FILE" in out
    assert "Timpa laporan yang sudah ada." in out
    assert "<" not in out and "{" not in out and "list[" not in out
    out = help_in({"LANG": "id_ID.UTF-8", **home}, "explain").stdout
    assert "emeterai explain [PILIHAN] [CODE]" in out
    assert "Arti kode masalah dari pemeriksaan (verify)" in out
    english = help_in({"LANG": "C.UTF-8", **home}, "verify").stdout
    assert "Verify stamped PDFs offline" in english and "--trust PEM" in english
    assert "<" not in english and "{" not in english


def test_the_pseudo_language_leaves_no_summary_or_verdict_word_unmarked(runner, folder, speaking):
    result = verify(runner, "qps", folder["inbox"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("⟦") and lines[-1].endswith("⟧"), lines[-1]
    verdicts = [ln for ln in lines if ln.startswith("⟦")][:-1]
    assert len(verdicts) == 3
    for line in verdicts:
        assert line.startswith(("⟦VALID⟧", "⟦INVALID⟧")), line
