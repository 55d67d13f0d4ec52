"""The main flows in every language, as people run them (a real process, a real locale):
Indonesian output with ``LANG=id_ID.UTF-8``; the same JSON and exit codes as in English; and,
in the pseudo-language ``qps`` (every translated string wrapped in ⟦ ⟧), no text that never
went through the catalog."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emeterai.issuer import Issuer
from tests.support import attacks, pdfmakers
from tests.support.common import PASSPHRASE, STAMP_PASSPHRASE

# Volatile values that differ between two runs of one flow, replaced before comparing JSON.
_VOLATILE = ("serial", "stamped_at", "used_at", "document_sha256", "bytes_added", "expires")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A trusted specimen issuer with stamp files for three homes (one per language), a
    letter, and a stamped letter changed after stamping."""
    base = tmp_path_factory.mktemp("i18n")
    issuer = Issuer.create(
        base / "issuer-home" / "issuer", PASSPHRASE, name="Penerbit Uji", specimen=True
    )
    root = base / "root.pem"
    root.write_bytes(issuer.root_pem())
    packs = {}
    for lang in ("en", "id", "qps"):
        folder = base / f"stamps-{lang}"
        folder.mkdir()
        for stamp in issuer.issue(3, PASSPHRASE, stamp_passphrase=STAMP_PASSPHRASE):
            (folder / f"{stamp.serial}.p12").write_bytes(stamp.p12)
        packs[lang] = folder
    return base, root, packs


def _env(home: Path, lang: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMETERAI_", "LC_", "LANG"))}
    env.update(
        EMETERAI_HOME=str(home),
        EMETERAI_PASSPHRASE=PASSPHRASE,
        EMETERAI_STAMP_PASSPHRASE=STAMP_PASSPHRASE,
    )
    if lang == "id":
        env["LANG"] = "id_ID.UTF-8"
    elif lang == "qps":
        env["EMETERAI_LANG"] = "qps"
    else:
        env["LANG"] = "C.UTF-8"
    return env


def _run(env: dict[str, str], *args: str | Path) -> tuple[int, list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    lines = proc.stdout.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    shown = [line for line in lines if not line.startswith("{")]  # what a person reads
    return proc.returncode, records, "\n".join([*proc.stderr.splitlines(), *shown])


def _flows(world, lang: str) -> list[tuple[str, int, list[dict], str]]:
    """(name, exit code, JSON records, stderr) of each step of the main flows."""
    base, root, packs = world
    home = base / f"home-{lang}"
    work = base / f"work-{lang}"
    work.mkdir()
    env = _env(home, lang)
    letter = pdfmakers.plain_pdf(work / "lamaran.pdf", placeholder_page=1)
    steps = []

    def step(name: str, *args: str | Path) -> None:
        steps.append((name, *_run(env, *args)))

    step("trust", "trust", "add", root)
    step("import", "wallet", "import", packs[lang])
    step("list", "wallet", "list", "--json")
    step("dry-run", "stamp", letter, "--dry-run", "--json")
    step("stamp", "stamp", letter, "--json")
    stamped = work / "lamaran.emeterai.pdf"
    step("stamp-again", "stamp", stamped, "-o", work / "lagi.pdf", "--json")
    step("missing", "stamp", work / "tidak-ada.pdf", "--json")
    changed = work / "diubah.pdf"
    if stamped.exists():
        changed.write_bytes(attacks.append_page_text(stamped.read_bytes()))
    step("verify", "verify", stamped, changed, "--json", "--jobs", "1")
    step("explain", "explain", "modified-after-stamp")
    step("bad-option", "stamp", letter, "--page", "0")
    step("list-human", "wallet", "list")
    step("report", "verify", stamped, "--report", work / "laporan.html", "--quiet")
    step("issuer-init", "issuer", "init", "--specimen", "--name", "Penerbit Contoh")
    step("issuer-issue", "issuer", "issue", "-n", "2", "--out", work / "baru")
    step("issuer-crl", "issuer", "crl", "-o", work / "daftar.crl")
    step("shrink", "shrink", letter, "-o", work / "kecil.pdf", "--json")
    return steps


def _stable(records: list[dict]) -> list[dict]:
    def clean(value):
        if isinstance(value, dict):
            return {k: ("*" if k in _VOLATILE else clean(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            value = re.sub(r"/[^ \"']*/(work|home|stamps)-(en|id|qps)", "<dir>", value)
            return re.sub(r"\b[0-9A-Z]{22}\b", "<serial>", value)
        return value

    return [clean(r) for r in records]


@pytest.fixture(scope="module")
def runs(world):
    return {lang: _flows(world, lang) for lang in ("en", "id", "qps")}


def test_json_and_exit_codes_are_the_same_in_every_language(runs):
    english = runs["en"]
    assert [code for _, code, _, _ in english] == [0, 0, 0, 0, 0, 1, 1, 1, 0, 2, 0, 0, 0, 0, 0, 0]
    for lang in ("id", "qps"):
        for (name, code, records, err), (_, code_en, records_en, _) in zip(
            runs[lang], english, strict=True
        ):
            assert code == code_en, (lang, name, err)
            assert _stable(records) == _stable(records_en), (lang, name)


def test_indonesian_output_reads_indonesian(runs):
    by_name = {name: err for name, _, _, err in runs["id"]}
    assert "SAH" in by_name["verify"] and "TIDAK SAH" in by_name["verify"]
    english_words = ("stamped ", "would stamp", "already stamped", "VALID", "INVALID", "error:")
    for name, err in by_name.items():
        for word in english_words:
            assert word not in err, (name, word, err)


_TRANSLATED = re.compile(r"⟦[^⟦⟧]*⟧")  # innermost first: translations nest
_DATA = re.compile(
    r"(?:/[^\s:;,()]+)+"  # paths
    r"|\b[0-9A-Z]{22}\b"  # serials
    r"|\b[0-9a-f]{64}\b"  # digests
    r"|[-+]?\d[\d.,:]*"  # numbers, sizes, times
    r"|\b[a-z]+(?:-[a-z]+)+\b"  # problem codes (modified-after-stamp)
    r"|--?[a-z][a-z-]*"  # options
)


def test_the_pseudo_language_shows_no_text_that_skipped_the_catalog(runs):
    """Every word a person reads in the main flows went through the catalog: with every
    translated string wrapped in ⟦ ⟧, what is left outside is data (paths, serials, numbers,
    codes, options) and punctuation."""
    leftovers = []
    for name, _, _, err in runs["qps"]:
        for line in err.splitlines():
            rest = line
            while _TRANSLATED.search(rest):
                rest = _TRANSLATED.sub(" ", rest)
            rest = _DATA.sub(" ", rest)
            words = [w for w in re.findall(r"[A-Za-z]{3,}", rest) if w not in ("emeterai", "pdf")]
            if words:
                leftovers.append(f"{name}: {line}")
    assert leftovers == []
