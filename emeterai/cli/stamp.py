"""``emeterai stamp``: stamp PDFs, one stamp from the wallet per document."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
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
    pdf_files,
    secret_given,
    state,
    stop_on_ctrl_c,
    with_retries,
    write_new_file,
)
from emeterai.errors import UsageError
from emeterai.i18n import N_, _, said

if TYPE_CHECKING:
    from emeterai.stamp import DryRun, StampFailure, StampOptions, StampResult
    from emeterai.wallet import Wallet


def _one_input_only(files: list[Path], **given: object) -> None:
    for flag, value in given.items():
        if value is not None and len(files) != 1:
            raise UsageError(ONE_INPUT[flag])


ONE_INPUT = {
    "output": N_("-o/--output takes one input; use --out-dir for several"),
    "serial": N_("--serial spends one stamp: give one input"),
    "preview": N_("--preview shows one page: give one input"),
}

# How the stamp's place was chosen (the JSON's "placement"), as the human line says it.
PLACEMENTS = {
    # TRANSLATORS: the stamp was put over the 'Meterai' placeholder text of the letter
    "placeholder": N_("placeholder"),
    # TRANSLATORS: the stamp was put where the user asked with --at
    "explicit": N_("explicit"),
    # TRANSLATORS: no placeholder found: the stamp was put at the bottom right of the page
    "fallback": N_("fallback"),
}


def _placement(method: str) -> str:
    return _(PLACEMENTS[method]) if method in PLACEMENTS else method


# The options of `emeterai stamp`, one alias each so the command reads as a list.
Pdfs = Annotated[
    list[Path],
    typer.Argument(metavar="FILE.pdf...", help=_("PDF files (or folders of them) to stamp.")),
]
Serial = Annotated[
    str | None,
    typer.Option(metavar="SERIAL", help=_("Spend this stamp instead of the next available.")),
]
Page = Annotated[
    str | None, typer.Option(metavar="PAGE", help=_("Page number (1-based) or 'last'."))
]
At = Annotated[
    str | None,
    typer.Option(metavar="X,Y", help=_("Stamp centre X,Y in mm from the page's top-left as read.")),
]
Size = Annotated[float, typer.Option(metavar="MM", help=_("Stamp size in mm."))]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", metavar="FILE", help=_("Output file (one input only).")),
]
OutDir = Annotated[
    Path | None,
    typer.Option("--out-dir", metavar="FOLDER", help=_("Folder for the outputs."), file_okay=False),
]
Force = Annotated[bool, typer.Option("--force", help=_("Overwrite existing outputs."))]
DryRunFlag = Annotated[
    bool, typer.Option("--dry-run", help=_("Place and preview only: no signing, nothing spent."))
]
Preview = Annotated[
    Path | None,
    typer.Option(
        "--preview",
        metavar="FILE.png",
        help=_("Write a PNG of the stamped page."),
        dir_okay=False,
    ),
]
Password = Annotated[
    str | None, typer.Option(metavar="PASSWORD", help=_("Password of encrypted input PDFs."))
]
Jobs = Annotated[int, typer.Option(min=1, metavar="N", help=_("Worker processes for a batch."))]
Tsa = Annotated[
    str | None,
    typer.Option(metavar="URL", help=_("RFC 3161 timestamp authority URL (PAdES B-T).")),
]
AddStamp = Annotated[
    bool,
    typer.Option(
        "--add-stamp", help=_("Stamp a document that already carries a stamp (a second party's).")
    ),
]
SkipExisting = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help=_("Leave out inputs whose output exists (to finish an interrupted batch)."),
    ),
]
MaxSize = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        metavar="SIZE",
        help=_("Refuse, before spending, when the stamped file would be larger (e.g. 800K, 1M)."),
    ),
]

HELP = _(
    "Stamp PDFs: one stamp from the wallet per document, spent only when the output is written."
)


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
    add_stamp: AddStamp = False,
    skip_existing: SkipExisting = False,
    max_size: MaxSize = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Stamp PDFs: one stamp from the wallet per document, spent only when the output is written
    (the help is HELP, in the reader's language)."""
    from emeterai.sizes import parse_size
    from emeterai.stamp import StampOptions

    st = state(ctx)
    files = pdf_files(st, pdfs, skip_outputs=True)
    _one_input_only(files, output=output, serial=serial, preview=preview)
    if output is not None and out_dir is not None:
        raise UsageError(N_("use either -o/--output or --out-dir, not both"))
    options = StampOptions(
        page=parse_page(page),
        at_mm=parse_at(at),
        size_mm=size,
        password=password,
        tsa_url=tsa,
        add_stamp=add_stamp,
        max_size=parse_size(max_size) if max_size is not None else None,
    )
    options.check()
    if dry_run or preview is not None:
        failures = _dry_run(st, files, options, preview, json_out, serial)
        raise typer.Exit(_exit_code(failures))
    where = (output, out_dir, serial, force, skip_existing)
    tally = _stamp(st, files, options, where, jobs, json_out, passphrase_file)
    if len(files) > 1 or tally.interrupted:
        st.err(tally.summary())
    raise typer.Exit(130 if tally.interrupted else _exit_code(tally.failures))


