"""Real-world and hostile PDFs (docs/robustness.md): stamp what readers open, reject the rest clearly,
lose nothing.

- every PDF of ../shared/corpus/ and every file made by a real producer installed here
  (``producers.make_producer_files``) is stamped and verified: a file poppler's ``pdfinfo`` opens
  without a password must come out stamped, ``valid`` and clean for ``qpdf --check`` (exit 0), or
  be in ``robustness.EXPECTED_REJECTIONS`` with the substring of its documented reason; the input
  never changes, a refused file spends no stamp and leaves no file behind;
- hostile inputs (``producers.BAD_INPUTS``) go through the CLI in one batch with a good file, and
  each through ``python -m emeterai`` subprocesses with a time limit and a 2 GiB address-space
  limit.

One throwaway issuer and wallet serve the whole module (``producers.throwaway_wallet``); the
expectations and checks are ``tests/support/robustness.py``, shared with ``scripts/robustness.py``,
which writes docs/robustness.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from emeterai.cli import app
from emeterai.verify import Verifier
from tests.support import producers, robustness
from tests.support.common import PROJECT_ROOT, _missing, corpus_dir

CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
CORPUS_FILES = (
    [p.relative_to(CORPUS).as_posix() for p in robustness.corpus_files(CORPUS)]
    if CORPUS.is_dir()
    else []
)
STAMP_BATCH = 40  # stamps added to the module wallet whenever it runs dry


def _marks(key: str) -> list[pytest.MarkDecorator]:
    if key in robustness.KNOWN_DEFECTS:
        reason = robustness.REASONS[robustness.EXPECTED_REJECTIONS[key].reason]
        return [pytest.mark.xfail(strict=True, reason=f"{reason.title}: {reason.explanation}")]
    return []


# -- module fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> producers.Sandbox:
    """A specimen issuer and wallet of this module's own (not $EMETERAI_HOME)."""
    return producers.throwaway_wallet(tmp_path_factory.mktemp("robustness-sandbox"), STAMP_BATCH)


@pytest.fixture(scope="module")
def verifier(sandbox: producers.Sandbox) -> Verifier:
    return Verifier(sandbox.roots)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, producers.Produced]:
    made = producers.make_producer_files(tmp_path_factory.mktemp("producers"))
    return {p.name: p for p in made}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stamped")


@pytest.fixture(autouse=True)
def _quiet_pyhanko():
    """pyHanko logs whole tracebacks for the odd files; keep the test output readable."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _evaluate(path, key, source, sandbox, verifier, out_dir, password=None) -> robustness.Record:
    if sandbox.available() == 0:
        sandbox.top_up(STAMP_BATCH)
    return robustness.evaluate(path, key, source, sandbox, verifier, out_dir, password)


def _check(record: robustness.Record) -> None:
    """The issue's rules for one file, with the documented allow-list."""
    what = f"{record.key}: {record.status} {record.message or ''}"
    assert record.status != "error", f"crashed instead of a clean error: {what}"
    assert record.input_unchanged, f"the input was modified: {record.key}"
    assert not record.input_valid, f"the unstamped input verified valid: {record.key}"
    assert not record.temp_left, f"a temp file was left behind: {record.key}"
    assert not record.spent_on_failure, f"a refused file spent a stamp or left an output: {what}"
    expect = robustness.EXPECTED_REJECTIONS.get(record.key)
    if record.key in robustness.KNOWN_DEFECTS:
        expect = None  # should be stamped: the test fails (xfail) until the defect is fixed
    if record.status == "stamped":
        assert not (expect and expect.must_reject), (
            f"{record.key} must be refused ({expect.reason}) but was stamped"
        )
        assert record.valid, f"{record.key}: the stamped output does not verify: {record.problems}"
        assert record.qpdf == 0, (
            f"{record.key}: qpdf --check exit {record.qpdf}: {record.qpdf_line}"
        )
        assert not record.note, record.note  # the wallet spent exactly one stamp
        if not record.prefix:
            assert record.repair and "rewriting" in record.repair, (
                f"{record.key}: the input is not a prefix of the output and no rewrite was reported"
            )
        assert record.earlier_signatures in ("", "kept"), (
            f"{record.key}: a signature already in the file no longer validates: "
            f"{record.earlier_signatures}"
        )
        return
    assert record.status == "rejected"
    assert record.message_lines == 1, f"not one line: {record.message!r}"
    assert record.names_file, f"the message does not start with the file name: {record.message!r}"
    if expect is not None:
        assert expect.substring in record.message, (
            f"{record.key}: expected a '{expect.reason}' rejection ({expect.substring!r}), got "
            f"{record.message!r}"
        )
    else:
        assert record.pdfinfo != 0, (
            f"{record.key}: pdfinfo opens it, but it was refused without a documented reason: "
            f"{record.message!r}"
        )


