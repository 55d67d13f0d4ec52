"""``emeterai verify``: verdicts on stamped PDFs, offline.

Verdicts are printed in the library's order (:class:`emeterai.report.InvalidFirst`: invalid
files as they come, valid ones at the end; ``--quiet``: not at all); the summary counts the
invalid files by their main reason. The JSON lines on stdout stay one per file, in input order.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    JsonFlag,
    State,
    emit_json,
    pdf_files,
    read_file,
    state,
    stop_on_ctrl_c,
    write_new_file,
)
from emeterai.i18n import _, moment, ngettext, rupiah, said

if TYPE_CHECKING:
    from emeterai.verify import StampReport, Verifier, VerifyResult

HELP = _(
    "Verify stamped PDFs offline: genuine, unchanged, visible on the page, not revoked and not "
    "used twice. The stamp's digital signature (PAdES) is checked against the trusted issuers."
)


def verify_cmd(
    ctx: typer.Context,
    pdfs: Annotated[
        list[Path],
        typer.Argument(metavar="FILE.pdf...", help=_("PDF files (or folders of them) to verify.")),
    ],
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust", metavar="PEM", help=_("Also trust this issuer's root certificate (PEM).")
        ),
    ] = None,
    crl: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help=_("The issuer's revocation list (CRL): revoked serials are invalid."),
        ),
    ] = None,
    tsa_trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--tsa-trust",
            metavar="PEM",
            help=_("Also trust this timestamp authority (its root or own certificate, PEM)."),
        ),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|URL",
            help=_(
                "Ledger recording which document each serial was first seen on: a SQLite file "
                "or a postgresql:// URL."
            ),
        ),
    ] = None,
    password: Annotated[
        str | None, typer.Option(metavar="PASSWORD", help=_("Password of encrypted PDFs."))
    ] = None,
    json_out: JsonFlag = False,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help=_("Worker processes (default: one per CPU).")),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help=_("Print only invalid files and the summary."))
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help=_("Also write a report of every file: FILE.csv or FILE.html (after all files)."),
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help=_("Overwrite an existing report."))
    ] = False,
) -> None:
    """Verdicts on stamped PDFs (help: :data:`HELP`)."""
    from emeterai import batch
    from emeterai.report import InvalidFirst, check_destination, render, summarize

    st = state(ctx)
    fmt = check_destination(report, force) if report is not None else None
    files = pdf_files(st, pdfs)
    the_ledger = None
    if ledger:  # sqlite3 and the ledger only when one is asked for
        from emeterai.ledger import open_ledger

        the_ledger = open_ledger(ledger)
    verifier = _verifier(st, trust or [], crl, tsa_trust or [])
    colour = _colour()
    results: list[VerifyResult] = []
    order = InvalidFirst()
    stop = threading.Event()
    st.start_progress(len(files), _("verifying"), json_out)
    verdicts = batch.verify_files(
        verifier, files, password, jobs or os.cpu_count() or 1, the_ledger
    )
    try:
        with stop_on_ctrl_c(
            st,
            stop,
            _("stopping: the files verified so far are reported"),
            _("still stopping: the files verified so far are reported"),
        ):
            for result in verdicts:
                results.append(result)
                st.advance()
                for now in order.take(result):
                    _print_verdict(st, now, colour)
                if json_out:
                    emit_json(result.to_json())
                if stop.is_set():
                    break
    finally:
        verdicts.close()  # the files not yet started are dropped, not verified for nobody
        st.stop_progress()
    interrupted = stop.is_set() and len(results) < len(files)
    if not quiet:
        for result in order.rest():
            _print_verdict(st, result, colour)
    summary = summarize(results)
    st.err(summary.text())
    if interrupted:
        st.err(
            ngettext(
                "interrupted: {missing} of {total} file not verified",
                "interrupted: {missing} of {total} files not verified",
                len(files),
            ).format(missing=len(files) - len(results), total=len(files))
        )
    if report is not None and fmt is not None:
        write_new_file(report, render(fmt, results), force=force)
        st.err(_("report: {path}").format(path=report))
    if interrupted:
        raise typer.Exit(130)
    if summary.invalid:
        raise typer.Exit(1)


def _colour() -> bool:
    """Colours on stderr only for a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def _verifier(st: State, trust: list[Path], crl: Path | None, tsa: list[Path]) -> Verifier:
    """The trust store's roots plus ``--trust`` ones, the trusted timestamp authorities plus
    ``--tsa-trust`` ones, and the CRL (a bad one names its file)."""
    from emeterai.errors import ConfigError
    from emeterai.trust import parse_root, parse_tsa_root
    from emeterai.verify import Verifier

    roots = list(st.trust_store().certificates())
    roots.extend(parse_root(read_file(pem), str(pem)) for pem in trust)
    tsa_roots = list(st.trust_store(tsa=True).certificates())
    tsa_roots.extend(parse_tsa_root(read_file(pem), str(pem)) for pem in tsa)
    if not roots:
        st.err(
            _(
                "emeterai: warning: no trusted issuer roots (emeterai trust add, or --trust): "
                "every stamp will be untrusted-issuer"
            )
        )
    crl_data = read_file(crl) if crl is not None else None
    try:
        return Verifier(roots, crl_data, tsa_roots=tsa_roots)
    except ConfigError as exc:
        raise exc.at(crl) if crl is not None else exc from None


def _print_verdict(st: State, result: VerifyResult, colour: bool) -> None:
    """One verdict: the main reason on the line, any further reasons indented below it. The
    problem codes and details stay as the library (and JSON) says them."""
    from emeterai.problems import main_first

    valid_word, invalid_word = _("VALID"), _("INVALID")
    width = max(len(valid_word), len(invalid_word)) + 2
    indent = " " * width
    if result.valid:
        parts = [_stamp_words(s) for s in result.stamps]
        word = typer.style(valid_word, fg="green", bold=True) if colour else valid_word
        pad = " " * (width - len(valid_word))
        st.err(f"{word}{pad}{result.file}: " + "; ".join(parts))
    else:
        main, *rest = main_first(result.problems)
        word = typer.style(invalid_word, fg="red", bold=True) if colour else invalid_word
        pad = " " * (width - len(invalid_word))
        st.err(f"{word}{pad}{result.file}: {main.code}: {main.translated()}")
        for p in rest:
            st.err(indent + _("also {code}: {detail}").format(code=p.code, detail=p.translated()))
    for stamp in result.stamps:
        for note in stamp.notes:
            st.err(indent + said(note))
    for sig in result.later_signatures:
        rect = ", ".join(f"{v:.0f}" for v in sig.rect_pt)
        st.err(
            indent
            + _("signed after the stamp: {field} by {signer} on page {page} at [{rect}] pt").format(
                field=sig.field, signer=sig.signer or _("unknown"), page=sig.page, rect=rect
            )
        )


def _stamp_words(s: StampReport) -> str:
    """A valid stamp as a person reads it: serial, amount, issuer, specimen, local time."""
    value = rupiah(s.value) if s.value is not None else "?"
    when = moment(s.stamped_at) if s.stamped_at else "?"
    if s.specimen:
        text = _("{serial} ({value}, {issuer}, SPESIMEN, stamped {when})")
    else:
        text = _("{serial} ({value}, {issuer}, stamped {when})")
    words = text.format(serial=s.serial, value=value, issuer=s.issuer, when=when)
    if s.proven_by and s.signing_time_source != "timestamp":
        words += " " + _("[{level}, proven by a timestamp at {when}]").format(
            level=s.level, when=moment(s.proven_by)
        )
    elif s.level != "B-B":
        words += f" [{s.level}]"
    return words
