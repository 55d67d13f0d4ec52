"""Serial numbers (README): format, check character, generation."""

from __future__ import annotations

import functools
import operator
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emeterai import serial as serials
from emeterai.errors import SerialError

ALPHABET = serials.ALPHABET
PREFIX = "T5T"


@pytest.fixture(scope="module")
def many_serials() -> list[str]:
    return [serials.generate(PREFIX) for _ in range(10_000)]


@functools.cache
def contribution_table() -> tuple[tuple[int, ...], ...]:
    """table[i][v]: what symbol v at position i adds (XOR, in GF(32)) to the module's check sum.

    Measured on the module's own ``_weighted_sum``, the function ``parse`` relies on; that this
    linear model predicts ``parse`` exactly is itself checked below, so the exhaustive tests can
    evaluate hundreds of thousands of variants in a fraction of a second.
    """
    zeros = ALPHABET[0] * serials.LENGTH
    return tuple(
        tuple(serials._weighted_sum(zeros[:i] + c + zeros[i + 1 :]) for c in ALPHABET)
        for i in range(serials.LENGTH)
    )


def model_sum(text: str) -> int:
    table = contribution_table()
    return functools.reduce(
        operator.xor, (table[i][ALPHABET.index(c)] for i, c in enumerate(text)), 0
    )


def substitutions(serial: str):
    for i, original in enumerate(serial):
        for c in ALPHABET:
            if c != original:
                yield serial[:i] + c + serial[i + 1 :]


def transpositions(serial: str):
    for i in range(len(serial) - 1):
        if serial[i] != serial[i + 1]:
            yield serial[:i] + serial[i + 1] + serial[i] + serial[i + 2 :]


# -- generation -------------------------------------------------------------------------------


def test_ten_thousand_generated_serials_are_distinct_and_well_formed(many_serials):
    assert len(set(many_serials)) == len(many_serials) == 10_000
    for s in many_serials:
        assert len(s) == serials.LENGTH == 22
        assert set(s) <= set(ALPHABET)
        assert serials.parse(s) == s


def test_generation_keeps_the_issuer_prefix(many_serials):
    assert all(s.startswith(PREFIX) for s in many_serials)
    other = serials.issuer_prefix(b"another issuer key")
    assert len(other) == serials.PREFIX_LENGTH and set(other) <= set(ALPHABET)
    assert serials.generate(other).startswith(other)


def test_issuer_prefix_is_deterministic_and_depends_on_the_issuer():
    assert serials.issuer_prefix(b"key A") == serials.issuer_prefix(b"key A")
    prefixes = {serials.issuer_prefix(f"key {i}".encode()) for i in range(50)}
    assert len(prefixes) > 40


def test_serial_carries_at_least_90_random_bits(many_serials):
    assert serials.RANDOM_BITS >= 90
    assert serials.RANDOM_LENGTH * 5 == serials.RANDOM_BITS
    # Every random position takes every one of the 32 symbols across 10,000 serials: the random
    # part really is RANDOM_LENGTH full base32 symbols (a missing symbol has odds ~ 32 * e^-312).
    random_part = slice(serials.PREFIX_LENGTH, serials.PREFIX_LENGTH + serials.RANDOM_LENGTH)
    for offset, column in enumerate(zip(*(s[random_part] for s in many_serials), strict=True)):
        assert set(column) == set(ALPHABET), f"random position {offset} lacks symbols"


@pytest.mark.parametrize("prefix", ["", "AB", "ABCD", "AIL", "ab!"])
def test_generate_rejects_a_bad_prefix(prefix):
    with pytest.raises(SerialError, match="prefix must be 3 base32 characters"):
        serials.generate(prefix)


# -- the check character ------------------------------------------------------------------------


def test_contribution_model_predicts_parse_exactly(many_serials):
    """Guards the fast exhaustive test below: model and parse agree on 70,000+ variants."""
    for s in many_serials[:100]:
        assert model_sum(s) == 0
        for variant in [*substitutions(s), *transpositions(s)]:
            assert serials.is_valid(variant) == (model_sum(variant) == 0), variant
    rng = random.Random(1)
    for _ in range(2000):
        text = "".join(rng.choice(ALPHABET) for _ in range(serials.LENGTH))
        assert serials.is_valid(text) == (model_sum(text) == 0), text


def test_substitutions_and_transpositions_fail_parse_directly(many_serials):
    """The real parse on every variant of 100 serials."""
    for s in many_serials[:100]:
        subs = list(substitutions(s))
        assert len(subs) == 22 * 31
        for variant in subs:
            with pytest.raises(SerialError, match="wrong check character"):
                serials.parse(variant)
        for variant in transpositions(s):
            assert not serials.is_valid(variant), variant


