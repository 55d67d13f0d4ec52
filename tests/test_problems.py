"""The problem codes explained (emeterai/problems.py): every code has its words and a rank, the
main reason of several comes first, and the README's table is the one the module makes."""

from __future__ import annotations

import pytest

from emeterai.errors import UsageError
from emeterai.problems import (
    EXPLANATIONS,
    TABLE_END,
    TABLE_START,
    explain,
    main_first,
    main_reason,
    markdown_table,
    with_table,
)
from emeterai.verify import Code, Problem
from tests.support.common import PROJECT_ROOT


def test_every_code_is_explained_in_one_line_each_with_its_own_rank():
    assert set(EXPLANATIONS) == set(Code)
    ranks = [e.rank for e in EXPLANATIONS.values()]
    assert len(set(ranks)) == len(ranks)
    for code, e in EXPLANATIONS.items():
        assert e.code is code
        for text in (e.meaning, e.cause, e.action):
            assert text.strip() and "\n" not in text and "|" not in text, (code, text)
        assert e.to_json() == {
            "code": str(code),
            "rank": e.rank,
            "meaning": e.meaning,
            "cause": e.cause,
            "action": e.action,
        }


def test_explain_takes_the_json_value_in_any_case():
    assert explain("Modified-After-Stamp") is EXPLANATIONS[Code.MODIFIED_AFTER_STAMP]
    assert explain(" serial-reused ") is EXPLANATIONS[Code.SERIAL_REUSED]


def test_an_unknown_code_is_a_usage_error_listing_every_code():
    with pytest.raises(UsageError) as caught:
        explain("modified")
    assert caught.value.exit_code == 2
    assert "'modified'" in caught.value.message
    for code in Code:
        assert str(code) in caught.value.message


def test_the_main_reason_comes_first_and_equal_ranks_keep_their_order():
    """verify lists a hidden stamp on a changed file as stamp-not-shown, then
    modified-after-stamp: the change is the main reason."""
    hidden = Problem(Code.STAMP_NOT_SHOWN, "the stamp's annotation is hidden")
    changed = Problem(Code.MODIFIED_AFTER_STAMP, "changed after stamping")
    first = Problem(Code.SIGNATURE_INVALID, "first")
    second = Problem(Code.SIGNATURE_INVALID, "second")
    assert main_first([hidden, changed]) == (changed, hidden)
    assert main_first([hidden, first, changed, second]) == (first, second, changed, hidden)
    assert main_reason([hidden, changed]) is changed
    assert main_reason([]) is None


def test_a_not_genuine_stamp_outranks_the_state_of_a_genuine_one():
    rank = {code: e.rank for code, e in EXPLANATIONS.items()}
    for fundamental in (Code.UNREADABLE, Code.NO_STAMP, Code.UNTRUSTED_ISSUER):
        for state in (Code.REVOKED, Code.SERIAL_REUSED, Code.STAMP_EXPIRED):
            assert rank[fundamental] < rank[state]
    assert rank[Code.SIGNATURE_INVALID] < rank[Code.MODIFIED_AFTER_STAMP]


def test_the_markdown_table_has_one_row_per_code_in_rank_order():
    lines = markdown_table().splitlines()
    assert lines[0].startswith("| code | meaning |")
    rows = lines[2:]
    by_rank = sorted(EXPLANATIONS.values(), key=lambda e: e.rank)
    assert [r.split("|")[1].strip() for r in rows] == [f"`{e.code}`" for e in by_rank]
    for row, e in zip(rows, by_rank, strict=True):
        assert e.meaning in row and e.cause in row and e.action in row


def test_the_readme_table_is_the_one_problems_py_makes():
    """Out of date? Run: python scripts/problem_codes.py"""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(TABLE_START) == 1 and readme.count(TABLE_END) == 1
    assert with_table(readme) == readme, "README.md: run python scripts/problem_codes.py"


def test_with_table_replaces_only_between_the_markers():
    stale = f"# x\nbefore\n{TABLE_START}\n| old | table |\n{TABLE_END}\nafter\n"
    fresh = with_table(stale)
    assert fresh == f"# x\nbefore\n{TABLE_START}\n{markdown_table()}{TABLE_END}\nafter\n"
    assert with_table(fresh) == fresh
    with pytest.raises(ValueError):
        with_table("# a README without the markers\n")
