"""``emeterai explain``: what a problem code of ``verify`` means and what to do about it.

The words are in the reader's language; ``--json`` keeps the English texts of the catalog's
source (the README's table says the same)."""

from __future__ import annotations

from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json
from emeterai.i18n import _

HELP = _(
    "What a problem code of verify means, what usually causes it, and what the office should do."
)


def explain_cmd(
    code: Annotated[
        str | None,
        typer.Argument(
            metavar="CODE",
            help=_("A problem code, e.g. modified-after-stamp (none: list them all)."),
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """A problem code in plain words (help: :data:`HELP`)."""
    from emeterai.problems import EXPLANATIONS, explain

    if code is None:
        width = max(len(c) for c in EXPLANATIONS)
        for e in sorted(EXPLANATIONS.values(), key=lambda e: e.rank):
            if json_out:
                emit_json(e.to_json())
            else:
                typer.echo(f"{e.code:<{width}}  {e.translated().meaning}")
        return
    e = explain(code)
    if json_out:
        emit_json(e.to_json())
        return
    shown = e.translated()
    rows = (
        (_("meaning:"), shown.meaning),
        (_("usual cause:"), shown.cause),
        (_("what to do:"), shown.action),
    )
    width = max(len(label) for label, _text in rows) + 2
    typer.echo("\n".join([str(e.code), *(f"  {label:<{width}}{text}" for label, text in rows)]))
