"""``emeterai verify``: verdicts on stamped PDFs, offline.

Verdicts are printed in the library's order (:class:`emeterai.report.InvalidFirst`: invalid
files as they come, valid ones at the end; ``--quiet``: not at all); the summary counts the
invalid files by their main reason. The JSON lines on stdout stay one per file, in input order.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import JsonFlag, State, emit_json, pdf_files, read_file, state

if TYPE_CHECKING:
    from emeterai.verify import Verifier, VerifyResult

_INDENT = " " * 9


def verify_cmd(
    ctx: typer.Context,
    pdfs: Annotated[list[Path], typer.Argument(help="PDF files (or folders of them) to verify.")],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="Also trust this issuer root (PEM).")
    ] = None,
    crl: Annotated[
        Path | None, typer.Option(help="The issuer's CRL: revoked serials are invalid.")
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            help="Ledger recording serial -> document: a SQLite path or a postgresql:// URL."
        ),
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password of encrypted PDFs.")] = None,
    json_out: JsonFlag = False,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: CPUs).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only invalid files and the summary.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write a report of every file: FILE.csv or FILE.html (after all files).",
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing report.")] = False,
) -> None:
    """Verify stamped PDFs offline: genuine, unmodified, shown, not revoked, not reused."""
    from emeterai import batch
    from emeterai.ledger import open_ledger
    from emeterai.report import InvalidFirst, check_destination, render, summarize

    st = state(ctx)
    fmt = check_destination(report, force) if report is not None else None
    files = pdf_files(st, pdfs)
    the_ledger = open_ledger(ledger) if ledger else None
    verifier = _verifier(st, trust or [], crl)
    colour = _colour()
    results: list[VerifyResult] = []
    order = InvalidFirst()
    interrupted = False
    st.start_progress(len(files), "verifying", json_out)
    try:
        for result in batch.verify_files(
            verifier, files, password, jobs or os.cpu_count() or 1, the_ledger
        ):
            results.append(result)
            st.advance()
            for now in order.take(result):
                _print_verdict(st, now, colour)
            if json_out:
                emit_json(result.to_json())
    except KeyboardInterrupt:  # what was verified is still reported, and the report written
        interrupted = True
    finally:
        st.stop_progress()
    if not quiet:
        for result in order.rest():
            _print_verdict(st, result, colour)
    summary = summarize(results)
    st.err(summary.text())
    if interrupted:
        st.err(f"interrupted: {len(files) - len(results)} of {len(files)} file(s) not verified")
    if report is not None and fmt is not None:
        from emeterai._files import write_atomic

        write_atomic(report, render(fmt, results), overwrite=force)
        st.err(f"report: {report}")
    if interrupted:
        raise typer.Exit(130)
    if summary.invalid:
        raise typer.Exit(1)


def _colour() -> bool:
    """Colours on stderr only for a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def _verifier(st: State, trust: list[Path], crl: Path | None) -> Verifier:
    """The trust store's roots plus ``--trust`` ones, and the CRL (a bad one names its file)."""
    from emeterai.errors import ConfigError
    from emeterai.trust import parse_root
    from emeterai.verify import Verifier

    roots = list(st.trust_store().certificates())
    roots.extend(parse_root(read_file(pem), str(pem)) for pem in trust)
    if not roots:
        st.err(
            "emeterai: warning: no trusted issuer roots (emeterai trust add, or --trust): "
            "every stamp will be untrusted-issuer"
        )
    crl_data = read_file(crl) if crl is not None else None
    try:
        return Verifier(roots, crl_data)
    except ConfigError as exc:
        raise exc.at(crl) if crl is not None else exc from None


def _print_verdict(st: State, result: VerifyResult, colour: bool) -> None:
    """One verdict: the main reason on the line, any further reasons indented below it."""
    from emeterai.problems import main_first

    if result.valid:
        parts = []
        for s in result.stamps:
            spec = ", SPESIMEN" if s.specimen else ""
            parts.append(f"{s.serial} (Rp{s.value}, {s.issuer}{spec}, stamped {s.stamped_at})")
        word = typer.style("VALID", fg="green", bold=True) if colour else "VALID"
        st.err(f"{word}    {result.file}: " + "; ".join(parts))
    else:
        main, *rest = main_first(result.problems)
        word = typer.style("INVALID", fg="red", bold=True) if colour else "INVALID"
        st.err(f"{word}  {result.file}: {main.code}: {main.detail}")
        for p in rest:
            st.err(f"{_INDENT}also {p.code}: {p.detail}")
    for sig in result.later_signatures:
        rect = ", ".join(f"{v:.0f}" for v in sig.rect_pt)
        st.err(
            f"{_INDENT}signed after the stamp: {sig.field} by {sig.signer or 'unknown'}"
            f" on page {sig.page} at [{rect}] pt"
        )
