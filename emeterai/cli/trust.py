"""``emeterai trust``: the issuer roots that verify and wallet import trust."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json, read_file, state
from emeterai.i18n import _, day

TsaFlag = Annotated[
    bool,
    typer.Option(
        "--tsa",
        help=_(
            "Timestamp authorities instead of issuers: their timestamps prove when stamps existed."
        ),
    ),
]

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help=_("The trusted issuers: their root certificates, used by verify and wallet import."),
)


@app.command("add", help=_("Trust issuers: add their root certificates."))
def trust_add(
    ctx: typer.Context,
    pems: Annotated[
        list[Path],
        typer.Argument(metavar="PEM...", help=_("Issuers' root certificates (PEM or DER files).")),
    ],
    tsa: TsaFlag = False,
) -> None:
    """Trusts issuer roots (or timestamp authorities)."""
    store = state(ctx).trust_store(tsa=tsa)
    for pem in pems:
        root, new = store.add(read_file(pem), str(pem))
        if new:
            line = (
                _("trusted: {name} (specimen) {fingerprint}")
                if root.specimen
                else _("trusted: {name} {fingerprint}")
            )
        else:
            line = (
                _("already trusted: {name} (specimen) {fingerprint}")
                if root.specimen
                else _("already trusted: {name} {fingerprint}")
            )
        typer.echo(line.format(name=root.name, fingerprint=root.fingerprint))


@app.command("list", help=_("The trusted issuers' root certificates."))
def trust_list(ctx: typer.Context, json_out: JsonFlag = False, tsa: TsaFlag = False) -> None:
    """The trusted issuer roots (or timestamp authorities)."""
    for root in state(ctx).trust_store(tsa=tsa).roots():
        if json_out:
            emit_json(root.to_json())
        else:
            line = (
                _("{fingerprint}  {name} (specimen)  until {until}")
                if root.specimen
                else _("{fingerprint}  {name}  until {until}")
            )
            until = day(root.not_after.astimezone().date())
            typer.echo(line.format(fingerprint=root.fingerprint, name=root.name, until=until))


@app.command("remove", help=_("Stop trusting issuers."))
def trust_remove(
    ctx: typer.Context,
    keys: Annotated[
        list[str],
        typer.Argument(
            metavar="FINGERPRINT...",
            help=_("A fingerprint (or its first 8 or more characters) or an issuer's name."),
        ),
    ],
    tsa: TsaFlag = False,
) -> None:
    """Stops trusting issuer roots (or timestamp authorities)."""
    store = state(ctx).trust_store(tsa=tsa)
    for key in keys:
        root = store.remove(key)
        typer.echo(
            _("removed {name} {fingerprint}").format(name=root.name, fingerprint=root.fingerprint)
        )
