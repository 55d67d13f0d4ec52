"""`emeterai serial check` on the command line (README)."""

from __future__ import annotations

import pytest

from emeterai import serial as serials
from tests.support.cli import _assert_clean_failure, _run


def test_serial_check_accepts_a_well_formed_serial(runner):
    s = serials.generate("ABC")
    result = _run(runner, "serial", "check", serials.grouped(s).lower())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{s}: well formed"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), "wrong check character"),
        (lambda s: s[:-1], "has 21 characters, expected 22"),
        (lambda s: "O" + s[1:], "not in the base32 alphabet"),
    ],
)
def test_serial_check_rejects_with_one_line_on_stderr(runner, make_bad, reason):
    bad = make_bad(serials.generate("ABC"))
    result = _run(runner, "serial", "check", bad)
    line = _assert_clean_failure(result, 1)
    assert reason in line
    assert bad in line
    assert result.stderr.strip() == line
    assert result.stdout == ""
