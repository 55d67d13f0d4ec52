"""What each problem code of ``verify`` means, what usually causes it, and what an office should
do about it (README, "Problem codes"; ``emeterai explain``; the reports of ``verify --report``).

A rank orders the codes from the most fundamental to the least: when one file has several
problems (a re-saved file gets four), the one with the lowest rank is its *main reason*, shown
first and counted in summaries. A document that is not a stamped PDF at all, or whose stamp is
not genuine, says more than the state of a genuine stamp (revoked, reused, expired).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from emeterai.errors import UsageError
from emeterai.i18n import N_, _
from emeterai.verify import Code, Problem

__all__ = [
    "EXPLANATIONS",
    "Explanation",
    "explain",
    "main_first",
    "main_reason",
    "markdown_table",
    "with_table",
]


@dataclass(frozen=True)
class Explanation:
    """One problem code in plain words; ``rank``: lower is the more fundamental reason."""

    code: Code
    rank: int
    meaning: str
    cause: str
    action: str

    def translated(self) -> Explanation:
        """This explanation in the current language (the fields themselves and ``to_json`` stay
        English, for JSON and the README)."""
        return replace(self, meaning=_(self.meaning), cause=_(self.cause), action=_(self.action))

    def to_json(self) -> dict[str, str | int]:
        return {
            "code": self.code,
            "rank": self.rank,
            "meaning": self.meaning,
            "cause": self.cause,
            "action": self.action,
        }


_ALL = (
    Explanation(
        Code.UNREADABLE,
        10,
        N_(
            "the file is not a PDF, is truncated beyond repair, or needs a password that was not given"
        ),
        N_(
            "an upload cut short, a file of another type renamed to .pdf, an encrypted PDF, "
            "or a file that could not be read from disk"
        ),
        N_(
            "ask the applicant to send the stamped PDF again; for an encrypted PDF, verify it "
            "with --password"
        ),
    ),
    Explanation(
        Code.NO_STAMP,
        20,
        N_("the document carries no e-meterai signature"),
        N_(
            "the unstamped original was sent instead of the .emeterai.pdf output, the document "
            "was printed and scanned, or a picture of a stamp was pasted on"
        ),
        N_("ask for the stamped output itself (the .emeterai.pdf file), not a scan or a copy"),
    ),
    Explanation(
        Code.UNTRUSTED_ISSUER,
        30,
        N_("the stamp certificate does not chain to an issuer root this verifier trusts"),
        N_(
            "a stamp from an issuer not added to the trust store, a specimen stamp from a test "
            "issuer, or a forged stamp"
        ),
        N_(
            "if the issuer is a genuine one, add its root (emeterai trust add, or --trust) and "
            "verify again; otherwise refuse the document"
        ),
    ),
    Explanation(
        Code.SIGNATURE_INVALID,
        40,
        N_("the stamp's signature does not match the bytes it signed"),
        N_(
            "the stamped file was saved again, compressed, converted or edited by another program "
            "(even opening and saving it in a PDF editor or an online compressor), or tampered with"
        ),
        N_(
            "refuse the document and ask for the original stamped file, unchanged; a stamped "
            "file must never be re-saved or compressed"
        ),
    ),
    Explanation(
        Code.MODIFIED_AFTER_STAMP,
        50,
        N_(
            "the document was changed after stamping beyond what is allowed (further signatures "
            "and metadata)"
        ),
        N_(
            "text, pages, annotations or form content added after the stamp, e.g. filled in or "
            "commented in a PDF editor after stamping"
        ),
        N_(
            "refuse the document; the applicant must make the changes on the original and stamp "
            "it again"
        ),
    ),
    Explanation(
        Code.SERIAL_MISMATCH,
        60,
        N_(
            "the serial in the certificate, the visible stamp text, the QR code and the signature "
            "disagree"
        ),
        N_("a stamp picture altered or replaced, or a stamp moved from another document"),
        N_("refuse the document; treat it as a possible forgery"),
    ),
    Explanation(
        Code.SERIAL_MALFORMED,
        65,
        N_("the serial's check character is wrong"),
        N_("a serial made up or copied by hand rather than issued"),
        N_("refuse the document; treat it as a possible forgery"),
    ),
    Explanation(
        Code.REVOKED,
        70,
        N_("the serial is on the issuer's revocation list given with --crl"),
        N_("the issuer withdrew the stamp (reported lost, refunded or misused)"),
        N_("refuse the document; the applicant must stamp it again with a valid stamp"),
    ),
    Explanation(
        Code.SERIAL_REUSED,
        80,
        N_("the ledger has already seen this serial on a different document"),
        N_(
            "one stamp copied onto several documents, or one application sent twice in "
            "different versions"
        ),
        N_(
            "compare with the document the ledger names (emeterai ledger reused); accept at most "
            "the first and ask for a new stamp on the other"
        ),
    ),
    Explanation(
        Code.STAMP_EXPIRED,
        90,
        N_(
            "the stamp was applied outside its certificate's validity period (judged at the best "
            "proof of time)"
        ),
        N_("a stamp used after its expiry date, or a signer's clock far off"),
        N_("ask the applicant to stamp again with a valid stamp"),
    ),
    Explanation(
        Code.SIGNING_TIME_INVALID,
        100,
        N_("the stamp claims a signing time in the future of the verification time"),
        N_(
            "the verifying machine's clock is behind, or the signer's clock was ahead or the time "
            "was forged"
        ),
        N_("check this machine's clock; otherwise ask for a stamp with a timestamp (stamp --tsa)"),
    ),
    Explanation(
        Code.STAMP_NOT_SHOWN,
        110,
        N_(
            "the stamp's picture is missing, hidden, not printed, too small or off the visible page"
        ),
        N_(
            "the stamp placed outside the page, or its annotation hidden or removed by another program"
        ),
        N_(
            "refuse the document; the applicant must stamp it again with the stamp visible on the page"
        ),
    ),
    Explanation(
        Code.UNTRUSTED_TIMESTAMP,
        95,
        N_(
            "a timestamp on the stamp (its own, or a seal's document timestamp) comes from a "
            "timestamp authority this verifier does not trust, so it proves no time"
        ),
        N_("a seal made with another timestamp authority, or a timestamp forged to back-date"),
        N_(
            "if the timestamp authority is a genuine one, trust it (emeterai trust add --tsa, or "
            "--tsa-trust) and verify again; otherwise refuse the document"
        ),
    ),
    Explanation(
        Code.LEDGER_UNAVAILABLE,
        120,
        N_("the ledger asked for with --ledger could not be consulted, so reuse was not ruled out"),
        N_("the ledger's database is unreachable, locked, full or refused the write"),
        N_(
            "fix the ledger (path, network, permissions) and verify the file again; the document "
            "itself may be fine"
        ),
    ),
)

EXPLANATIONS: dict[Code, Explanation] = {e.code: e for e in _ALL}


def explain(code: str) -> Explanation:
    """The explanation of ``code`` (its JSON value, e.g. ``"serial-reused"``); an unknown code
    is a usage error naming the valid ones."""
    try:
        return EXPLANATIONS[Code(code.strip().lower())]
    except ValueError:
        valid = ", ".join(EXPLANATIONS)
        raise UsageError(
            N_("unknown problem code {code}; the codes are: {valid}"), code=repr(code), valid=valid
        ) from None


def main_first(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """``problems`` with the main reason first: by rank, in their order within one rank."""
    return tuple(sorted(problems, key=lambda p: EXPLANATIONS[p.code].rank))


def main_reason(problems: Iterable[Problem]) -> Problem | None:
    """The problem that best says why a file is invalid, or None for a valid file."""
    ordered = main_first(problems)
    return ordered[0] if ordered else None


def markdown_table() -> str:
    """The README's problem-code table (kept equal to this module by a test)."""
    rows = ["| code | meaning | usual cause | what to do |", "|---|---|---|---|"]
    for e in sorted(_ALL, key=lambda e: e.rank):
        cells = (f"`{e.code}`", e.meaning, e.cause, e.action)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


TABLE_START = (
    "<!-- problem codes: generated from emeterai/problems.py by scripts/problem_codes.py -->"
)
TABLE_END = "<!-- end of problem codes -->"


def with_table(readme: str) -> str:
    """``readme`` with the text between its table markers replaced by :func:`markdown_table`."""
    start = readme.find(TABLE_START)
    end = readme.find(TABLE_END, start)
    if start < 0 or end < 0:
        raise ValueError(f"the README has no {TABLE_START!r} ... {TABLE_END!r} markers")
    head = readme[: start + len(TABLE_START)]
    return f"{head}\n{markdown_table()}{readme[end:]}"
