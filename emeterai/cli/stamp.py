"""``emeterai stamp``: stamp PDFs, one stamp from the wallet per document."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emeterai.cli._common import (
    JsonFlag,
    PassphraseFile,
    State,
    describe,
    emit_json,
    parse_at,
    parse_page,
    passphrase,
    pdf_files,
    state,
    write_new_file,
)
from emeterai.errors import UsageError

if TYPE_CHECKING:
    from emeterai.stamp import DryRun, StampFailure, StampOptions, StampResult
    from emeterai.wallet import Wallet


def _one_input_only(files: list[Path], **given: object) -> None:
    for flag, value in given.items():
        if value is not None and len(files) != 1:
            raise UsageError(ONE_INPUT[flag])


ONE_INPUT = {
    "output": "-o/--output takes one input; use --out-dir for several",
    "serial": "--serial spends one stamp: give one input",
    "preview": "--preview shows one page: give one input",
}


# The options of `emeterai stamp`, one alias each so the command reads as a list.
Pdfs = Annotated[list[Path], typer.Argument(help="PDF files (or folders of them) to stamp.")]
Serial = Annotated[str | None, typer.Option(help="Spend this stamp instead of the next available.")]
Page = Annotated[str | None, typer.Option(help="Page number (1-based) or 'last'.")]
At = Annotated[
    str | None, typer.Option(help="Stamp centre X,Y in mm from the page's top-left as read.")
]
Size = Annotated[float, typer.Option(help="Stamp size in mm.")]
Output = Annotated[
    Path | None, typer.Option("-o", "--output", help="Output file (one input only).")
]
OutDir = Annotated[
    Path | None, typer.Option("--out-dir", help="Folder for the outputs.", file_okay=False)
]
Force = Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")]
DryRunFlag = Annotated[
    bool, typer.Option("--dry-run", help="Place and preview only: no signing, nothing spent.")
]
Preview = Annotated[
    Path | None, typer.Option("--preview", help="Write a PNG of the stamped page.", dir_okay=False)
]
Password = Annotated[str | None, typer.Option(help="Password of encrypted input PDFs.")]
Jobs = Annotated[int, typer.Option(min=1, help="Worker processes for a batch.")]
Tsa = Annotated[str | None, typer.Option(help="RFC 3161 timestamp authority URL (PAdES B-T).")]


def stamp_cmd(
    ctx: typer.Context,
    pdfs: Pdfs,
    serial: Serial = None,
    page: Page = None,
    at: At = None,
    size: Size = 25.0,
    output: Output = None,
    out_dir: OutDir = None,
    force: Force = False,
    dry_run: DryRunFlag = False,
    preview: Preview = None,
    password: Password = None,
    json_out: JsonFlag = False,
    jobs: Jobs = 1,
    tsa: Tsa = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Stamp PDFs: one stamp from the wallet per document, spent only when the output is written."""
    from emeterai.stamp import StampOptions

    st = state(ctx)
    files = pdf_files(st, pdfs)
    _one_input_only(files, output=output, serial=serial, preview=preview)
    if output is not None and out_dir is not None:
        raise UsageError("use either -o/--output or --out-dir, not both")
    options = StampOptions(
        page=parse_page(page), at_mm=parse_at(at), size_mm=size, password=password, tsa_url=tsa
    )
    options.check()
    if dry_run or preview is not None:
        failed = _dry_run(st, files, options, preview, json_out, serial)
    else:
        failed = _stamp(st, files, options, (output, out_dir, serial, force), jobs, json_out,
                        passphrase_file)  # fmt: skip
    if len(files) > 1 and not (dry_run or preview is not None):
        st.err(f"{len(files) - failed} stamped, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _recover(st: State, wallet: Wallet) -> None:
    recovered = wallet.recover()
    for s in recovered.released:
        st.err(f"recovered stamp {s}: an interrupted run left it reserved; available again")
    for s in recovered.committed:
        st.err(f"recovered stamp {s}: an interrupted run wrote its output; marked used")
    for s in recovered.unsure:
        st.err(
            f"recovered stamp {s}: an interrupted run may have written its output (it is not "
            "where it was written); marked unsure, never spent again"
        )


def _stamp(
    st: State,
    files: list[Path],
    options: StampOptions,
    where: tuple[Path | None, Path | None, str | None, bool],
    jobs: int,
    json_out: bool,
    passphrase_file: Path | None,
) -> int:
    """Stamp every file; the number that failed."""
    from emeterai import batch
    from emeterai.plan import plan_stamping
    from emeterai.stamp import StampFailure

    output, out_dir, serial, force = where
    planned = plan_stamping(files, output=output, out_dir=out_dir, serial=serial, force=force)
    wallet = st.wallet()
    _recover(st, wallet)
    secret = passphrase(passphrase_file, "the wallet")
    key = wallet.unlock(secret)  # a wrong passphrase fails here, once, before any document
    failed = 0
    st.start_progress(len(files))
    try:
        for _job, outcome in batch.stamp_files(wallet, secret, planned, options, jobs, key):
            st.advance()
            failed += isinstance(outcome, StampFailure)
            _report(st, outcome, options, json_out)
    finally:
        st.stop_progress()
    return failed


def _report(
    st: State, outcome: StampResult | StampFailure, options: StampOptions, json_out: bool
) -> None:
    from emeterai.stamp import StampFailure

    if isinstance(outcome, StampFailure):
        message = describe(outcome.error, outcome.file)
        st.err(f"emeterai: error: {message}")
        if json_out:
            emit_json(outcome.to_json(message))
        return
    path = outcome.file
    if outcome.repair:
        st.err(f"{path}: {outcome.repair}")
    if outcome.placement == "fallback":
        st.err(
            f"{path}: no 'Meterai' placeholder found; stamp placed at the bottom right of "
            f"page {outcome.page}"
        )
    moved = outcome.moved_mm(options.at_mm)
    if options.at_mm is not None and moved > 1.0:
        st.err(
            f"{path}: --at {options.at_mm[0]:g},{options.at_mm[1]:g} would put the stamp "
            f"partly off the page; its centre moved {moved:.0f} mm, to "
            f"{outcome.center_mm[0]:.1f},{outcome.center_mm[1]:.1f} mm"
        )
    st.err(
        f"stamped {path} -> {outcome.output}: {outcome.serial} on page {outcome.page} "
        f"({outcome.placement}), +{outcome.bytes_added} bytes"
    )
    if json_out:
        emit_json(outcome.to_json())


def _dry_run(
    st: State,
    files: list[Path],
    options: StampOptions,
    preview: Path | None,
    json_out: bool,
    serial: str | None,
) -> int:
    """Show where each file would be stamped (and write the preview); the number that failed."""
    from emeterai import plan
    from emeterai.stamp import StampFailure

    shown = plan.preview_stamp(st.wallet(), serial)
    failed = 0
    for outcome in plan.dry_run(files, options, shown, preview=preview is not None):
        if isinstance(outcome, StampFailure):
            failed += 1
            st.err(f"emeterai: error: {describe(outcome.error, outcome.file)}")
            continue
        _report_dry_run(st, outcome, preview, json_out)
    return failed


def _report_dry_run(st: State, outcome: DryRun, preview: Path | None, json_out: bool) -> None:
    if outcome.repair:
        st.err(f"{outcome.file}: would be {outcome.repair}")
    if preview is not None and outcome.preview_png is not None:
        write_new_file(preview, outcome.preview_png, force=True)
        st.err(f"wrote preview {preview}")
    x, y = outcome.center_mm
    st.err(
        f"{outcome.file}: would stamp page {outcome.page} at {x:.1f},{y:.1f} mm "
        f"({outcome.placement}); nothing spent"
    )
    if json_out:
        emit_json(outcome.to_json())