def test_every_substitution_and_adjacent_transposition_of_1000_serials_is_caught(many_serials):
    table = contribution_table()
    index = {c: i for i, c in enumerate(ALPHABET)}
    checked_subs = checked_swaps = 0
    for s in many_serials[:1000]:
        values = [index[c] for c in s]
        assert functools.reduce(operator.xor, (table[i][v] for i, v in enumerate(values)), 0) == 0
        for i, a in enumerate(values):
            row = table[i]
            for b in range(32):
                if b != a:
                    # The variant's sum is the valid serial's (0) with a's term swapped for b's.
                    assert row[a] ^ row[b] != 0, (s, i, ALPHABET[b])
                    checked_subs += 1
        for i in range(len(values) - 1):
            a, b = values[i], values[i + 1]
            if a != b:
                delta = table[i][a] ^ table[i][b] ^ table[i + 1][b] ^ table[i + 1][a]
                assert delta != 0, (s, i)
                checked_swaps += 1
    assert checked_subs == 1000 * 22 * 31
    assert checked_swaps > 1000 * 19


def test_check_char_completes_a_body():
    body = PREFIX + "0" * 18
    full = body + serials.check_char(body)
    assert serials.parse(full) == full
    with pytest.raises(SerialError, match="21 base32 characters"):
        serials.check_char(body + "0")
    with pytest.raises(SerialError, match="21 base32 characters"):
        serials.check_char(body[:-1] + "U")


# -- accepted spellings and error messages ------------------------------------------------------


def test_parse_is_case_insensitive_and_accepts_dash_grouping(many_serials):
    s = many_serials[0]
    assert serials.parse(s.lower()) == s
    assert serials.parse(serials.grouped(s)) == s
    assert serials.parse(serials.grouped(s).lower()) == s
    assert serials.parse(f"  {s[:11]}-{s[11:]}  ") == s
    assert serials.grouped(s).count("-") == 5


@pytest.mark.parametrize(
    ("text", "length"), [("", 0), ("ABC", 3), ("0" * 21, 21), ("0" * 23, 23), ("0" * 44, 44)]
)
def test_wrong_length_names_the_length(text, length):
    with pytest.raises(SerialError, match=f"has {length} characters, expected 22") as info:
        serials.parse(text)
    assert repr(text) in info.value.message


@pytest.mark.parametrize("bad", ["I", "L", "O", "U", "!", "_"])
def test_character_outside_the_alphabet_is_named(bad, many_serials):
    text = many_serials[1][:10] + bad + many_serials[1][11:]
    with pytest.raises(SerialError, match="not in the base32 alphabet") as info:
        serials.parse(text)
    assert f"contains {bad!r}" in info.value.message


def test_wrong_check_character_is_reported_as_such(many_serials):
    s = many_serials[2]
    wrong = s[:-1] + ("0" if s[-1] != "0" else "1")
    with pytest.raises(SerialError, match=r"wrong check character \(mistyped\?\)"):
        serials.parse(wrong)


# -- properties ---------------------------------------------------------------------------------

bodies = st.text(alphabet=ALPHABET, min_size=21, max_size=21)


@settings(max_examples=300, deadline=None)
@given(body=bodies, lower=st.booleans(), group=st.booleans())
def test_property_check_char_makes_the_only_valid_completion(body, lower, group):
    full = body + serials.check_char(body)
    spelled = serials.grouped(full) if group else full
    spelled = spelled.lower() if lower else spelled
    assert serials.parse(spelled) == full
    others = [body + c for c in ALPHABET if c != full[-1]]
    assert not any(serials.is_valid(o) for o in others)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_property_parse_returns_canonical_or_raises_serial_error(text):
    try:
        result = serials.parse(text)
    except SerialError as exc:
        assert exc.message
    else:
        assert len(result) == 22 and set(result) <= set(ALPHABET)
        assert serials.parse(result) == result


@pytest.mark.parametrize("lookalike", ["\u017f", "\ufb00"])
def test_non_ascii_characters_that_upper_case_to_ascii_are_refused(lookalike):
    good = serials.generate("ABC")
    bad = lookalike + good[len(lookalike.upper()) :]
    assert bad.upper()[: len(lookalike.upper())].isascii()
    with pytest.raises(SerialError, match="outside the base32 alphabet"):
        serials.parse(bad)
