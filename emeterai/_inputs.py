"""The PDF files a command line names: folders expanded, emeterai's own outputs told apart.

Kept apart from ``plan`` (stamping's planner), so that ``emeterai verify`` finds its files
without importing what stamping needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def is_stamped_output(path: Path) -> bool:
    """Is ``path`` named as emeterai names its outputs (``x.emeterai.pdf``)?"""
    return path.name.lower().endswith(".emeterai.pdf")


def expand_pdfs(paths: Sequence[Path], skip_outputs: bool = False) -> tuple[list[Path], list[Path]]:
    """The PDF files named by ``paths`` (a folder: its PDFs, recursively, sorted), and the
    folders that held none. ``skip_outputs`` leaves a folder's ``*.emeterai.pdf`` out, so that
    stamping a folder twice does not stamp the first run's outputs; a file named on its own
    is always kept (and refused as stamped if it is)."""
    files: list[Path] = []
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() == ".pdf"
                and p.is_file()
                and not (skip_outputs and is_stamped_output(p))
            )
            if not found:
                empty.append(path)
            files.extend(found)
        else:
            files.append(path)
    return files, empty