# -- corpus and producers ---------------------------------------------------------------------


def test_corpus_is_present():
    """Skips locally (fails under CI) when ../shared/corpus is missing; then nothing below runs."""
    corpus_dir()
    assert CORPUS_FILES


@pytest.mark.parametrize(
    "rel", [pytest.param(r, id=r, marks=_marks(f"corpus:{r}")) for r in CORPUS_FILES]
)
def test_corpus_file_is_stamped_or_refused_for_a_documented_reason(rel, sandbox, verifier, out_dir):
    key = f"corpus:{rel}"
    record = _evaluate(CORPUS / rel, key, "corpus", sandbox, verifier, out_dir)
    _check(record)


def test_every_allow_listed_corpus_file_exists():
    corpus_dir()
    for key in robustness.EXPECTED_REJECTIONS:
        if key.startswith("corpus:"):
            assert (CORPUS / key.split(":", 1)[1]).is_file(), key
    for key in robustness.KNOWN_PASSWORDS:
        assert key in robustness.EXPECTED_REJECTIONS, key


def test_producers_make_the_documented_files(generated):
    assert tuple(generated) == producers.PRODUCER_FILE_NAMES
    for name in ("reportlab-letter.pdf", "reportlab-45-pages.pdf", "already-signed.pdf"):
        assert generated[name].path is not None


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=_marks(f"generated:{n}")) for n in producers.PRODUCER_FILE_NAMES],
)
def test_producer_file_is_stamped(name, generated, sandbox, verifier, out_dir):
    made = generated[name]
    if made.path is None:
        _missing(f"{made.producer}: {made.note}")
    assert producers.pdfinfo_rc(made.path) in (0, None), f"poppler cannot open {name}"
    record = _evaluate(made.path, f"generated:{name}", made.producer, sandbox, verifier, out_dir)
    _check(record)
    assert record.status == "stamped", f"{name}: {record.message}"
    assert record.prefix, f"{name}: the input is not a prefix of the output ({record.repair})"
    if made.extra.get("signed"):
        assert record.earlier_signatures == "kept"


@pytest.mark.parametrize(
    "key", sorted(robustness.KNOWN_PASSWORDS), ids=lambda k: k.rsplit("/", 1)[-1]
)
def test_encrypted_corpus_file_is_stamped_with_its_password(key, sandbox, verifier, out_dir):
    corpus_dir()
    password = robustness.KNOWN_PASSWORDS[key]
    path = CORPUS / key.split(":", 1)[1]
    record = _evaluate(path, key, "corpus", sandbox, verifier, out_dir, password=password)
    assert record.status == "stamped", record.message
    assert record.valid, record.problems
    assert record.qpdf == 0, record.qpdf_line
    assert record.prefix
    assert record.input_unchanged and not record.temp_left


# -- hostile inputs ---------------------------------------------------------------------------

GOOD = "surat-baik.pdf"


