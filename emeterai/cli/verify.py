"""``emeterai verify``: verdicts on stamped PDFs, offline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import JsonFlag, State, emit_json, pdf_files, read_file, state

if TYPE_CHECKING:
    from emeterai.verify import Verifier, VerifyResult


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
) -> None:
    """Verify stamped PDFs offline: genuine, unmodified, shown, not revoked, not reused."""
    from emeterai import batch
    from emeterai.ledger import open_ledger

    st = state(ctx)
    files = pdf_files(st, pdfs)
    verifier = _verifier(st, trust or [], crl)
    the_ledger = open_ledger(ledger) if ledger else None
    invalid = 0
    st.start_progress(len(files))
    try:
        results = batch.verify_files(
            verifier, files, password, jobs or os.cpu_count() or 1, the_ledger
        )
        for result in results:
            invalid += not result.valid
            st.advance()
            _print_verdict(st, result)
            if json_out:
                emit_json(result.to_json())
    finally:
        st.stop_progress()
    st.err(f"{len(files)} file(s): {len(files) - invalid} valid, {invalid} invalid")
    if invalid:
        raise typer.Exit(1)


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


def _print_verdict(st: State, result: VerifyResult) -> None:
    if result.valid:
        parts = []
        for s in result.stamps:
            spec = ", SPESIMEN" if s.specimen else ""
            parts.append(f"{s.serial} (Rp{s.value}, {s.issuer}{spec}, stamped {s.stamped_at})")
        st.err(f"VALID    {result.file}: " + "; ".join(parts))
    else:
        details = "; ".join(f"{p.code}: {p.detail}" for p in result.problems)
        st.err(f"INVALID  {result.file}: {details}")
    for sig in result.later_signatures:
        rect = ", ".join(f"{v:.0f}" for v in sig.rect_pt)
        st.err(
            f"         signed after the stamp: {sig.field} by {sig.signer or 'unknown'}"
            f" on page {sig.page} at [{rect}] pt"
        )
