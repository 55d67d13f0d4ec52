"""``emeterai trust``: the issuer roots that verify and wallet import trust."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json, read_file, state

app = typer.Typer(no_args_is_help=True, help="Issuer roots trusted by verify and wallet import.")


@app.command("add")
def trust_add(
    ctx: typer.Context,
    pems: Annotated[list[Path], typer.Argument(help="Issuer root certificates (PEM or DER).")],
) -> None:
    """Trust issuer roots."""
    store = state(ctx).trust_store()
    for pem in pems:
        root, new = store.add(read_file(pem), str(pem))
        status = "trusted" if new else "already trusted"
        typer.echo(
            f"{status}: {root.name}{' (specimen)' if root.specimen else ''} {root.fingerprint}"
        )


@app.command("list")
def trust_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The trusted issuer roots."""
    for root in state(ctx).trust_store().roots():
        if json_out:
            emit_json(root.to_json())
        else:
            typer.echo(
                f"{root.fingerprint}  {root.name}{' (specimen)' if root.specimen else ''}"
                f"  until {root.not_after:%Y-%m-%d}"
            )


@app.command("remove")
def trust_remove(
    ctx: typer.Context,
    keys: Annotated[
        list[str], typer.Argument(help="Fingerprint (or its first 8+ hex digits) or name.")
    ],
) -> None:
    """Stop trusting issuer roots."""
    store = state(ctx).trust_store()
    for key in keys:
        root = store.remove(key)
        typer.echo(f"removed {root.name} {root.fingerprint}")
