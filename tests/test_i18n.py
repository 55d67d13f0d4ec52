"""``emeterai.i18n`` and the catalogs: the language chosen as the issue orders it, amounts and
times as people read them, and an Indonesian catalog that covers every marked string."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys

import pytest

from emeterai import i18n
from tests.support.common import PROJECT_ROOT


@pytest.fixture
def speaking():
    """Restores the language after a test that changes it."""
    before = i18n.language()
    yield i18n.set_language
    i18n.set_language(before)


@pytest.mark.parametrize(
    ("explicit", "env", "chosen"),
    [
        (None, {"LANG": "id_ID.UTF-8"}, "id"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {}, "en"),
        (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "id_ID.UTF-8"}, "id"),
        (None, {"LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "id_ID.UTF-8"}, "en"),
        (None, {"EMETERAI_LANG": "en", "LC_ALL": "id_ID.UTF-8"}, "en"),
        ("id", {"EMETERAI_LANG": "en"}, "id"),
        (None, {"LANG": "in_ID"}, "id"),  # the old ISO code
        (None, {"LC_ALL": "", "LANG": "id_ID"}, "id"),  # set but empty: not set
    ],
)
def test_the_language_comes_from_lang_then_emeterai_lang_then_the_locale(explicit, env, chosen):
    assert i18n.choose(explicit, env) == chosen


def test_amounts_and_times_as_people_read_them(speaking):
    wib = dt.timezone(dt.timedelta(hours=7))
    wita = dt.timezone(dt.timedelta(hours=8))
    at = dt.datetime(2026, 12, 2, 7, 5, tzinfo=dt.UTC)
    speaking("id")
    assert i18n.rupiah(10000) == "Rp10.000" and i18n.rupiah(1500000) == "Rp1.500.000"
    assert i18n.moment(at, wib) == "2 Des 2026 14.05 WIB"
    assert i18n.moment(at.isoformat(), wita) == "2 Des 2026 15.05 WITA"
    assert i18n.day(dt.date(2027, 8, 17)) == "17 Agu 2027"
    speaking("en")
    assert i18n.rupiah(10000) == "Rp10,000"
    assert i18n.moment(at, wib) == "2 Dec 2026 14:05 WIB"
    assert i18n.day(dt.date(2027, 8, 17)) == "2027-08-17"
    assert i18n.moment(at, dt.timezone(dt.timedelta(hours=-3, minutes=-30))).endswith("UTC-03:30")


def _i18n_script():
    spec = importlib.util.spec_from_file_location(
        "i18n_script", PROJECT_ROOT / "scripts" / "i18n.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_marked_string_has_an_indonesian_translation_and_none_is_stale():
    """Extracts the package's strings with Babel and compares them with the catalog; also
    fails when the committed .mo is not exactly what the .po compiles to."""
    assert _i18n_script().problems("id") == []


def test_help_speaks_indonesian_with_an_indonesian_locale(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "EMETERAI_LANG"}
    env.update(LANG="id_ID.UTF-8", EMETERAI_HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-m", "emeterai", "--help"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0
    assert "Bubuhkan meterai elektronik" in out.stdout and "Perintah" in out.stdout
    # the two words Typer's click writes without a lookup, translated where they are written
    # (emeterai/cli/_framework.py patches private Typer names: this fails when they move)
    assert out.stdout.startswith("Penggunaan: ")
    assert "Tampilkan bantuan ini lalu keluar." in out.stdout
    english = subprocess.run(
        [sys.executable, "-m", "emeterai", "--lang", "en", "--help"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "Put e-meterai stamps on PDFs" in english.stdout and "Commands" in english.stdout


# Typer's parse errors, each as its vendored click writes it in English and in Indonesian:
# every line of the Indonesian one must be the Indonesian words (the patches in
# emeterai/cli/_framework.py: this fails when the private names or their English move).
_PARSE_ERRORS = [
    (
        ["stamp", "--x"],
        "Error: No such option: --x",
        "Kesalahan: Tidak ada pilihan --x",
    ),
    (
        ["stamp", "--jo", "2", "a.pdf"],
        "Error: No such option: --jo (Possible options: --jobs, --json)",
        "Kesalahan: Tidak ada pilihan --jo (mungkin maksud Anda: --jobs, --json)",
    ),
    (
        ["stamp"],
        "Error: Missing argument 'FILE.pdf...'.",
        "Kesalahan: Argumen 'FILE.pdf...' belum diberikan.",
    ),
    (
        ["stamp", "--jobs", "0", "a.pdf"],
        "Error: Invalid value for '--jobs': Input should be greater than or equal to 1",
        "Kesalahan: Nilai '--jobs' tidak benar: harus 1 atau lebih",
    ),
    (
        ["stamp", "--size", "x", "a.pdf"],
        "Error: Invalid value for '--size': Input should be a valid number, unable to parse "
        "string as a number",
        "Kesalahan: Nilai '--size' tidak benar: harus berupa angka",
    ),
    (
        ["serial", "check", "X", "Y"],
        "Error: Got unexpected extra argument(s) (Y)",
        "Kesalahan: Ada argumen yang tidak diharapkan (Y)",
    ),
    (
        ["verify", "--report"],
        "Error: Option '--report' requires an argument.",
        "Kesalahan: Pilihan '--report' perlu diberi nilai.",
    ),
    (
        ["stamp", "--dry-run=3", "a.pdf"],
        "Error: Option '--dry-run' does not take a value.",
        "Kesalahan: Pilihan '--dry-run' tidak memakai nilai.",
    ),
    (
        ["shrink", "{home}", "-o", "x.pdf"],
        "Error: Invalid value for 'FILE.pdf': file '{home}' is a directory.",
        "Kesalahan: Nilai 'FILE.pdf' tidak benar: '{home}' adalah folder, bukan berkas.",
    ),
    (
        ["stmp"],
        "Error: No such command 'stmp'. Did you mean 'stamp'?",
        "Kesalahan: Tidak ada perintah 'stmp'. Mungkin maksud Anda 'stamp'?",
    ),
]


def _cli(tmp_path, lang: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EMETERAI_LANG", "LC_ALL")}
    env.update(LANG=lang, EMETERAI_HOME=str(tmp_path), COLUMNS="100")
    return subprocess.run(
        [sys.executable, "-m", "emeterai", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize(("args", "english", "indonesian"), _PARSE_ERRORS)
def test_typers_parse_errors_speak_indonesian_and_stay_english_in_english(
    tmp_path, args, english, indonesian
):
    args = [a.format(home=tmp_path) for a in args]
    en = _cli(tmp_path, "en_US.UTF-8", *args)
    id_ = _cli(tmp_path, "id_ID.UTF-8", *args)
    assert en.returncode == id_.returncode == 2
    assert en.stderr.splitlines()[-1] == english.format(home=tmp_path)
    assert id_.stderr.splitlines()[-1] == indonesian.format(home=tmp_path)
    if len(en.stderr.splitlines()) > 1:  # with its usage line and help hint
        usage, hint = id_.stderr.splitlines()[:2]
        assert usage.startswith("Penggunaan: ") and "[PILIHAN]" in usage
        assert "[OPTIONS]" in en.stderr.splitlines()[0]
        assert hint.startswith("Lihat bantuan dengan '") and hint.endswith(" --help'.")
        assert en.stderr.splitlines()[1].startswith("Try '")


def test_usage_placeholders_and_range_hints_speak_indonesian(tmp_path):
    id_ = _cli(tmp_path, "id_ID.UTF-8", "--help").stdout
    assert id_.startswith("Penggunaan: ") and "[PILIHAN] PERINTAH [ARGUMEN]..." in id_
    stamp = " ".join(_cli(tmp_path, "id_ID.UTF-8", "stamp", "--help").stdout.split())
    assert "[bawaan: 1; paling kecil 1]" in stamp and "x>=" not in stamp
    english = " ".join(_cli(tmp_path, "en_US.UTF-8", "stamp", "--help").stdout.split())
    assert "[default: 1; x>=1]" in english and "[OPTIONS] FILE.pdf..." in english


def test_an_unknown_language_is_a_usage_error(runner):
    from emeterai.cli import app

    result = runner.invoke(app, ["--lang", "fr", "serial", "check", "X"])
    assert result.exit_code == 2
    assert "--lang 'fr': use id or en" in result.stderr


def test_one_context_speaks_its_own_language_over_the_process_wide_one():
    """A web request in Indonesian must not turn another one, or the process, Indonesian:
    ``speaking`` holds for its context and for threads run with a copy of it."""
    import concurrent.futures
    import contextvars

    i18n.set_language("en")
    with i18n.speaking("id"):
        assert i18n.language() == "id"
        assert i18n.rupiah(10000) == "Rp10.000"
        assert i18n._("stamping") != "stamping"
        ctx = contextvars.copy_context()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_thread = pool.submit(ctx.run, i18n.language).result()
            bare_thread = pool.submit(i18n.language).result()
        assert (in_thread, bare_thread) == ("id", "en")
    assert i18n.language() == "en"
    assert i18n.rupiah(10000) == "Rp10,000"
    assert i18n._("stamping") == "stamping"
