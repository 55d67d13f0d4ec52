"""Stamp serial numbers (README, "Serial numbers").

A serial is 22 Crockford base32 characters: a 3-character issuer prefix, 18 random characters
(90 bits from the OS CSPRNG) and one check character. The check character makes the weighted sum
of all 22 symbols, taken in GF(32), equal to zero, with distinct non-zero weights alpha^k. In a
field, a single substitution changes the sum by w*(a-b) != 0 and swapping neighbours by
(w1-w2)*(a-b) != 0, so every single-character substitution and every adjacent transposition is
caught (the tests check this exhaustively).
"""

from __future__ import annotations

import hashlib
import secrets

from emeterai.errors import SerialError
from emeterai.i18n import N_

__all__ = [
    "ALPHABET",
    "LENGTH",
    "PREFIX_LENGTH",
    "RANDOM_BITS",
    "RANDOM_LENGTH",
    "check_char",
    "generate",
    "grouped",
    "is_valid",
    "issuer_prefix",
    "normalize",
    "parse",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 22
PREFIX_LENGTH = 3
RANDOM_LENGTH = LENGTH - PREFIX_LENGTH - 1
RANDOM_BITS = RANDOM_LENGTH * 5

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


def _gf_mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return result


def _weights() -> tuple[int, ...]:
    """alpha^(21..0): the weight of each position, the check character's being 1."""
    powers = [1]
    for _ in range(LENGTH - 1):
        powers.append(_gf_mul(powers[-1], 2))
    return tuple(reversed(powers))


_WEIGHTS = _weights()


def _weighted_sum(symbols: str) -> int:
    total = 0
    for weight, char in zip(_WEIGHTS, symbols, strict=False):
        total ^= _gf_mul(weight, _VALUE[char])
    return total


def check_char(body: str) -> str:
    """The check character that completes the 21-character ``body``."""
    if len(body) != LENGTH - 1 or any(c not in _VALUE for c in body):
        raise SerialError(N_("serial body must be {count} base32 characters"), count=LENGTH - 1)
    # The check position has weight 1, and in characteristic 2 minus is plus.
    return ALPHABET[_weighted_sum(body)]


def normalize(text: str) -> str:
    """Upper-case ``text`` and drop '-' grouping and spaces; no validation."""
    return text.strip().upper().replace("-", "").replace(" ", "")


def parse(text: str) -> str:
    """Return the canonical form of a serial, or raise SerialError saying what is wrong."""
    if not text.isascii():
        raise SerialError(
            N_("serial {serial} contains characters outside the base32 alphabet {alphabet}"),
            serial=repr(text),
            alphabet=ALPHABET,
        )
    serial = normalize(text)
    if len(serial) != LENGTH:
        raise SerialError(
            N_("serial {serial} has {count} characters, expected {expected}"),
            serial=repr(text),
            count=len(serial),
            expected=LENGTH,
        )
    bad = sorted({c for c in serial if c not in _VALUE})
    if bad:
        raise SerialError(
            N_("serial {serial} contains {bad}, not in the base32 alphabet {alphabet}"),
            serial=repr(text),
            bad=repr("".join(bad)),
            alphabet=ALPHABET,
        )
    if _weighted_sum(serial) != 0:
        raise SerialError(
            N_("serial {serial} has a wrong check character (mistyped?)"), serial=repr(text)
        )
    return serial


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except SerialError:
        return False
    return True


def issuer_prefix(issuer_id: bytes) -> str:
    """A 3-character prefix derived from an issuer's identity (e.g. its public key)."""
    n = int.from_bytes(hashlib.sha256(issuer_id).digest()[:2], "big") >> 1
    return "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(PREFIX_LENGTH)))


def generate(prefix: str) -> str:
    """A fresh serial: ``prefix``, 90 random bits, check character."""
    if len(prefix) != PREFIX_LENGTH or any(c not in _VALUE for c in prefix):
        raise SerialError(
            N_("issuer prefix must be {count} base32 characters"), count=PREFIX_LENGTH
        )
    n = secrets.randbits(RANDOM_BITS)
    body = prefix + "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(RANDOM_LENGTH)))
    return body + check_char(body)


def grouped(serial: str) -> str:
    """Display form in groups of four, e.g. ``ABCD-EFGH-...``; parse() accepts it back."""
    return "-".join(serial[i : i + 4] for i in range(0, len(serial), 4))