def _bad(known: bool) -> list[producers.BadInput]:
    return [b for b in producers.BAD_INPUTS if (b.known_bug is not None) == known]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_inputs_in_one_cli_batch_fail_one_line_each_and_spend_only_the_good_stamp(
    runner, home, wallet_with_stamps, tmp_path
):
    """Every refused input named on one stderr line; the good file in the middle still stamped.

    The known defects (``BadInput.known_bug``) are left out: one of them exhausts memory
    in-process; ``test_bad_input_stamp_subprocess`` covers them (xfail) under a memory limit.
    """
    wallet_with_stamps(3)
    bad = producers.bad_input_files(tmp_path / "in", only=lambda b: b.known_bug is None)
    good = tmp_path / "in" / GOOD
    good.write_bytes(producers.letter_pdf(1))
    files = [*bad[: len(bad) // 2], good, *bad[len(bad) // 2 :]]
    before = {p: _sha(p) for p in files}
    out = tmp_path / "out"

    result = runner.invoke(app, ["stamp", *map(str, files), "--out-dir", str(out)])

    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("emeterai: error: ")]
    assert len(errors) == len(bad), result.stderr
    for path in bad:
        assert sum(str(path) in ln for ln in errors) == 1, (path, errors)
    assert sorted(p.name for p in out.iterdir()) == ["surat-baik.emeterai.pdf"]
    assert f"{len(files) - len(bad)} stamped, {len(bad)} failed" in result.stderr
    assert all(_sha(p) == h for p, h in before.items())

    listing = runner.invoke(app, ["wallet", "list", "--json"])
    assert listing.exit_code == 0, listing.stderr
    entries = [json.loads(line) for line in listing.stdout.splitlines()]
    used = [e for e in entries if e["state"] == "used"]
    assert len(used) == 1 and len(entries) == 3
    assert used[0]["file"] == str(good)
    assert used[0]["output"] == str((out / "surat-baik.emeterai.pdf").absolute())


@pytest.mark.parametrize("bad", producers.BAD_INPUTS, ids=lambda b: b.name)
def test_bad_input_verify_json_is_unreadable_or_no_stamp(bad, runner, issuer, tmp_path):
    path = tmp_path / bad.name
    path.write_bytes(bad.make())
    result = runner.invoke(app, ["verify", "--json", "--jobs", "1", str(path)])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    verdict = json.loads(lines[0])
    assert verdict["file"] == str(path)
    assert verdict["valid"] is False
    codes = {p["code"] for p in verdict["problems"]}
    assert codes and codes <= {"unreadable", "no-stamp"}, verdict["problems"]


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """EMETERAI_HOME with a trusted issuer and stamps, for ``python -m emeterai`` subprocesses."""
    return robustness.cli_home(tmp_path_factory.mktemp("cli-home"), len(producers.BAD_INPUTS) + 2)


MAX_RSS_MB = 1024


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            b,
            id=b.name,
            marks=[pytest.mark.xfail(strict=True, reason=b.known_bug)] if b.known_bug else [],
        )
        for b in producers.BAD_INPUTS
    ],
)
def test_bad_input_stamp_subprocess_fails_fast_with_bounded_memory(bad, cli_env, tmp_path):
    env, _root = cli_env
    path = tmp_path / bad.name
    path.write_bytes(bad.make())
    before = _sha(path)
    out = tmp_path / "out"

    run = robustness.run_emeterai(["stamp", str(path), "--out-dir", str(out)], env)

    assert run.returncode is not None, f"still running after {robustness.TIME_LIMIT:g} s"
    assert run.seconds < robustness.TIME_LIMIT
    assert run.max_rss_mb < MAX_RSS_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    assert "Traceback" not in run.stderr + run.stdout
    assert run.returncode == 1, run.stderr
    errors = robustness.error_lines(run.stderr)
    assert len(errors) == 1 and str(path) in errors[0], run.stderr
    assert not out.exists() or not any(out.iterdir()), "an output (or temp file) was left"
    assert _sha(path) == before


def test_bad_inputs_verify_subprocess_is_bounded(cli_env, tmp_path):
    """All hostile inputs verified in one ``python -m emeterai verify --json`` under the limits."""
    env, root = cli_env
    paths = producers.bad_input_files(tmp_path)
    run = robustness.run_emeterai(
        ["verify", "--json", "--jobs", "1", "--trust", str(root), *map(str, paths)],
        env,
        timeout=robustness.TIME_LIMIT + len(paths),
    )
    assert run.returncode == 1, run.stderr
    assert run.max_rss_mb < MAX_RSS_MB
    assert "Traceback" not in run.stderr
    verdicts = [json.loads(line) for line in run.stdout.splitlines()]
    assert [v["file"] for v in verdicts] == [str(p) for p in paths]
    for v in verdicts:
        assert v["valid"] is False
        assert {p["code"] for p in v["problems"]} <= {"unreadable", "no-stamp"}, v


# -- repairs of documents that are already signed ---------------------------------------------


