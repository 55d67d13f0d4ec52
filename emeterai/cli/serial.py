"""``emeterai serial``: serial numbers."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Serial numbers.")


@app.command("check")
def serial_check(
    serial: Annotated[str, typer.Argument(help="A serial, any case, '-' grouping allowed.")],
) -> None:
    """Exit 0 if SERIAL is well formed (length, alphabet, check character), 1 with the reason if not."""
    from emeterai import serial as serials

    canonical = serials.parse(serial)
    typer.echo(f"{canonical}: well formed")
