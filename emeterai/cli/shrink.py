"""``emeterai shrink``: a smaller copy of a PDF for an upload portal's cap, made before stamping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emeterai.cli._common import JsonFlag, emit_json
from emeterai.sizes import format_size, parse_size

Input = Annotated[Path, typer.Argument(help="The PDF to shrink (never changed).", dir_okay=False)]
Output = Annotated[
    Path, typer.Option("-o", "--output", help="The smaller copy to write.", dir_okay=False)
]
MaxSize = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        help="The portal's cap, e.g. 800K, 1.5M (1K = 1000 bytes): stronger steps only until it fits.",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")]


def shrink_cmd(
    pdf: Input,
    output: Output,
    max_size: MaxSize = None,
    force: Force = False,
    json_out: JsonFlag = False,
) -> None:
    """Write a smaller copy of PDF (images downsampled, streams recompressed) BEFORE stamping it.

    Signed or stamped files are refused: any change breaks their signature. Exit 1 when the
    copy, written anyway, is still above --max-size.
    """
    from emeterai.shrink import shrink_file

    cap = parse_size(max_size) if max_size is not None else None
    result = shrink_file(pdf, output, cap, force=force)
    if json_out:
        emit_json(result.to_json())
    else:
        typer.echo(f"{result.summary()}: {output}")
    if not result.fits:
        assert cap is not None
        typer.echo(
            f"emeterai: error: {output}: {format_size(result.size_after)} is still "
            f"{format_size(result.over_by)} over --max-size {format_size(cap)} at the strongest "
            "step that keeps text readable; written anyway (split the document or scan it again "
            "at a lower resolution)",
            err=True,
        )
        raise typer.Exit(1)
