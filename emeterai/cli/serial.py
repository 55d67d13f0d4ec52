"""``emeterai serial``: serial numbers."""

from __future__ import annotations

from typing import Annotated

import typer

from emeterai.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=_("Serial numbers."))


@app.command(
    "check",
    help=_(
        "Check how a serial is written (length, letters, check character): exit 0 when it is "
        "well formed, else 1 with the reason."
    ),
)
def serial_check(
    serial: Annotated[
        str,
        typer.Argument(
            metavar="SERIAL",
            help=_("A serial, in capitals or small letters, with or without '-' between groups."),
        ),
    ],
) -> None:
    """Exit 0 if SERIAL is well formed, 1 with the reason if not."""
    from emeterai import serial as serials

    canonical = serials.parse(serial)
    typer.echo(_("{serial}: well formed").format(serial=canonical))