def test_a_signed_document_with_damaged_xref_is_refused_not_broken(sandbox, verifier, tmp_path):
    """A sloppy producer's xref (one entry a byte off), signed by a lenient signer. pyHanko's
    difference analysis reads the signed revision through its own (sloppy) xref, so no repair
    can keep that signature validating once a stamp follows: refuse, spend nothing."""
    path = tmp_path / "signed-sloppy-xref.pdf"
    path.write_bytes(
        producers.signed_pdf(producers.sloppy_xref(producers.letter_pdf(1)), strict=False)
    )
    assert producers.pdfinfo_rc(path) in (0, None)
    assert robustness.foreign_signatures(path.read_bytes()) == {"TandaTanganPemohon": "ok"}
    record = _evaluate(
        path, "generated:signed-sloppy-xref.pdf", "test", sandbox, verifier, tmp_path
    )
    assert record.status == "rejected", (record.status, record.repair)
    assert record.message_lines == 1 and record.names_file, record.message
    assert "signed and damaged" in record.message, record.message
    assert "break the signature" in record.message, record.message
    assert not record.spent_on_failure and record.input_unchanged and not record.temp_left


def test_a_signed_document_is_not_rewritten(sandbox, verifier, tmp_path):
    corpus_dir()
    base = (CORPUS / "pyhanko-test-pdfs" / "minimal-with-orphaned-xrefs.pdf").read_bytes()
    path = tmp_path / "signed-orphaned-xrefs.pdf"
    path.write_bytes(producers.signed_pdf(base, visible=False, strict=False))
    assert producers.pdfinfo_rc(path) in (0, None)
    assert robustness.foreign_signatures(path.read_bytes()) == {"TandaTanganPemohon": "ok"}
    record = _evaluate(
        path, "generated:signed-orphaned-xrefs.pdf", "test", sandbox, verifier, tmp_path
    )
    assert not record.spent_on_failure and record.input_unchanged and not record.temp_left
    assert record.status == "rejected", (record.status, record.repair)
    assert record.message_lines == 1 and record.names_file, record.message
    assert "signed and damaged" in record.message, record.message


# -- owner-password-only protection -----------------------------------------------------------


def _owner_protected(tmp_path: Path, name: str, *restrictions: str) -> Path:
    """A letter that qpdf protects with an owner password only (the user password is empty)."""
    import subprocess

    from tests.support.common import require_tool

    plain = tmp_path / "plain.pdf"
    plain.write_bytes(producers.letter_pdf(1))
    path = tmp_path / name
    subprocess.run(
        [require_tool("qpdf"), "--encrypt", "", "pemilik", "256", *restrictions, "--"]
        + [str(plain), str(path)],
        check=True,
    )
    return path


def _encryption(path: Path, password: str | None = None) -> str:
    import subprocess

    from tests.support.common import require_tool

    args = [require_tool("qpdf"), "--show-encryption", str(path)]
    if password:
        args.insert(1, f"--password={password}")
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


def test_an_owner_password_only_file_is_stamped_with_its_protection_kept(
    sandbox, verifier, tmp_path
):
    path = _owner_protected(tmp_path, "dilindungi.pdf")
    record = _evaluate(path, "generated:dilindungi.pdf", "test", sandbox, verifier, tmp_path)
    assert record.status == "stamped", record.message
    assert record.valid, record.problems
    assert record.qpdf == 0 and record.prefix
    (out,) = tmp_path.glob("dilindungi.*.emeterai.pdf")
    protection = _encryption(out)
    assert "R = 6" in protection and "P = " in protection, protection  # still AES-256 protected


@pytest.mark.parametrize(
    "modify",
    ["none", "form", "annotate"],  # 'form': fill existing fields only; 'annotate': no bit 4
)
def test_an_owner_password_file_that_forbids_new_fields_needs_the_owner_password(
    sandbox, verifier, tmp_path, modify
):
    path = _owner_protected(tmp_path, "terkunci.pdf", f"--modify={modify}")
    refused = _evaluate(path, "generated:terkunci.pdf", "test", sandbox, verifier, tmp_path)
    assert refused.status == "rejected"
    assert refused.message_lines == 1 and refused.names_file
    assert "give the owner password with --password" in refused.message, refused.message
    assert not refused.spent_on_failure and refused.input_unchanged

    stamped = _evaluate(
        path, "generated:terkunci.pdf", "test", sandbox, verifier, tmp_path, password="pemilik"
    )
    assert stamped.status == "stamped", stamped.message
    assert stamped.valid and stamped.qpdf == 0 and stamped.prefix
    (out,) = tmp_path.glob("terkunci.*.pw.emeterai.pdf")
    assert "R = 6" in _encryption(out, "pemilik")


