"""``emeterai seal``: validation data and a document timestamp added to stamped PDFs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emeterai.cli._common import (
    JsonFlag,
    describe,
    echo,
    emit_json,
    pdf_files,
    read_file,
    state,
    write_new_file,
)
from emeterai.errors import EmeteraiError, UsageError
from emeterai.i18n import N_, _

HELP = _(
    "Seal stamped PDFs when a network is there: add the stamps' validation data and a "
    "timestamp that proves when they existed (PAdES B-LT and B-LTA). Sealing again renews it."
)


def seal_cmd(
    ctx: typer.Context,
    pdfs: Annotated[
        list[Path],
        typer.Argument(metavar="FILE.pdf...", help=_("Stamped PDF files (or folders of them).")),
    ],
    tsa: Annotated[str, typer.Option(metavar="URL", help=_("RFC 3161 timestamp authority URL."))],
    crl: Annotated[
        list[Path] | None,
        typer.Option(metavar="FILE", help=_("The issuer's revocation list (CRL) to embed.")),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help=_("Output file (one input only).")),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", metavar="FOLDER", file_okay=False, help=_("Folder for the outputs.")
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help=_("Overwrite existing outputs."))] = False,
    json_out: JsonFlag = False,
) -> None:
    """Seal stamped PDFs (help: :data:`HELP`)."""
    from emeterai.seal import default_output, seal
    from emeterai.stamp import refuse_existing_output

    st = state(ctx)
    files = pdf_files(st, pdfs)
    if output is not None and len(files) != 1:
        raise UsageError(N_("-o/--output takes one input; use --out-dir for several"))
    if output is not None and out_dir is not None:
        raise UsageError(N_("use either -o/--output or --out-dir, not both"))
    crls = [(str(p), read_file(p)) for p in crl or []]
    failed = 0
    for path in files:
        target = output or (out_dir or path.parent) / default_output(path.name)
        try:
            if target.absolute() == path.absolute():
                raise UsageError(N_("the output would replace the input"), path=path)
            refuse_existing_output(target, force)
            sealed, result = seal(read_file(path), str(path), tsa, crls, output=str(target))
            write_new_file(target, sealed, force=force)
        except EmeteraiError as exc:
            failed += 1
            st.err(_("emeterai: error: {message}").format(message=describe(exc, str(path))))
            if json_out:
                emit_json(
                    {
                        "file": str(path),
                        "output": None,
                        "error": describe(exc, str(path), english=True),
                    }
                )
            continue
        st.err(
            _("sealed {path} -> {output}: {stamps} stamp(s), timestamp {time}").format(
                path=path, output=target, stamps=result.stamps, time=result.timestamp
            )
        )
        if json_out:
            emit_json(result.to_json())
        else:
            echo(str(target))
    if failed:
        raise typer.Exit(1)
