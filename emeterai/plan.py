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

from emeterai.batch import StampJob
from emeterai.errors import EmeteraiError, OutputError, UsageError
from emeterai.stamp import DryRun, StampFailure, StampOptions, default_output, rounded_rect
from emeterai.wallet import State, Wallet

__all__ = ["PreviewStamp", "dry_run", "expand_pdfs", "plan_stamping", "preview_stamp"]


def expand_pdfs(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The PDF files named by ``paths`` (a folder: its PDFs, recursively, sorted), and the
    folders that held none."""
    files: list[Path] = []
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
            if not found:
                empty.append(path)
            files.extend(found)
        else:
            files.append(path)
    return files, empty


def _same_file_key(path: Path) -> str:
    """One key per file whatever the spelling: '..', symbolic links, case on Windows."""
    return os.path.normcase(os.path.realpath(path))


def plan_stamping(
    files: Sequence[Path],
    output: Path | None = None,
    out_dir: Path | None = None,
    serial: str | None = None,
    force: bool = False,
) -> list[StampJob]:
    """One job per input: its output is ``output``, else ``out_dir``/``name.emeterai.pdf``,
    else beside the input. Refuses clashing outputs; creates ``out_dir``."""
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the output folder ({exc.strerror})", path=out_dir
            ) from None

    def target(path: Path) -> Path:
        if output is not None:
            return output
        if out_dir is not None:
            return out_dir / default_output(path).name
        return default_output(path)

    jobs = [StampJob(path, target(path), serial, force) for path in files]
    _refuse_clashes(jobs, force)
    return jobs


def _refuse_clashes(jobs: Sequence[StampJob], force: bool) -> None:
    seen: dict[str, Path] = {}
    for job in jobs:
        key = _same_file_key(job.output)
        if key in seen:
            raise UsageError(
                f"{seen[key]} and {job.source} would both be written to {job.output}; "
                "stamp them into different folders"
            )
        seen[key] = job.source
    if force:
        inputs = {_same_file_key(job.source) for job in jobs}
        for job in jobs:
            if _same_file_key(job.output) in inputs:
                raise UsageError(
                    f"its output {job.output} is also an input; overwriting would destroy it",
                    path=job.source,
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


def dry_run(
    files: Sequence[Path], options: StampOptions, shown: PreviewStamp, preview: bool = False
) -> Iterator[DryRun | StampFailure]:
    """Where each file would be stamped (and, with ``preview``, a PNG of that page with the
    picture on it); nothing is signed or spent."""
    from emeterai.stamp import analyse, picture_for, preview_png, read_input

    for path in files:
        try:
            data = read_input(path)
            analysis = analyse(data, str(path), options)
            png = None
            if preview:
                picture = picture_for(
                    analysis,
                    shown.serial,
                    shown.value,
                    shown.issuer,
                    shown.specimen,
                    options.size_mm,
                )
                png = preview_png(data, analysis, picture, password=options.password)
        except EmeteraiError as exc:
            yield StampFailure(str(path), exc.at(path))
            continue
        p = analysis.placement
        yield DryRun(
            file=str(path),
            page=p.page_index + 1,
            rect_pt=rounded_rect(p.rect),
            placement=p.method,
            center_mm=p.center_mm,
            document_sha256=analysis.document_sha256,
            repair=analysis.repair,
            preview_png=png,
        )
