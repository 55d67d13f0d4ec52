"""The wallet, issuer, trust, ledger, serial and shrink commands in Bahasa Indonesia: the lines
a person reads are Indonesian (amounts Rp10.000, the glossary's state words), while the JSON and
the exit codes are exactly those of the English run."""

from __future__ import annotations

import json

import pytest

from emeterai import serial
from emeterai.i18n import moment
from emeterai.ledger import open_ledger
from emeterai.trust import TrustStore
from tests.support.cli import _run, help_in
from tests.support.producers import scan_pdf


def _both(runner, *args):
    """The same command in English and in Indonesian."""
    return _run(runner, "--lang", "en", *args), _run(runner, "--lang", "id", *args)


def test_issue_import_and_list_speak_indonesian_with_the_same_json(
    runner, home, stamp_secret, tmp_path
):
    assert _run(runner, "--lang", "id", "issuer", "init", "--specimen").exit_code == 0
    made = _run(runner, "--lang", "id", "issuer", "issue", "-n", "2", "--out", tmp_path / "s")
    assert made.exit_code == 0, made.stderr
    assert f"2 meterai senilai Rp10.000 diterbitkan ke {tmp_path / 's'}" in made.stderr
    root = tmp_path / "root.pem"
    assert _run(runner, "issuer", "root", "-o", root).exit_code == 0
    trusted = _run(runner, "--lang", "id", "trust", "add", root)
    assert trusted.stdout.startswith("tepercaya: emeterai Issuer (SPESIMEN) ")
    again = _run(runner, "--lang", "id", "trust", "add", root)
    assert again.stdout.startswith("sudah tepercaya: ")

    imported = _run(runner, "--lang", "id", "wallet", "import", tmp_path / "s")
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.count("disimpan ke dompet: ") == 2
    assert "2 disimpan, 0 sudah ada, 0 ditolak" in imported.stderr
    duplicate = _run(runner, "--lang", "id", "wallet", "import", tmp_path / "s")
    assert "sudah ada di dompet meterai, tidak diubah" in duplicate.stderr

    en, id_ = _both(runner, "wallet", "list")
    assert en.exit_code == id_.exit_code == 0
    for line in id_.stdout.splitlines():
        assert "  Rp10.000  berlaku sampai " in line and line.endswith("  tersedia"), line
    assert id_.stderr == "2 meterai: 2 dapat dipakai\n"
    assert en.stderr == "2 stamps: 2 usable\n"
    filtered = _run(runner, "--lang", "id", "wallet", "list", "--state", "used")
    assert filtered.stderr == "2 meterai: 2 dapat dipakai (0 ditampilkan)\n"
    en_json, id_json = _both(runner, "wallet", "list", "--json")
    assert id_json.stdout == en_json.stdout and '"state": "available"' in id_json.stdout

    en_trust, id_trust = _both(runner, "trust", "list")
    assert "(SPESIMEN)  berlaku sampai " in id_trust.stdout
    assert en_trust.stdout != id_trust.stdout
    assert _both(runner, "trust", "list", "--json")[0].stdout == (
        _both(runner, "trust", "list", "--json")[1].stdout
    )


def test_a_wrong_state_and_a_missing_folder_are_said_in_indonesian_with_the_same_exit(
    runner, home, tmp_path
):
    en, id_ = _both(runner, "wallet", "list", "--state", "hilang")
    assert en.exit_code == id_.exit_code == 2
    assert "--state: pilih salah satu dari available, reserved, used" in id_.stderr
    en, id_ = _both(runner, "wallet", "import", tmp_path / "tidak-ada")
    assert en.exit_code == id_.exit_code == 2
    assert "berkas atau folder ini tidak ada" in id_.stderr


