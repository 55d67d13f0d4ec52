"""Planning a stamping run before anything is spent: which files, where each output goes, and
what a dry run shows.

Two inputs written to one output would spend two stamps on one file; an output that is also an
input would be overwritten while it is being stamped. Both are refused here, for every skin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from emeterai._inputs import expand_pdfs, is_stamped_output
from emeterai.batch import StampJob
from emeterai.errors import EmeteraiError, OutputError, PdfError, UsageError
from emeterai.i18n import N_
from emeterai.stamp import (
    Analysis,
    DryRun,
    StampFailure,
    StampOptions,
    check_input,
    default_output,
    refuse_existing_output,
    rounded_rect,
)
from emeterai.wallet import State, Wallet

__all__ = [
    "Plan",
    "PreviewStamp",
    "check_documents",
    "dry_run",
    "expand_pdfs",
    "is_stamped_output",
    "plan_stamping",
    "preview_stamp",
]


def _same_file_key(path: Path) -> str:
    """One key per file whatever the spelling: '..', symbolic links, case on Windows."""
    return os.path.normcase(os.path.realpath(path))


@dataclass(frozen=True)
class Plan:
    """A stamping run as planned before any secret is asked for or any stamp reserved:
    ``jobs`` to stamp, ``skipped`` (their output is there, ``skip_existing``) and ``refused``
    (an input missing or not a PDF, an output in the way), in input order each."""

    jobs: tuple[StampJob, ...]
    skipped: tuple[StampJob, ...] = ()
    refused: tuple[StampFailure, ...] = ()


def plan_stamping(
    files: Sequence[Path],
    output: Path | None = None,
    out_dir: Path | None = None,
    serial: str | None = None,
    force: bool = False,
    skip_existing: bool = False,
) -> Plan:
    """One job per input: its output is ``output``, else ``out_dir``/``name.emeterai.pdf``,
    else beside the input. Refuses clashing outputs; creates ``out_dir``; checks every input
    and output that can be checked without reading the document (cheap: nothing is parsed)."""
    if force and skip_existing:
        raise UsageError(N_("use either --force (overwrite outputs) or --skip-existing, not both"))
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                N_("cannot create the output folder ({reason})"),
                path=out_dir,
                reason=exc.strerror,
            ) from None

    def target(path: Path) -> Path:
        if output is not None:
            return output
        if out_dir is not None:
            return out_dir / default_output(path).name
        return default_output(path)

    jobs = [StampJob(path, target(path), serial, force) for path in files]
    _refuse_clashes(jobs, force)
    todo: list[StampJob] = []
    skipped: list[StampJob] = []
    refused: list[StampFailure] = []
    for job in jobs:
        try:
            check_input(job.source)
        except PdfError as exc:
            refused.append(StampFailure(str(job.source), exc))
            continue
        if skip_existing and os.path.lexists(job.output):
            skipped.append(job)
            continue
        try:
            refuse_existing_output(job.output, force)
        except OutputError as exc:
            refused.append(StampFailure(str(job.source), exc))
            continue
        todo.append(job)
    return Plan(tuple(todo), tuple(skipped), tuple(refused))


def check_documents(
    jobs: Sequence[StampJob], options: StampOptions
) -> tuple[list[StampJob], list[StampFailure]]:
    """Read and place every document of ``jobs`` as stamping would, before anything is asked
    or reserved: the jobs that can be stamped, and the failures (already stamped, a --page or
    --at it cannot take, over --max-size, damaged). Stamping analyses each document again, so
    a skin calls this only when the check is worth a second read: before asking a person for a
    secret."""
    from emeterai.stamp import analyse, read_input

    ok: list[StampJob] = []
    failures: list[StampFailure] = []
    for job in jobs:
        try:
            analyse(read_input(job.source), str(job.source), options)
        except EmeteraiError as exc:
            failures.append(StampFailure(str(job.source), exc.at(job.source)))
            continue
        ok.append(job)
    return ok, failures


def _refuse_clashes(jobs: Sequence[StampJob], force: bool) -> None:
    seen: dict[str, Path] = {}
    for job in jobs:
        key = _same_file_key(job.output)
        if key in seen:
            raise UsageError(
                N_(
                    "{first} and {second} would both be written to {output}; "
                    "stamp them into different folders"
                ),
                first=seen[key],
                second=job.source,
                output=job.output,
            )
        seen[key] = job.source
    if force:
        inputs = {_same_file_key(job.source) for job in jobs}
        for job in jobs:
            if _same_file_key(job.output) in inputs:
                raise UsageError(
                    N_("its output {output} is also an input; overwriting would destroy it"),
                    path=job.source,
                    output=job.output,
                )


@dataclass(frozen=True)
class PreviewStamp:
    """What a preview shows: the next stamp of the wallet, or a specimen when there is none."""

    serial: str
    value: int
    issuer: str
    specimen: bool


def preview_stamp(wallet: Wallet, serial: str | None = None) -> PreviewStamp:
    from emeterai import serial as serials

    entry = next((e for e in wallet.entries() if e.state == State.AVAILABLE), None)
    shown = serials.parse(serial) if serial is not None else entry.serial if entry else "0" * 22
    if entry is None:
        return PreviewStamp(shown, 10000, "preview", True)
    return PreviewStamp(shown, entry.value, entry.issuer, entry.specimen)


def preview_page(
    data: bytes, analysis: Analysis, shown: PreviewStamp, options: StampOptions, dpi: int = 100
) -> bytes:
    """PNG of the page as it would be stamped with ``shown``'s picture: nothing signed."""
    from emeterai.stamp import picture_for, preview_png

    picture = picture_for(
        analysis,
        shown.serial,
        shown.value,
        shown.issuer,
        shown.specimen,
        analysis.placement.size_mm,
    )
    return preview_png(data, analysis, picture, dpi=dpi, password=options.password)


def dry_run_of(
    data: bytes, source: str, options: StampOptions, shown: PreviewStamp | None = None
) -> DryRun:
    """Where ``data`` would be stamped (and, given the ``shown`` stamp, a PNG of that page with
    its picture on it); nothing is signed or spent."""
    from emeterai.stamp import analyse

    analysis = analyse(data, source, options)
    png = preview_page(data, analysis, shown, options) if shown is not None else None
    p = analysis.placement
    return DryRun(
        file=source,
        page=p.page_index + 1,
        rect_pt=rounded_rect(p.rect),
        placement=p.method,
        center_mm=p.center_mm,
        document_sha256=analysis.document_sha256,
        repair=analysis.repair,
        preview_png=png,
        placeholder_text=p.placeholder_text,
        warnings=p.warnings,
    )


def dry_run(
    files: Sequence[Path], options: StampOptions, shown: PreviewStamp, preview: bool = False
) -> Iterator[DryRun | StampFailure]:
    """Where each file would be stamped (and, with ``preview``, a PNG of that page with the
    picture on it); nothing is signed or spent."""
    from emeterai.stamp import read_input

    for path in files:
        try:
            yield dry_run_of(read_input(path), str(path), options, shown if preview else None)
        except EmeteraiError as exc:
            yield StampFailure(str(path), exc.at(path))
