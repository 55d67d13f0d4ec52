"""The library's errors name no command-line flag; the command line words each hint."""

from __future__ import annotations

import re

import pytest

from emeterai.cli._common import HINTS, describe
from emeterai.errors import Hint, OutputError


@pytest.mark.parametrize("hint", list(Hint))
def test_every_hint_is_worded_with_a_flag(hint):
    assert re.search(r"(^|\W)--?[a-z]", HINTS[hint]), HINTS[hint]


def test_the_error_line_names_the_input_first_when_the_error_is_about_the_output():
    error = OutputError("already exists", path="out.pdf", hint=Hint.FORCE)
    assert describe(error) == "out.pdf: already exists (use --force to overwrite)"
    assert describe(error, about="in.pdf") == (
        "in.pdf: out.pdf: already exists (use --force to overwrite)"
    )
    assert describe(error, about="out.pdf") == describe(error)