def _exit_code(failures: list[StampFailure]) -> int:
    """0 when nothing failed; 2 when every failure is one of usage (a --page or --at that no
    document can take); else 1."""
    if not failures:
        return 0
    return 2 if all(isinstance(f.error, UsageError) for f in failures) else 1


@dataclass
class _Tally:
    """What a stamping run did, for its summary line and exit code."""

    total: int
    stamped: int = 0
    skipped: int = 0
    failures: list[StampFailure] = field(default_factory=list)
    interrupted: bool = False

    def summary(self) -> str:
        """One whole sentence for each case (a translator words each as a whole)."""
        left = self.total - self.stamped - self.skipped - len(self.failures)
        if self.skipped and self.interrupted:
            line = _(
                "{stamped} stamped, {failed} failed, {skipped} skipped (output already there), "
                "{left} not started (interrupted)"
            )
        elif self.skipped:
            line = _("{stamped} stamped, {failed} failed, {skipped} skipped (output already there)")
        elif self.interrupted:
            line = _("{stamped} stamped, {failed} failed, {left} not started (interrupted)")
        else:
            line = _("{stamped} stamped, {failed} failed")
        return line.format(
            stamped=self.stamped, failed=len(self.failures), skipped=self.skipped, left=left
        )


def _recover(st: State, wallet: Wallet) -> None:
    recovered = wallet.recover()
    for s in recovered.released:
        st.err(
            _(
                "recovered stamp {serial}: an interrupted run left it reserved; available again"
            ).format(serial=s)
        )
    for s in recovered.committed:
        st.err(
            _("recovered stamp {serial}: an interrupted run wrote its output; marked used").format(
                serial=s
            )
        )
    for s in recovered.unsure:
        st.err(
            _(
                "recovered stamp {serial}: an interrupted run may have written its output (it is "
                "not where it was written); marked unsure, never spent again"
            ).format(serial=s)
        )


def _stamp(
    st: State,
    files: list[Path],
    options: StampOptions,
    where: tuple[Path | None, Path | None, str | None, bool, bool],
    jobs: int,
    json_out: bool,
    passphrase_file: Path | None,
) -> _Tally:
    """Stamp every file that can be: inputs, outputs and the wallet are checked before the
    passphrase is asked for, so a typo in a file name costs no typing of secrets."""
    from emeterai import batch
    from emeterai.plan import check_documents, plan_stamping
    from emeterai.stamp import StampFailure, StampSkipped

    output, out_dir, serial, force, skip_existing = where
    plan = plan_stamping(
        files, output=output, out_dir=out_dir, serial=serial, force=force,
        skip_existing=skip_existing,
    )  # fmt: skip
    tally = _Tally(len(files), skipped=len(plan.skipped))
    for job in plan.skipped:
        st.err(
            _("skipped {path}: {output} is already there").format(
                path=job.source, output=job.output
            )
        )
        if json_out:
            emit_json(StampSkipped(str(job.source), str(job.output)).to_json())
    refused = list(plan.refused)
    todo = list(plan.jobs)
    if todo and not secret_given(passphrase_file):
        # a person is about to be asked (or told that a passphrase is needed): first every
        # document that cannot be stamped says so
        todo, unfit = check_documents(todo, options)
        refused += unfit
    for failure in refused:
        tally.failures.append(failure)
        _report(st, failure, options, json_out)
    if not todo:
        return tally
    wallet = st.wallet()
    _recover(st, wallet)
    wallet.require_usable(serial)  # an empty or expired wallet says so before any prompt
    secret, key = with_retries(passphrase_file, _("the wallet"), wallet.unlock)
    stop = threading.Event()
    st.start_progress(len(todo), _("stamping"), json_out)
    try:
        with stop_on_ctrl_c(
            st,
            stop,
            _("stopping: finishing the documents being stamped; nothing new is started"),
            _("still finishing the documents being stamped; nothing new is started"),
        ):
            for _job, outcome in batch.stamp_files(wallet, secret, todo, options, jobs, key, stop):
                st.advance()
                if isinstance(outcome, StampFailure):
                    tally.failures.append(outcome)
                else:
                    tally.stamped += 1
                _report(st, outcome, options, json_out)
    finally:
        st.stop_progress()
    done = tally.stamped + len(tally.failures) - len(refused)
    tally.interrupted = stop.is_set() and done < len(todo)
    return tally


