"""``emeterai stamp``: stamp PDFs, one stamp from the wallet per document."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
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
    with_retries,
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
AddStamp = Annotated[
    bool,
    typer.Option(
        "--add-stamp", help="Stamp a document that already carries a stamp (a second party's)."
    ),
]
SkipExisting = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help="Leave out inputs whose output exists (to finish an interrupted batch).",
    ),
]
MaxSize = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        metavar="SIZE",
        help="Refuse, before spending, when the stamped file would be larger (e.g. 800K, 1M).",
    ),
]


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
    """Stamp PDFs: one stamp from the wallet per document, spent only when the output is written."""
    from emeterai.sizes import parse_size
    from emeterai.stamp import StampOptions

    st = state(ctx)
    files = pdf_files(st, pdfs, skip_outputs=True)
    _one_input_only(files, output=output, serial=serial, preview=preview)
    if output is not None and out_dir is not None:
        raise UsageError("use either -o/--output or --out-dir, not both")
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
        parts = [f"{self.stamped} stamped", f"{len(self.failures)} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (output already there)")
        left = self.total - self.stamped - self.skipped - len(self.failures)
        if self.interrupted:
            parts.append(f"{left} not started (interrupted)")
        return ", ".join(parts)


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
        st.err(f"skipped {job.source}: {job.output} is already there")
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
    secret, key = with_retries(passphrase_file, "the wallet", wallet.unlock)
    stop = threading.Event()
    st.start_progress(len(todo), "stamping", json_out)
    try:
        with _stop_on_ctrl_c(st, stop):
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


@contextlib.contextmanager
def _stop_on_ctrl_c(st: State, stop: threading.Event) -> Iterator[None]:
    """Ctrl-C sets ``stop``: the documents being stamped are finished and reported, no new one
    is started. A further Ctrl-C changes nothing: a document abandoned halfway would have spent
    a stamp that nobody reports (kill -9 still stops the run; the next one settles its stamps)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_ctrl_c(signum: int, frame: object) -> None:
        again = stop.is_set()
        stop.set()
        if again:
            st.err("still finishing the documents being stamped; nothing new is started")
        else:
            st.err("stopping: finishing the documents being stamped; nothing new is started")

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        # once stopped, the run is ending with its summary and exit 130: a late press is moot
        signal.signal(signal.SIGINT, signal.SIG_IGN if stop.is_set() else previous)


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
    elif outcome.placeholder_text is not None:
        st.err(f'{path}: placed on "{outcome.placeholder_text}" on page {outcome.page}')
    for warning in outcome.warnings:
        st.err(f"{path}: {warning}")
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
) -> list[StampFailure]:
    """Show where each file would be stamped (and write the preview); the failures."""
    from emeterai import plan
    from emeterai.stamp import StampFailure

    shown = plan.preview_stamp(st.wallet(), serial)
    failures = []
    for outcome in plan.dry_run(files, options, shown, preview=preview is not None):
        if isinstance(outcome, StampFailure):
            failures.append(outcome)
            st.err(f"emeterai: error: {describe(outcome.error, outcome.file)}")
            if json_out:
                emit_json(outcome.to_json(describe(outcome.error, outcome.file)))
            continue
        _report_dry_run(st, outcome, preview, json_out)
    return failures


def _report_dry_run(st: State, outcome: DryRun, preview: Path | None, json_out: bool) -> None:
    if outcome.repair:
        st.err(f"{outcome.file}: would be {outcome.repair}")
    if preview is not None and outcome.preview_png is not None:
        write_new_file(preview, outcome.preview_png, force=True)
        st.err(f"wrote preview {preview}")
    x, y = outcome.center_mm
    on = "" if outcome.placeholder_text is None else f' on "{outcome.placeholder_text}"'
    st.err(
        f"{outcome.file}: would stamp{on} on page {outcome.page} at {x:.1f},{y:.1f} mm "
        f"({outcome.placement}); nothing spent"
    )
    for warning in outcome.warnings:
        st.err(f"{outcome.file}: {warning}")
    if json_out:
        emit_json(outcome.to_json())