# -- names with bytes below 0x10 (pyHanko writes them as '#4') ---------------------------------


def _odd_name_pdf(tmp_path: Path, encrypt: bool) -> Path:
    """One page whose dictionary holds the legal name /X#04y (ISO 32000 7.3.5)."""
    path = tmp_path / ("nama-aneh-terenkripsi.pdf" if encrypt else "nama-aneh.pdf")
    plain = producers.one_page_pdf(extra=b" /X#04y true")
    if not encrypt:
        path.write_bytes(plain)
        return path
    import subprocess

    from tests.support.common import require_tool

    source = tmp_path / "nama-aneh-polos.pdf"
    source.write_bytes(plain)
    subprocess.run(
        [require_tool("qpdf"), "--encrypt", "", "pemilik", "256", "--", str(source), str(path)],
        check=True,
    )
    return path


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "owner-password"])
def test_a_name_with_a_low_byte_survives_the_stamp(sandbox, verifier, tmp_path, encrypt):
    path = _odd_name_pdf(tmp_path, encrypt)
    record = _evaluate(path, f"generated:{path.name}", "test", sandbox, verifier, tmp_path)
    assert record.status == "stamped", record.message
    assert record.valid, record.problems
    assert record.qpdf == 0, record.qpdf_line
    assert record.prefix


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "owner-password"])
def test_the_post_sign_check_refuses_an_unreadable_update_and_spends_nothing(
    sandbox, verifier, tmp_path, monkeypatch, encrypt
):
    """The backstop behind the name fix: with pyHanko's own (buggy) name writer restored, the
    stamp's revision holds '/X#4y', and the stamp is refused before anything is written."""
    from pyhanko.pdf_utils import generic

    def one_digit_escapes(self, stream, handler=None, container_ref=None):
        stream.write(
            b"/"
            + b"".join(
                b"#%X" % c if not 0x21 <= c <= 0x7E or c == 0x23 else bytes((c,))
                for c in self.encode("utf8")[1:]
            )
        )

    from emeterai import _pyhanko

    monkeypatch.setattr(generic.NameObject, "write_to_stream", one_digit_escapes)
    monkeypatch.setattr(
        _pyhanko, "write_name_to_stream", one_digit_escapes
    )  # what patched() puts in
    path = _odd_name_pdf(tmp_path, encrypt)
    record = _evaluate(path, f"generated:{path.name}", "test", sandbox, verifier, tmp_path)
    assert record.status == "rejected", (record.status, record.problems)
    assert record.message_lines == 1 and record.names_file
    assert "the stamped file would not be readable" in record.message, record.message
    assert not record.spent_on_failure and not record.temp_left and record.input_unchanged


def test_a_broken_xref_with_object_streams_is_repaired_by_appending(sandbox, verifier, tmp_path):
    """qpdf's object streams, startxref a few bytes off: the rebuilt section must name each
    compressed object by its index in its stream (not a byte offset), so the prefix is kept."""
    import re
    import subprocess

    from tests.support.common import require_tool

    plain = tmp_path / "polos.pdf"
    plain.write_bytes(producers.letter_pdf(3))
    packed = tmp_path / "objstm.pdf"
    subprocess.run(
        [require_tool("qpdf"), "--object-streams=generate", str(plain), str(packed)], check=True
    )
    data = packed.read_bytes()
    last = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    shifted = data[: last.start(1)] + b"%d" % (int(last.group(1)) + 7) + data[last.end(1) :]
    path = tmp_path / "objstm-startxref-geser.pdf"
    path.write_bytes(shifted)
    record = _evaluate(path, f"generated:{path.name}", "test", sandbox, verifier, tmp_path)
    assert record.status == "stamped", record.message
    assert record.repair and "appending" in record.repair, record.repair
    assert record.prefix and record.valid and record.qpdf == 0, (record.problems, record.qpdf_line)