def _report(
    st: State, outcome: StampResult | StampFailure, options: StampOptions, json_out: bool
) -> None:
    from emeterai.stamp import StampFailure

    if isinstance(outcome, StampFailure):
        _report_failure(st, outcome, json_out)
        return
    path = outcome.file
    if outcome.repair:
        st.err(f"{path}: {said(outcome.repair)}")
    if outcome.placement == "fallback":
        st.err(
            _(
                "{path}: no 'Meterai' placeholder found; stamp placed at the bottom right of "
                "page {page}"
            ).format(path=path, page=outcome.page)
        )
    elif outcome.placeholder_text is not None:
        st.err(
            _('{path}: placed on "{text}" on page {page}').format(
                path=path, text=outcome.placeholder_text, page=outcome.page
            )
        )
    for warning in outcome.warnings:
        st.err(f"{path}: {said(warning)}")
    moved = outcome.moved_mm(options.at_mm)
    if options.at_mm is not None and moved > 1.0:
        st.err(
            _(
                "{path}: --at {at} would put the stamp partly off the page; its centre moved "
                "{moved} mm, to {center} mm"
            ).format(
                path=path,
                at=f"{options.at_mm[0]:g},{options.at_mm[1]:g}",
                moved=f"{moved:.0f}",
                center=f"{outcome.center_mm[0]:.1f},{outcome.center_mm[1]:.1f}",
            )
        )
    st.err(
        _(
            "stamped {path} -> {output}: {serial} on page {page} ({placement}), +{added} bytes"
        ).format(
            path=path,
            output=outcome.output,
            serial=outcome.serial,
            page=outcome.page,
            placement=_placement(outcome.placement),
            added=outcome.bytes_added,
        )
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
) -> list[StampFailure]:
    """Show where each file would be stamped (and write the preview); the failures."""
    from emeterai import plan
    from emeterai.stamp import StampFailure

    shown = plan.preview_stamp(st.wallet(), serial)
    failures = []
    for outcome in plan.dry_run(files, options, shown, preview=preview is not None):
        if isinstance(outcome, StampFailure):
            failures.append(outcome)
            _report_failure(st, outcome, json_out)
            continue
        _report_dry_run(st, outcome, preview, json_out)
    return failures


def _report_failure(st: State, failure: StampFailure, json_out: bool) -> None:
    """The error line in the reader's language; the JSON record's "error" in English."""
    st.err(_("emeterai: error: {message}").format(message=describe(failure.error, failure.file)))
    if json_out:
        emit_json(failure.to_json(describe(failure.error, failure.file, english=True)))


def _report_dry_run(st: State, outcome: DryRun, preview: Path | None, json_out: bool) -> None:
    if outcome.repair:
        repair = said(outcome.repair)
        st.err(_("{path}: would be {repair}").format(path=outcome.file, repair=repair))
    if preview is not None and outcome.preview_png is not None:
        write_new_file(preview, outcome.preview_png, force=True)
        st.err(_("wrote preview {path}").format(path=preview))
    x, y = outcome.center_mm
    if outcome.placeholder_text is None:
        line = _("{path}: would stamp on page {page} at {center} mm ({placement}); nothing spent")
    else:
        line = _(
            '{path}: would stamp on "{text}" on page {page} at {center} mm ({placement}); '
            "nothing spent"
        )
    st.err(
        line.format(
            path=outcome.file,
            text=outcome.placeholder_text,
            page=outcome.page,
            center=f"{x:.1f},{y:.1f}",
            placement=_placement(outcome.placement),
        )
    )
    for warning in outcome.warnings:
        st.err(f"{outcome.file}: {said(warning)}")
    if json_out:
        emit_json(outcome.to_json())
