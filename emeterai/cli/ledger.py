"""``emeterai ledger``: the verifiers' serial -> document ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, echo, emit_json
from emeterai.i18n import _, moment, ngettext

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help=_("The verifiers' ledger: which document each serial was first seen on."),
)
LedgerOpt = Annotated[
    str,
    typer.Option(
        "--ledger",
        metavar="FILE|URL",
        help=_("The ledger: a SQLite file or a postgresql:// URL."),
    ),
]


@app.command("reused", help=_("Serials seen on more than one document."))
def ledger_reused(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Serials seen on more than one document."""
    from emeterai.ledger import open_ledger

    groups = open_ledger(ledger, create=False).reused()
    for group in groups:
        if json_out:
            emit_json(group.to_json())
        else:
            echo(
                ngettext(
                    "{serial} on {n} document:", "{serial} on {n} documents:", len(group)
                ).format(serial=group.serial, n=len(group))
            )
            for s in group:
                echo(f"  {moment(s.first_seen)}  sha256:{s.document_sha256}  {s.file}")
    if not json_out:
        echo(
            ngettext("{n} reused serial", "{n} reused serials", len(groups)).format(n=len(groups)),
            err=True,
        )


@app.command("stats", help=_("Counts: serials, documents, reused serials."))
def ledger_stats(ledger: LedgerOpt, json_out: JsonFlag = False) -> None:
    """Counts: serials, documents, reused serials."""
    from emeterai.ledger import open_ledger

    stats = open_ledger(ledger, create=False).stats()
    if json_out:
        emit_json(stats.to_json())
    else:
        echo(
            _("{serials} serial(s), {documents} document(s), {reused} reused serial(s)").format(
                serials=stats.serials, documents=stats.documents, reused=stats.reused_serials
            )
        )
