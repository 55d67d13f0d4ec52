"""``emeterai explain``: what a problem code of ``verify`` means and what to do about it."""

from __future__ import annotations

from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json


def explain_cmd(
    code: Annotated[
        str | None,
        typer.Argument(help="A problem code, e.g. modified-after-stamp (none: list them all)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """What a problem code means, what usually causes it, and what the office should do."""
    from emeterai.problems import EXPLANATIONS, explain

    if code is None:
        width = max(len(c) for c in EXPLANATIONS)
        for e in sorted(EXPLANATIONS.values(), key=lambda e: e.rank):
            if json_out:
                emit_json(e.to_json())
            else:
                typer.echo(f"{e.code:<{width}}  {e.meaning}")
        return
    e = explain(code)
    if json_out:
        emit_json(e.to_json())
        return
    typer.echo(
        f"{e.code}\n"
        f"  meaning:      {e.meaning}\n"
        f"  usual cause:  {e.cause}\n"
        f"  what to do:   {e.action}"
    )
