"""The robustness expectations and checks (docs/robustness.md), shared by ``tests/test_robustness.py`` and
``scripts/robustness.py`` (which writes docs/robustness.md).

Inputs: every PDF under ../shared/corpus/ (relative to the project root) and the files that
``tests/support/producers.py`` makes with the producers installed here (Ghostscript, qpdf, MuPDF,
reportlab, Pillow, pypdf, pyHanko; LibreOffice and Chromium when installed). :func:`evaluate`
stamps one file with ``emeterai.stamp.stamp_file`` (a throwaway issuer and wallet) and checks the
output with ``emeterai.verify.Verifier`` and ``qpdf --check``. Hostile inputs
(``producers.BAD_INPUTS``) go through ``python -m emeterai stamp`` in a subprocess with a time and
memory limit (:func:`run_emeterai`, :func:`run_bad_inputs`); :func:`render` writes the report.

:data:`EXPECTED_REJECTIONS` lists every file emeterai refuses, with the class of its documented
reason (:data:`REASONS`) and a substring of the one-line message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emeterai.cli._common import describe
from tests.support import fuzz, producers

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT.parent / "shared" / "corpus"

# -- documented reasons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    title: str
    explanation: str
    by_design: bool = True  # False: a defect of emeterai, reported as a bug


REASONS: dict[str, Reason] = {
    "password": Reason(
        "encrypted with a password that was not given",
        "The file is encrypted with the standard security handler and a non-empty user password. "
        "The stamp is an incremental update that must be written under the document's own "
        "encryption, so emeterai needs the password (`--password`); without it the message says "
        "so. poppler needs the password too, except for `embedded-encrypted-nocf.pdf`, where only "
        "the attachments are encrypted (`/EFF`), so poppler shows the page while the file key "
        "still comes from the password.",
    ),
    "pubkey": Reason(
        "public-key (certificate) encryption",
        "The document key is wrapped for a recipient's certificate (`/Filter /Adobe.PubSec`); only "
        "the holder of that private key can open or update the file. poppler cannot open these "
        "either. (The message comes from pypdf: 'only Standard PDF encryption handler is "
        "available'.)",
    ),
    "bad-encryption": Reason(
        "malformed encryption dictionary",
        "`/Encrypt` is not an indirect dictionary, or its `/O`, `/OE` or `/Perms` entries have the "
        "wrong type. qpdf refuses these files; poppler ignores the broken encryption. A repair "
        "would silently drop the document's protection, so emeterai asks for the file to be "
        "re-saved by its producer.",
    ),
    "too-small": Reason(
        "page smaller than the stamp",
        "The stamp is a 25 mm square (`--size`, 10-40 mm) and must lie inside the visible page; "
        "ImageMagick's icon-sized pages are 3.84 pt (1.4 mm) wide.",
    ),
    "damaged": Reason(
        "damaged beyond repair",
        "Neither the appended cross-reference rebuild nor a full rewrite yields a readable page "
        "tree: broken object streams (poppler fails on these too), or a file cut short before its "
        "page tree (`unreadablemetadata.pdf`: poppler 'opens' it but reports 0 x 0 pt pages and "
        "'Top-level pages object is wrong type (null)', MuPDF cannot draw it).",
    ),
    "cyclic": Reason(
        "cyclic structure",
        "The page tree or the form-field tree contains itself. Readers cut such loops "
        "differently (poppler counts 3 pages in `circular-page-tree.pdf`); which pages a stamp "
        "would be bound to is ambiguous, so emeterai refuses.",
    ),
    "docmdp": Reason(
        "certified with DocMDP P=1 (no changes allowed)",
        "The author certified the document and allowed no change at all; any signature, the "
        "stamp included, would break that certification. The user needs an uncertified copy.",
    ),
}


@dataclass(frozen=True)
class Expect:
    reason: str  # key of REASONS
    substring: str  # in the one-line message
    must_reject: bool = True  # False: a future repair that stamps it (valid) is welcome too


def _e(reason: str, substring: str, must_reject: bool = True) -> Expect:
    return Expect(reason, substring, must_reject)


_PW = _e("password", "is encrypted and it needs a password")
_PUBKEY = _e("pubkey", "only Standard PDF encryption handler is available")
_BADENC = _e("bad-encryption", "the PDF is encrypted and damaged")
_SMALL = _e("too-small", "does not fit on the page")

# Keys: "corpus:<path below the corpus folder>" or "generated:<file name>".
EXPECTED_REJECTIONS: dict[str, Expect] = {
    "corpus:py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf": _PW,
    "corpus:py-pdf-sample-files/007-imagemagick-images/imagemagick-ASCII85Decode.pdf": _SMALL,
    "corpus:py-pdf-sample-files/007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf": _SMALL,
    "corpus:py-pdf-sample-files/007-imagemagick-images/imagemagick-images.pdf": _SMALL,
    "corpus:py-pdf-sample-files/007-imagemagick-images/imagemagick-lzw.pdf": _SMALL,
    "corpus:py-pdf-sample-files/017-unreadable-meta-data/unreadablemetadata.pdf": _e(
        "damaged", "Invalid object in /Pages", must_reject=False
    ),
    "corpus:pyhanko-test-pdfs/broken-objstream1.pdf": _e(
        "damaged", "Invalid object in /Pages", False
    ),
    "corpus:pyhanko-test-pdfs/broken-objstream2.pdf": _e("damaged", "object stream", False),
    "corpus:pyhanko-test-pdfs/broken-objstream3.pdf": _e("damaged", "object stream", False),
    "corpus:pyhanko-test-pdfs/broken-objstream4.pdf": _e("damaged", "object stream", False),
    "corpus:pyhanko-test-pdfs/broken-objstream6.pdf": _e(
        "damaged", "Invalid object in /Pages", False
    ),
    "corpus:pyhanko-test-pdfs/certified-with-indirect-refs-in-dir.pdf": _e(
        "docmdp", "certified by its author with no changes allowed"
    ),
    "corpus:pyhanko-test-pdfs/circular-page-tree.pdf": _e("cyclic", "cyclic", False),
    "corpus:pyhanko-test-pdfs/form-tree-circular-ref-input.pdf": _e(
        "cyclic", "reaches one field twice", False
    ),
    "corpus:pyhanko-test-pdfs/embedded-encrypted-nocf.pdf": _PW,
    "corpus:pyhanko-test-pdfs/malformed-encrypt-dict1.pdf": _BADENC,
    "corpus:pyhanko-test-pdfs/malformed-encrypt-dict2.pdf": _BADENC,
    "corpus:pyhanko-test-pdfs/minimal-aes256-malformed-oe.pdf": _BADENC,
    "corpus:pyhanko-test-pdfs/minimal-aes256-malformed-perms.pdf": _BADENC,
    "corpus:pyhanko-test-pdfs/minimal-aes256-empty-encrypted-string.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-aes256.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-rc4.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-two-fields-aes256.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-with-field-aes256.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-with-field-rc4.pdf": _PW,
    "corpus:pyhanko-test-pdfs/minimal-pubkey-aes256.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-pubkey-rc4-envelope.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-pubkey-rc4.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-pubkey-unknown-envelope-alg.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-two-fields-pubkey-aes256.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-two-fields-pubkey-rc4.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-with-field-pubkey-aes256.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/minimal-with-field-pubkey-rc4.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/pubkey-3des-test.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/pubkey-ecc-test.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/pubkey-rc2-test.pdf": _PUBKEY,
    "corpus:pyhanko-test-pdfs/signed-encrypted-pubkey-with-catalog-ref.pdf": _PUBKEY,
}

# Decisions the tables do not show (each has its test in tests/test_robustness.py).
DECISIONS = (
    "a signed document whose cross-reference data needs repair is refused, with a one-line "
    "message, and no stamp is spent: pyHanko's difference analysis reads each signed revision "
    "through that revision's own cross-reference data, so after any later revision an entry "
    "that points a byte past its object makes the earlier signature fail, whether the repair is "
    "an appended section (with or without /Prev) or a rewrite, which moves every byte "
    "(`test_a_signed_document_with_damaged_xref_is_refused_not_broken`, "
    "`test_a_signed_document_is_not_rewritten`)",
    "after signing, every object of the stamp's own revision is parsed again by a strict reader "
    "before anything is written: pyHanko writes a name byte below 0x10 as `#4` rather than "
    "`#04`, which no strict reader parses, so a page holding such a name (found by fuzzing a "
    "rewritten file) is refused instead of spending a stamp on an output that cannot be verified",
    "a file protected by an owner password only (empty user password) is stamped without "
    "`--password`, its update written under the document's own encryption, so the protection is "
    "kept; unless its permissions allow creating form fields (ISO 32000 table 22: bits 4 and 6; "
    "bit 9 alone only fills in existing ones, and a stamp is a new signature field), the stamp "
    "needs the owner password (`--password`), and the message says so "
    "(`test_an_owner_password_only_file_is_stamped_with_its_protection_kept`, "
    "`test_an_owner_password_file_that_forbids_new_fields_needs_the_owner_password`)",
)

# Files that should be stamped but are not, because of a defect in emeterai (xfail in the tests).
KNOWN_DEFECTS = {k for k, e in EXPECTED_REJECTIONS.items() if not REASONS[e.reason].by_design}

# Passwords of encrypted corpus files (from the corpora's READMEs and test suites).
KNOWN_PASSWORDS: dict[str, str] = {
    "corpus:py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf": "openpassword",
    "corpus:pyhanko-test-pdfs/minimal-aes256.pdf": "usersecret",
    "corpus:pyhanko-test-pdfs/minimal-rc4.pdf": "usersecret",
    "corpus:pyhanko-test-pdfs/minimal-two-fields-aes256.pdf": "usersecret",
    "corpus:pyhanko-test-pdfs/minimal-with-field-aes256.pdf": "usersecret",
    "corpus:pyhanko-test-pdfs/minimal-with-field-rc4.pdf": "usersecret",
}


def classify(message: str) -> str | None:
    """The documented reason class a rejection message belongs to (None: undocumented)."""
    for key, expect in (
        ("password", "is encrypted and it needs a password"),
        ("pubkey", "only Standard PDF encryption handler"),
        ("bad-encryption", "is encrypted and damaged"),
        ("too-small", "does not fit on the page"),
        ("docmdp", "certified by its author"),
        ("cyclic", "cyclic"),
        ("cyclic", "Circular reference"),
        ("damaged", "could not be repaired"),
        ("damaged", "cannot read the PDF"),
    ):
        if expect in message:
            return key
    return None


# -- one file -------------------------------------------------------------------------------------


@dataclass
class Record:
    key: str
    name: str
    source: str
    pdfinfo: int | None = None
    status: str = ""  # stamped | rejected | error | not-installed
    valid: bool | None = None
    problems: list[str] = field(default_factory=list)
    qpdf: int | None = None
    qpdf_line: str = ""
    prefix: bool | None = None
    repair: str | None = None
    message: str = ""  # one-line rejection (or error) message, without the leading file name
    message_lines: int = 0
    names_file: bool = True
    reason: str | None = None  # class in REASONS
    input_unchanged: bool = True
    input_verdict: str = ""  # problem codes from verifying the unstamped input
    input_valid: bool = False
    earlier_signatures: str = ""  # "" (none), "kept" or what broke
    spent_on_failure: bool = False
    temp_left: bool = False
    password: str | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def ok(self) -> bool:
        """Stamped + valid + qpdf 0, or rejected cleanly; and nothing lost either way."""
        clean = (
            self.input_unchanged
            and not self.input_valid
            and not self.spent_on_failure
            and not self.temp_left
        )
        if self.status == "stamped":
            kept = self.earlier_signatures in ("", "kept")
            return clean and bool(self.valid) and self.qpdf == 0 and kept
        if self.status == "rejected":
            return clean and self.message_lines == 1 and self.names_file
        return self.status == "not-installed"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_signatures(data: bytes) -> dict[str, str]:
    """Every signature that is not an e-meterai stamp -> "ok" when pyHanko finds it intact,
    cryptographically valid and (if later revisions exist) its difference analysis accepts them;
    otherwise what is wrong. Trust is not checked (the signers' roots are unknown here)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    out: dict[str, str] = {}
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            return out
        signatures = list(reader.embedded_signatures)
    except Exception as exc:
        return {"<document>": f"unreadable: {exc}"}
    for emb in signatures:
        name = str(emb.field_name)
        if name.startswith("eMeterai"):
            continue
        try:
            status = validate_pdf_signature(
                emb,
                signer_validation_context=ValidationContext(trust_roots=[], allow_fetching=False),
            )
        except Exception as exc:
            out[name] = f"cannot validate ({type(exc).__name__})"
            continue
        if not (status.intact and status.valid):
            out[name] = "not intact/valid"
        elif status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
            out[name] = "ok"
        elif status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
            out[name] = f"coverage {getattr(status.coverage, 'name', None)}"
        elif status.docmdp_ok is False or (
            status.modification_level is None
            or status.modification_level > ModificationLevel.FORM_FILLING
        ):
            level = getattr(status.modification_level, "name", None)
            out[name] = f"difference analysis: {level}, docmdp_ok={status.docmdp_ok}"
        else:
            out[name] = "ok"
    return out


def evaluate(
    path: Path,
    key: str,
    source: str,
    sandbox: producers.Sandbox,
    verifier: Any,
    out_dir: Path,
    password: str | None = None,
) -> Record:
    """Stamp ``path`` into ``out_dir`` with the sandbox wallet, then check everything."""
    from emeterai.errors import EmeteraiError
    from emeterai.stamp import StampOptions, stamp_file

    record = Record(key, path.name, source, password=password)
    started = time.monotonic()
    before = sha256(path)
    record.pdfinfo = producers.pdfinfo_rc(path, password)
    data = path.read_bytes()
    verdict = verifier.verify(data, str(path), password)
    record.input_valid = verdict.valid
    record.input_verdict = ",".join(sorted({p.code for p in verdict.problems}))
    earlier = foreign_signatures(data)

    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    output = out_dir / f"{path.stem}.{digest}{'.pw' if password else ''}.emeterai.pdf"
    used_before = sandbox.used()
    try:
        result = stamp_file(
            path, output, sandbox.wallet, sandbox.key, StampOptions(password=password)
        )
    except EmeteraiError as exc:
        record.status = "rejected"
        text = describe(exc)
        record.message_lines = len(text.splitlines())
        record.names_file = text.startswith(str(path))
        record.message = text[len(str(path)) + 2 :] if record.names_file else text
        expect = EXPECTED_REJECTIONS.get(key)
        record.reason = expect.reason if expect and expect.substring in text else classify(text)
        record.spent_on_failure = sandbox.used() != used_before or output.exists()
    except Exception as exc:  # a crash: never acceptable
        record.status = "error"
        record.message = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        record.spent_on_failure = sandbox.used() != used_before or output.exists()
    else:
        record.status = "stamped"
        record.repair = result.repair
        out = output.read_bytes()
        record.prefix = out.startswith(data)
        check = verifier.verify(out, str(output), password)
        record.valid = check.valid
        record.problems = [f"{p.code}: {p.detail}" for p in check.problems]
        record.qpdf, record.qpdf_line = producers.qpdf_check(output, password)
        if sandbox.used() != used_before + 1:
            record.note = f"wallet used count went {used_before} -> {sandbox.used()}"
        kept_before = {n for n, s in earlier.items() if s == "ok"}
        if kept_before:
            after = foreign_signatures(out)
            broken = {n: after.get(n, "missing") for n in kept_before if after.get(n) != "ok"}
            record.earlier_signatures = (
                "kept" if not broken else "; ".join(f"{n}: {s}" for n, s in broken.items())
            )
    record.temp_left = any(out_dir.glob(".*.tmp"))
    record.input_unchanged = sha256(path) == before
    record.seconds = time.monotonic() - started
    return record


# -- hostile inputs, in a subprocess --------------------------------------------------------------

MEMORY_LIMIT = 2 << 30  # bytes of address space for each emeterai subprocess
TIME_LIMIT = 10.0  # seconds per bad file ("a few": the interpreter start alone takes ~1.5 s)


def limit_memory() -> None:  # preexec_fn
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@dataclass
class Run:
    returncode: int | None  # None: killed at the time limit
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run_emeterai(args: list[str], env: dict[str, str], timeout: float = TIME_LIMIT) -> Run:
    """``python -m emeterai ARGS`` with the memory limit; waits at most ``timeout`` seconds."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emeterai", *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=limit_memory,
            start_new_session=True,
        )
        deadline = started + timeout
        status = rusage = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, 9)
                pid, status, rusage = os.wait4(proc.pid, 0)
                status = None
                break
            time.sleep(0.02)
        proc.returncode = -1  # reaped by wait4 above
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        return Run(
            code,
            seconds,
            rusage.ru_maxrss / 1024 if rusage else 0.0,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def cli_home(folder: Path, stamps: int) -> tuple[dict[str, str], Path]:
    """An EMETERAI_HOME with a trusted specimen issuer and ``stamps`` stamps in its wallet;
    returns the environment for subprocesses and the issuer root (PEM file)."""
    from emeterai.issuer import Issuer
    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

    home = folder / "home"
    issuer = Issuer.create(
        home / "issuer", producers.SANDBOX_PASSPHRASE, name="CLI Test", specimen=True
    )
    TrustStore(home / "trust").add(issuer.root_pem(), "test root")
    issued = issuer.issue(stamps, producers.SANDBOX_PASSPHRASE)
    Wallet(home / "wallet" / "wallet.db").import_stamps(
        [(s.serial, s.p12) for s in issued], producers.SANDBOX_PASSPHRASE, [issuer.root]
    )
    root = folder / "root.pem"
    root.write_bytes(issuer.root_pem())
    env = dict(os.environ)
    env.update(
        EMETERAI_HOME=str(home),
        EMETERAI_PASSPHRASE=producers.SANDBOX_PASSPHRASE,
        PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT), env.get("PYTHONPATH", "")) if p),
    )
    return env, root


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("emeterai: error: ")]


@dataclass
class BadRecord:
    name: str
    what: str
    stamp: Run
    verify: Run
    outputs: list[str]
    known_bug: str | None

    @property
    def verdict(self) -> str:
        import json

        try:
            obj = json.loads(self.verify.stdout.splitlines()[0])
        except (IndexError, ValueError):
            return "no JSON"
        codes = sorted({p["code"] for p in obj.get("problems", [])})
        return f"valid={str(obj.get('valid')).lower()} {','.join(codes)}"


def run_bad_inputs(folder: Path) -> list[BadRecord]:
    env, root = cli_home(folder, stamps=len(producers.BAD_INPUTS) + 2)
    bad_dir = folder / "bad"
    producers.bad_input_files(bad_dir)
    records = []
    for bad in producers.BAD_INPUTS:
        path = bad_dir / bad.name
        out_dir = folder / "bad-out" / path.stem
        stamp = run_emeterai(["stamp", str(path), "--out-dir", str(out_dir)], env)
        verify = run_emeterai(
            ["verify", "--json", "--jobs", "1", "--trust", str(root), str(path)], env
        )
        outputs = sorted(p.name for p in out_dir.glob("*")) if out_dir.exists() else []
        for run in (stamp, verify):  # file names, not the temporary folder, in the report
            run.stderr = run.stderr.replace(f"{bad_dir}{os.sep}", "")
            run.stdout = run.stdout.replace(f"{bad_dir}{os.sep}", "")
        records.append(BadRecord(bad.name, bad.what, stamp, verify, outputs, bad.known_bug))
    return records


# -- the report -----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcome_text(r: Record) -> str:
    if r.status == "not-installed":
        return "producer not installed"
    if r.status == "rejected":
        cls = r.reason or "UNDOCUMENTED"
        return f"rejected ({cls})"
    if r.status == "error":
        return "**CRASH**"
    parts = ["stamped", "valid" if r.valid else "**INVALID**", f"qpdf {r.qpdf}"]
    if r.prefix:
        parts.append("prefix kept")
    else:
        parts.append("**rewritten** (prefix not kept)")
    if r.earlier_signatures == "kept":
        parts.append("earlier signature(s) still valid")
    elif r.earlier_signatures:
        parts.append(f"**earlier signature broken** ({r.earlier_signatures})")
    return ", ".join(parts)


def reason_text(r: Record) -> str:
    if r.status == "not-installed":
        return r.note
    if r.status in ("rejected", "error"):
        return f"`{r.message}`"
    notes = []
    if r.repair:
        notes.append(r.repair)
    if not r.valid:
        notes.append("; ".join(r.problems))
    if r.qpdf:
        notes.append(f"qpdf: {r.qpdf_line}")
    if r.note:
        notes.append(r.note)
    return " ".join(notes)


def pdfinfo_text(code: int | None) -> str:
    if code is None:
        return "n/a"
    return "opens" if code == 0 else f"fails ({code})"


def render(
    records: list[Record],
    password_records: list[Record],
    bad: list[BadRecord],
    seconds: float,
) -> str:
    files = [r for r in records if r.status != "not-installed"]
    opens = [r for r in files if r.pdfinfo == 0]
    stamped = [r for r in files if r.status == "stamped"]
    valid = [r for r in stamped if r.valid and r.qpdf == 0]
    appended = [r for r in stamped if r.repair and r.prefix]
    rewritten = [r for r in stamped if not r.prefix]
    rejected = [r for r in files if r.status == "rejected"]
    crashed = [r for r in files if r.status == "error"]
    by_reason = Counter(r.reason or "UNDOCUMENTED" for r in rejected)
    opens_rejected = Counter(r.reason or "UNDOCUMENTED" for r in rejected if r.pdfinfo == 0)
    missing = [r for r in records if r.status == "not-installed"]
    undocumented_open = [
        r
        for r in opens
        if not (r.status == "stamped" and r.valid and r.qpdf == 0) and r.reason is None
    ]
    import emeterai

    lines = [
        "# Robustness: real-world and hostile PDFs",
        "",
        "Generated by `python scripts/robustness.py` (do not edit by hand); the same expectations "
        "are enforced by `tests/test_robustness.py`.",
        "",
        f"- emeterai {emeterai.__version__}, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s",
        "- every file is stamped with `emeterai.stamp.stamp_file` (a throwaway specimen issuer and "
        "wallet), the output verified with `emeterai.verify.Verifier` and checked with "
        "`qpdf --check`; *pdfinfo* is poppler's `pdfinfo` without a password",
        "- *prefix kept*: the input is a byte-for-byte prefix of the output (README); repairs are "
        "named in the last column",
        "- the input file's SHA-256 is compared before and after; the unstamped input is also "
        "verified (never `valid`); signatures already in a file are validated with pyHanko "
        "(integrity and difference analysis, not trust) before and after stamping",
        "",
        "## Counts",
        "",
        f"- files: **{len(files)}** ({sum(r.key.startswith('corpus:') for r in files)} from "
        f"`../shared/corpus/`, {sum(r.key.startswith('generated:') for r in files)} generated); "
        f"producers not installed: {len(missing)} ({', '.join(r.name for r in missing) or 'none'})",
        f"- pdfinfo opens without a password: **{len(opens)}**",
        f"- stamped, verified valid and `qpdf --check` exit 0: **{len(valid)}** of {len(stamped)} "
        f"stamped ({len(appended)} after appending a rebuilt cross-reference section, prefix kept; "
        f"{len(rewritten)} rewritten, prefix not kept)",
        f"- of the files pdfinfo opens: {sum(1 for r in opens if r in valid)} stamped + valid, "
        + ", ".join(f"{n} rejected ({k})" for k, n in sorted(opens_rejected.items()))
        + f"; without a documented reason: **{len(undocumented_open)}**",
        f"- rejected with a one-line reason: **{len(rejected)}** — "
        + ", ".join(f"{k}: {n}" for k, n in sorted(by_reason.items())),
        f"- crashes (an exception other than EmeteraiError): **{len(crashed)}**; inputs changed: "
        f"**{sum(not r.input_unchanged for r in files)}**; stamps spent without an output: "
        f"**{sum(r.spent_on_failure for r in files)}**; temp files left: "
        f"**{sum(r.temp_left for r in files)}**; unstamped inputs verified valid: "
        f"**{sum(r.input_valid for r in files)}**",
        "",
        "## Documented reasons for rejection",
        "",
    ]
    for key, reason in REASONS.items():
        n = by_reason.get(key, 0)
        lines.append(
            f"- **{key}** — {reason.title} ({n} file{'s' if n != 1 else ''}). {reason.explanation}"
        )
    lines += [
        "",
        "## Files",
        "",
        "| file | producer / source | pdfinfo | outcome | reason / notes |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {_cell(r.key.split(':', 1)[1])} | {_cell(r.source)} | {pdfinfo_text(r.pdfinfo)} | "
            f"{_cell(outcome_text(r))} | {_cell(reason_text(r))} |"
        )
    if password_records:
        lines += [
            "",
            "## Encrypted files stamped with their password",
            "",
            "The files above rejected for a missing password, stamped again with `--password` "
            "(passwords from the corpora's documentation) and verified with the same password.",
            "",
            "| file | password | outcome | reason / notes |",
            "|---|---|---|---|",
        ]
        for r in password_records:
            lines.append(
                f"| {_cell(r.key.split(':', 1)[1])} | `{r.password}` | {_cell(outcome_text(r))} | "
                f"{_cell(reason_text(r))} |"
            )
        broken = [r for r in password_records if r.status == "stamped" and not r.valid]
        if broken:
            lines += [
                "",
                f"**Defect:** {len(broken)} of {len(password_records)} encrypted documents are "
                "stamped (a stamp is spent) but their output never verifies: "
                "`emeterai/verify.py` `_pages()` iterates `node.get('/Kids', [])`, which pyHanko "
                "returns undecrypted (`DecryptedObjectProxy`) for encrypted files, so "
                "`_check_stamp` fails with `signature-invalid: cannot check the stamp`.",
            ]
    if bad:
        lines += [
            "",
            "## Hostile inputs (`tests/support/producers.py` BAD_INPUTS)",
            "",
            f"Each through `python -m emeterai stamp FILE --out-dir DIR` and "
            f"`python -m emeterai verify --json FILE`, in subprocesses limited to "
            f"{MEMORY_LIMIT >> 30} GiB of address space and killed after {TIME_LIMIT:g} s.",
            "",
            "| file | what | stamp exit | time | peak RSS | stamp stderr | verify |",
            "|---|---|---|---|---|---|---|",
        ]
        for b in bad:
            errs = error_lines(b.stamp.stderr)
            msg = (
                errs[0].removeprefix("emeterai: error: ") if errs else b.stamp.stderr.strip()[-160:]
            )
            code = "killed (timeout)" if b.stamp.returncode is None else str(b.stamp.returncode)
            if b.outputs:
                msg = f"stamped -> {', '.join(b.outputs)}"
            if "Traceback" in b.stamp.stderr + b.verify.stderr:
                msg = "**Traceback** " + msg
            if b.known_bug:
                msg += f" — **defect:** {b.known_bug}"
            lines.append(
                f"| {b.name} | {_cell(b.what)} | {code} | {b.stamp.seconds:.1f} s | "
                f"{b.stamp.max_rss_mb:.0f} MB | {_cell(msg)} | {_cell(b.verdict)} |"
            )
    lines += ["", "## Decisions", ""]
    lines += [f"- {text}" for text in DECISIONS]
    defects = []
    for key, reason in REASONS.items():
        if not reason.by_design:
            names = [r.key.split(":", 1)[1] for r in records if r.reason == key]
            defects.append(
                f"- {reason.title} ({', '.join(names) or 'no file'}): {reason.explanation}"
            )
    for hostile in producers.BAD_INPUTS:
        if hostile.known_bug:
            defects.append(
                f"- hostile input `{hostile.name}` ({hostile.what}): {hostile.known_bug}"
            )
    for name, (target, pattern) in fuzz.KNOWN_DEFECTS.items():
        defects.append(
            f"- fuzzing (`scripts/fuzz.py`, {target} documents), `{name}`: "
            f"{fuzz.DEFECT_NOTES.get(name, pattern.pattern)}"
        )
    lines += ["", "## Defects found (reported; xfail(strict) in the tests)", ""]
    lines += defects or ["None open."]
    lines.append("")
    return "\n".join(lines)


# -- inputs ---------------------------------------------------------------------------------------


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
