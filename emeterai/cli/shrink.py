"""``emeterai shrink``: a smaller copy of a PDF for an upload portal's cap, made before stamping."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import JsonFlag, echo, emit_json
from emeterai.i18n import _, ngettext, said
from emeterai.sizes import format_size, parse_size

if TYPE_CHECKING:
    from emeterai.shrink import ShrinkResult

Input = Annotated[
    Path,
    typer.Argument(
        metavar="FILE.pdf", help=_("The PDF to shrink (never changed)."), dir_okay=False
    ),
]
Output = Annotated[
    Path,
    typer.Option(
        "-o", "--output", metavar="FILE", help=_("The smaller copy to write."), dir_okay=False
    ),
]
MaxSize = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        metavar="SIZE",
        help=_(
            "The upload portal's limit, e.g. 800K or 1.5M (1K = 1000 bytes): stronger steps are "
            "tried only until the copy fits."
        ),
    ),
]
Force = Annotated[bool, typer.Option("--force", help=_("Overwrite an existing output."))]

HELP = _(
    "Write a smaller copy of a PDF (images made smaller, contents packed tighter), BEFORE "
    "stamping it.\n\n"
    "Signed or stamped files are refused: any change breaks their signature. Exit 1 when the "
    "copy, written anyway, is still above --max-size."
)


def shrink_cmd(
    pdf: Input,
    output: Output,
    max_size: MaxSize = None,
    force: Force = False,
    json_out: JsonFlag = False,
) -> None:
    from emeterai.shrink import shrink_file

    cap = parse_size(max_size) if max_size is not None else None
    result = shrink_file(pdf, output, cap, force=force)
    if json_out:
        emit_json(result.to_json())
    else:
        echo(
            _("{file}: {before} -> {after} ({done}): {output}").format(
                file=result.file,
                before=said(format_size(result.size_before)),
                after=said(format_size(result.size_after)),
                done=_done(result),
                output=output,
            )
        )
    if not result.fits:
        assert cap is not None
        echo(
            _(
                "emeterai: error: {output}: {size} is still {over} over --max-size {cap} at the "
                "strongest step that keeps text readable; written anyway (split the document or "
                "scan it again at a lower resolution)"
            ).format(
                output=output,
                size=said(format_size(result.size_after)),
                over=said(format_size(result.over_by)),
                cap=said(format_size(cap)),
            ),
            err=True,
        )
        raise typer.Exit(1)


def _done(result: ShrinkResult) -> str:
    """:attr:`ShrinkResult.done` in the reader's words (the JSON keeps the English)."""
    from emeterai.shrink import Outcome

    if result.outcome is Outcome.UNCHANGED:
        return _("nothing made it smaller: an unchanged copy")
    resampled, reencoded = result.images_resampled, result.images_reencoded
    if resampled and reencoded:
        return ngettext(
            "{n} image downsampled to {dpi} dpi, JPEG quality {quality}",
            "{n} images downsampled to {dpi} dpi, JPEG quality {quality}",
            resampled,
        ).format(n=resampled, dpi=result.dpi, quality=result.jpeg_quality)
    if resampled:
        return ngettext(
            "{n} image downsampled to {dpi} dpi", "{n} images downsampled to {dpi} dpi", resampled
        ).format(n=resampled, dpi=result.dpi)
    if reencoded:
        return ngettext(
            "{n} image recompressed as JPEG quality {quality}",
            "{n} images recompressed as JPEG quality {quality}",
            reencoded,
        ).format(n=reencoded, quality=result.jpeg_quality)
    return _("streams recompressed, unused objects removed")
