"""What every part of the test suite shares: the passphrases, the project root, and the rule
for a missing tool or corpus.

``require_tool`` and ``corpus_dir`` skip a test locally when something is missing, but fail it
under CI (the environment variable CI set), where everything must be installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PASSPHRASE = "test-passphrase"
STAMP_PASSPHRASE = "buyer-stamp-passphrase"  # what a seller gives buyers, never the issuer's
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    """True when the environment variable CI is set (to anything but an explicit 'no')."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of executable ``name``; skips the test when it is missing (fails under CI)."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not installed")
    assert path is not None
    return path


def corpus_dir() -> Path:
    """The shared PDF corpus (../shared/corpus beside the project); skips when absent (fails under CI)."""
    path = (PROJECT_ROOT.parent / "shared" / "corpus").resolve()
    if not path.is_dir():
        _missing(f"PDF corpus not found at {path}")
    return path
