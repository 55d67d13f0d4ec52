"""`emeterai explain [CODE]`: every problem code in plain words, from emeterai/problems.py."""

from __future__ import annotations

import pytest

from emeterai.problems import EXPLANATIONS
from emeterai.verify import Code
from tests.support.cli import _assert_clean_failure, json_lines, run


def test_explain_without_a_code_lists_every_code_with_its_meaning(runner):
    result = run(runner, "explain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    by_rank = sorted(EXPLANATIONS.values(), key=lambda e: e.rank)
    assert [ln.split()[0] for ln in lines] == [str(e.code) for e in by_rank]
    for line, e in zip(lines, by_rank, strict=True):
        assert line.endswith(e.meaning)
    assert {e.code for e in by_rank} == set(Code)


@pytest.mark.parametrize("code", list(Code))
def test_explain_code_says_meaning_cause_and_what_to_do(runner, code):
    e = EXPLANATIONS[code]
    result = run(runner, "explain", str(code))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(code),
        f"  meaning:      {e.meaning}",
        f"  usual cause:  {e.cause}",
        f"  what to do:   {e.action}",
    ]


def test_explain_json(runner):
    (one,) = json_lines(run(runner, "explain", "serial-reused", "--json"))
    assert one == EXPLANATIONS[Code.SERIAL_REUSED].to_json()
    every = json_lines(run(runner, "explain", "--json"))
    assert {o["code"] for o in every} == {str(c) for c in Code}


def test_an_unknown_code_is_a_usage_error_listing_the_valid_ones(runner):
    result = run(runner, "explain", "modified")
    line = _assert_clean_failure(result, code=2)
    assert "unknown problem code 'modified'" in line
    for code in Code:
        assert str(code) in line
    assert result.stdout == ""
