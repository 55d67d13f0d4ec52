"""`emeterai stamp` and `emeterai demo` in Bahasa Indonesia: the lines a person reads are
Indonesian, while the JSON records and the exit codes are the same as in English."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from emeterai.cli import app
from tests.support import pdfmakers
from tests.support.cli import help_in
from tests.support.common import PASSPHRASE
from tests.support.stamping import _json_lines
from tests.support.terminal import Terminal, terminal_env

# Words only a programmer reads: Typer's type names and braces where a metavar belongs.
PROGRAMMER_WORDS = ("<list[Path]>", "<str>", "<int range>", "<path>", "<file>", "<dir>", "{")


def _both(kit, *args):
    """The same command in Indonesian and in English: (id result, en result)."""
    return kit.cli("--lang", "id", *args), kit.cli("--lang", "en", *args)


def _without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


def test_a_batch_speaks_indonesian_and_its_json_and_exit_code_are_the_english_ones(kit):
    folder = kit.folder("batch")
    good = pdfmakers.plain_pdf(folder / "surat.pdf", placeholder_page=1)
    bad = pdfmakers.not_a_pdf(folder / "rusak.pdf")

    indonesian = kit.cli("--lang", "id", "stamp", good, bad, "--json")
    (folder / "surat.emeterai.pdf").unlink()  # so that English stamps it again, the same way
    english = kit.cli("--lang", "en", "stamp", good, bad, "--json")

    assert indonesian.exit_code == english.exit_code == 1
    assert f"{good} dibubuhi meterai -> {folder / 'surat.emeterai.pdf'}: " in indonesian.stderr
    assert "di halaman 1 (pada teks tempat meterai), bertambah " in indonesian.stderr
    assert "emeterai: kesalahan: " in indonesian.stderr
    assert indonesian.stderr.rstrip().endswith("1 dibubuhi meterai, 1 gagal")
    assert english.stderr.rstrip().endswith("1 stamped, 1 failed")
    assert "stamped" not in indonesian.stderr and "failed" not in indonesian.stderr

    id_records, en_records = _json_lines(indonesian.stdout), _json_lines(english.stdout)
    assert [r.get("status") for r in id_records] == [r.get("status") for r in en_records]
    assert [sorted(r) for r in id_records] == [sorted(r) for r in en_records]
    varying = ("serial", "signed_at", "bytes_added", "output_sha256", "sha256", "time")
    assert [_without(r, *varying) for r in id_records] == [
        _without(r, *varying) for r in en_records
    ]
    assert "placeholder" in [r.get("placement") for r in id_records]


def test_a_hint_is_indonesian_on_stderr_and_english_in_the_json(kit):
    folder = kit.folder("exists")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    (folder / "x.emeterai.pdf").write_bytes(b"already here")

    indonesian, english = _both(kit, "stamp", source, "--json")

    assert indonesian.exit_code == english.exit_code == 1
    assert "x.emeterai.pdf: sudah ada (gunakan --force untuk menimpanya)" in indonesian.stderr
    assert "(use --force to overwrite)" in english.stderr
    assert _json_lines(indonesian.stdout) == _json_lines(english.stdout)
    assert _json_lines(indonesian.stdout)[0]["error"] == (
        f"{source}: {folder / 'x.emeterai.pdf'}: already exists (use --force to overwrite)"
    )


def test_a_dry_run_speaks_indonesian_with_the_same_json(kit):
    folder = kit.folder("dry")
    source = pdfmakers.plain_pdf(folder / "x.pdf")  # no placeholder: the bottom right

    indonesian, english = _both(kit, "stamp", source, "--dry-run", "--page", "terakhir", "--json")

    assert indonesian.exit_code == english.exit_code == 0, indonesian.stderr
    assert "meterai akan ditempel di halaman 1, di " in indonesian.stderr
    assert "(di kanan bawah); belum ada meterai yang terpakai" in indonesian.stderr
    assert "would stamp on page 1" in english.stderr
    assert _json_lines(indonesian.stdout) == _json_lines(english.stdout)
    assert not (folder / "x.emeterai.pdf").exists()


@pytest.mark.parametrize(
    ("args", "indonesian_words"),
    [
        (["--page", "0"], "--page '0': nomor halaman dimulai dari 1"),
        (["--page", "akhir"], "--page 'akhir': tulis nomor halaman, atau 'terakhir'"),
        (["--at", "1"], "--at '1': tulis X,Y dalam milimeter, misalnya --at 150,230"),
        (["--at", "-1,5"], "--at '-1,5': jarak dari kiri atas halaman tidak boleh negatif"),
    ],
)
def test_usage_errors_are_indonesian_and_exit_2_as_in_english(
    kit, tmp_path, args, indonesian_words
):
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")

    indonesian, english = _both(kit, "stamp", source, *args)

    assert indonesian.exit_code == english.exit_code == 2
    assert indonesian.stderr.strip() == f"emeterai: kesalahan: {indonesian_words}"


def test_an_empty_folder_and_no_pdf_are_said_in_indonesian(kit, tmp_path):
    empty = tmp_path / "kosong"
    empty.mkdir()

    indonesian, english = _both(kit, "stamp", empty)

    assert indonesian.exit_code == english.exit_code == 2
    assert f"emeterai: peringatan: {empty}: tidak ada berkas PDF di folder ini" in indonesian.stderr
    assert "emeterai: kesalahan: tidak ada berkas PDF yang diberikan" in indonesian.stderr


def test_stamp_help_speaks_indonesian_with_an_indonesian_locale_and_no_programmer_words():
    indonesian = help_in({"LANG": "id_ID.UTF-8"}, "stamp", check=False)
    english = help_in({"LANG": "C.UTF-8"}, "stamp", check=False)

    assert indonesian.returncode == english.returncode == 0
    assert "Bubuhkan meterai pada berkas PDF" in indonesian.stdout
    assert (
        "Kata sandi PDF" in indonesian.stdout and "Folder untuk berkas hasil." in indonesian.stdout
    )
    assert "Stamp PDFs: one stamp from the wallet" in english.stdout
    assert " stamp [PILIHAN] FILE.pdf...\n" in indonesian.stdout
    assert " stamp [OPTIONS] FILE.pdf...\n" in english.stdout
    for out in (indonesian.stdout, english.stdout):
        for word in ("--serial SERIAL", "--page PAGE", "--at X,Y", "--size MM", "--jobs N"):
            assert word in out
        assert "--passphrase-file FILE" in out and "--out-dir FOLDER" in out
        assert not [w for w in PROGRAMMER_WORDS if w in out], out


def test_demo_help_speaks_indonesian():
    out = help_in({"LANG": "id_ID.UTF-8"}, "demo")
    assert out.returncode == 0
    assert "Coba seluruh alur dengan contoh surat lamaran" in out.stdout


def test_the_demo_speaks_indonesian_with_rupiah_as_people_write_it(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("EMETERAI_HOME", raising=False)
    monkeypatch.delenv("EMETERAI_PASSPHRASE", raising=False)

    result = runner.invoke(app, ["--lang", "id", "demo"])

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("berkas bermeterai: ")
    assert lines[1].startswith("hasil pemeriksaan: SAH (") and ", Rp10.000, " in lines[1]
    assert lines[1].endswith(", SPESIMEN)")
    assert "1. penerbit SPESIMEN dibuat di " in result.stderr
    assert "4. lamaran.pdf dibubuhi meterai " in result.stderr
    assert (
        "Berkas-berkas demo tetap ada di " in result.stderr and "Coba berikutnya:" in result.stderr
    )


def test_the_wallet_prompt_and_its_retries_are_indonesian_at_a_terminal(kit):
    folder = kit.folder("prompt")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    env = terminal_env(kit.home, LANG="id_ID.UTF-8")
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)

    term = Terminal(["stamp", source], env)
    term.answer("Kata sandi dompet meterai:", "salah sekali")
    term.expect("sisa 2 kali percobaan")
    term.answer("Kata sandi dompet meterai:", PASSPHRASE)

    assert term.finish() == 0, term.text
    assert f"{source} dibubuhi meterai -> " in term.text
    assert "salah sekali" not in term.text
    assert Path(folder / "x.emeterai.pdf").is_file()