def test_export_and_restore_speak_indonesian_with_the_same_json(
    runner, issuer, wallet_with_stamps, tmp_path, monkeypatch
):
    wallet_with_stamps(3)
    backup = tmp_path / "dompet.backup"
    exported = _run(runner, "--lang", "id", "wallet", "export", "-o", backup)
    assert exported.exit_code == 0, exported.stderr
    assert f"{backup} sudah ditulis: 3 meterai." in exported.stderr

    records = {}
    for lang in ("en", "id"):
        new_home = tmp_path / f"laptop-{lang}"
        monkeypatch.setenv("EMETERAI_HOME", str(new_home))
        TrustStore(new_home / "trust").add(issuer.root_pem(), "root")
        result = _run(runner, "--lang", lang, "wallet", "restore", backup, "--json")
        assert result.exit_code == 0, result.stderr
        records[lang] = json.loads(result.stdout)
        if lang == "id":
            assert f"{backup} dipulihkan: 3 ditambahkan, 0 ditandai terpakai" in result.stderr
            made = moment(records[lang]["exported_at"])  # read in Indonesian: this run spoke it
            assert f"emeterai: peringatan: cadangan ini dibuat pada {made}. " in result.stderr
            # the JSON keeps the library's English sentence
            assert records[lang]["warning"].startswith("this backup was made on ")
    assert records["en"] == records["id"]


def test_ledger_and_serial_check_speak_indonesian(runner, tmp_path):
    location = str(tmp_path / "buku.sqlite")
    open_ledger(location).close()
    en, id_ = _both(runner, "ledger", "stats", "--ledger", location)
    assert en.exit_code == id_.exit_code == 0
    assert id_.stdout == "0 nomor seri, 0 dokumen, 0 nomor seri dipakai lebih dari sekali\n"
    en, id_ = _both(runner, "ledger", "reused", "--ledger", location)
    assert id_.stderr == "0 nomor seri dipakai lebih dari sekali\n"
    assert en.stderr == "0 reused serials\n"
    en_json, id_json = _both(runner, "ledger", "stats", "--ledger", location, "--json")
    assert en_json.stdout == id_json.stdout

    good = serial.generate(serial.issuer_prefix(b"test issuer"))
    en, id_ = _both(runner, "serial", "check", good)
    assert en.exit_code == id_.exit_code == 0
    assert id_.stdout.strip().endswith(": penulisan nomor seri benar")


def test_shrink_says_its_size_line_and_a_missed_cap_in_indonesian(runner, tmp_path):
    source = tmp_path / "lamaran.pdf"
    source.write_bytes(scan_pdf(300))
    done = _run(runner, "--lang", "id", "shrink", source, "-o", tmp_path / "kecil.pdf")
    assert done.exit_code == 0, done.stderr
    assert "(1 gambar diperkecil ke 200 dpi, mutu JPEG 85): " in done.stdout
    outs = {}
    for lang in ("en", "id"):
        out = tmp_path / f"kecil-{lang}.pdf"
        result = _run(
            runner, "--lang", lang, "shrink", source, "-o", out, "--max-size", "20K", "--json"
        )
        assert result.exit_code == 1
        outs[lang] = json.loads(result.stdout)
        if lang == "id":
            assert "emeterai: kesalahan: " in result.stderr
            assert "Berkas tetap ditulis." in result.stderr
    assert {k: v for k, v in outs["en"].items() if k != "output"} == {
        k: v for k, v in outs["id"].items() if k != "output"
    }


COMMANDS = [
    ["wallet"],
    ["wallet", "import"],
    ["wallet", "list"],
    ["wallet", "passphrase"],
    ["wallet", "export"],
    ["wallet", "restore"],
    ["issuer"],
    ["issuer", "init"],
    ["issuer", "root"],
    ["issuer", "issue"],
    ["issuer", "revoke"],
    ["issuer", "crl"],
    ["trust"],
    ["trust", "add"],
    ["trust", "list"],
    ["trust", "remove"],
    ["ledger", "reused"],
    ["ledger", "stats"],
    ["serial", "check"],
    ["shrink"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_is_indonesian_under_an_indonesian_locale_without_programmer_placeholders(command):
    indonesian = help_in({"LANG": "id_ID.UTF-8"}, *command).stdout
    english = help_in({"LANG": "C.UTF-8"}, *command).stdout
    assert indonesian != english
    for text in (indonesian, english):
        assert "<" not in text and "{" not in text, text
    assert "Pilihan:" in indonesian
    assert "materai" not in indonesian.lower()


def test_a_group_lists_its_commands_in_indonesian():
    text = help_in({"LANG": "id_ID.UTF-8"}, "wallet").stdout
    assert "Dompet meterai" in text and "Perintah:" in text
