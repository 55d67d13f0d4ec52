"""``emeterai ledger``: the verifiers' serial -> document ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json

app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The verifiers' serial -> document ledger."
)
LedgerOpt = Annotated[
    str, typer.Option("--ledger", help="Ledger: a SQLite path or a postgresql:// URL.")
]


@app.command("reused")
def ledger_reused(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Serials seen on more than one document."""
    from emeterai.ledger import open_ledger

    groups = open_ledger(ledger, create=False).reused()
    for group in groups:
        if json_out:
            emit_json(group.to_json())
        else:
            typer.echo(f"{group.serial} on {len(group)} documents:")
            for s in group:
                typer.echo(f"  {s.first_seen}  sha256:{s.document_sha256}  {s.file}")
    if not json_out:
        typer.echo(f"{len(groups)} reused serial(s)", err=True)


@app.command("stats")
def ledger_stats(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Counts: serials, documents, reused serials."""
    from emeterai.ledger import open_ledger

    stats = open_ledger(ledger, create=False).stats()
    if json_out:
        emit_json(stats.to_json())
    else:
        typer.echo(
            f"{stats.serials} serial(s), {stats.documents} document(s), {stats.reused_serials} reused serial(s)"
        )
