"""One exception root for every failure a user can act on.

Each class is one kind of failure; its message is written for the user and must never contain
key material or passphrases. An error names the file it is about once, through ``path``; what
the user could do differently is a :class:`Hint`, which each skin words its own way (the command
line names its flags). The command line turns an error into one stderr line and an exit code.
"""

from __future__ import annotations

import copy
import enum
import logging
import os
import re
import sys
from typing import Any, Self

__all__ = [
    "AlreadyStamped",
    "ArchiveError",
    "ArchiveTooLarge",
    "ConfigError",
    "EmeteraiError",
    "Hint",
    "IssuerError",
    "LedgerError",
    "LedgerUnavailable",
    "NoStampAvailable",
    "NotStamped",
    "OutputError",
    "OutputNotDurable",
    "OutputTooLarge",
    "PassphraseError",
    "PdfError",
    "PlacementOutOfPage",
    "SelfCheckFailed",
    "SerialError",
    "SigningError",
    "StampAlreadyUsed",
    "StampFileError",
    "StampPossiblyUsed",
    "TrustError",
    "UntrustedStampError",
    "UsageError",
    "WalletError",
    "first_line",
    "library_logging",
]


class Hint(enum.StrEnum):
    """What the user can change to get past an error; a skin words it (a flag, a form field)."""

    FORCE = "force"  # overwrite an existing output
    PASSWORD = "password"  # the document's password
    OWNER_PASSWORD = "owner-password"  # an owner-only protected document
    SIZE = "size"  # a smaller stamp
    SIZE_RANGE = "size-range"  # a stamp size within the limits
    PAGE = "page"  # another page
    ALLOW_UNTRUSTED = "allow-untrusted"  # import from an issuer not trusted
    OUTPUT = "output"  # another output name
    ADD_STAMP = "add-stamp"  # a second party's stamp on a stamped document
    SHRINK = "shrink"  # a smaller copy of the document before stamping


def _english(value: object) -> str:
    """A param as the English message shows it: another error by its message, not its path."""
    message = getattr(value, "message", None)
    return message if isinstance(message, str) and isinstance(value, Exception) else str(value)


class EmeteraiError(Exception):
    """Root of every error emeterai reports to a user.

    ``message`` is a template marked for the catalog (``N_("cannot read ({reason})")``) and
    ``params`` fill it: the English text (``message``, ``str()``) is what JSON and logs carry, in
    every language; :meth:`translated` is what a person reads. A message with no params may
    contain braces of its own.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        path: str | os.PathLike[str] | None = None,
        hint: Hint | None = None,
        **params: object,
    ) -> None:
        self.params: dict[str, str] = {k: _english(v) for k, v in params.items()}
        # params that can say themselves in a person's language (another error, a Said)
        self.nested: dict[str, Any] = {
            k: v for k, v in params.items() if callable(getattr(v, "translated", None))
        }
        text = message.format(**self.params) if params else message
        super().__init__(text)
        self.template = message
        self.message: str = text
        self.path = None if path is None else os.fspath(path)
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.path is None else f"{self.path}: {self.message}"

    def translated(self) -> str:
        """The message in the current language (no file name)."""
        from emeterai.i18n import _

        template = _(self.template)
        if not self.params:
            return template
        values = {**self.params, **{k: v.translated() for k, v in self.nested.items()}}
        return template.format(**values)

    def about(self, file: str | None, translate: bool = False) -> str:
        """The message as said about ``file``: it comes first when the error names another one
        (e.g. the output of an input that could not be stamped). ``translate``: in the current
        language, for a person; else English, for JSON."""
        message = self.translated() if translate else self.message
        text = message if self.path is None else f"{self.path}: {message}"
        return text if file is None or self.path == file else f"{file}: {text}"

    def at(self, path: str | os.PathLike[str]) -> Self:
        """This error about ``path``, unless it already names a file."""
        if self.path is not None:
            return self
        named = copy.copy(self)
        named.path = os.fspath(path)
        named.__traceback__ = self.__traceback__
        return named


class UsageError(EmeteraiError):
    """The command line asked for something impossible (exit 2)."""

    exit_code = 2


class SerialError(EmeteraiError):
    """A serial number is not well formed."""


class PassphraseError(EmeteraiError):
    """A passphrase is missing or does not open what it should."""


class IssuerError(EmeteraiError):
    """The issuer CA is missing, already exists, or cannot do what was asked."""


class StampFileError(EmeteraiError):
    """A stamp file (PKCS#12) cannot be read or is not a valid stamp."""


class UntrustedStampError(StampFileError):
    """A stamp does not chain to a trusted issuer root."""


class WalletError(EmeteraiError):
    """The wallet cannot do what was asked."""


class NoStampAvailable(WalletError):
    """The wallet has no stamp left to spend."""


class StampAlreadyUsed(WalletError):
    """The requested stamp was already spent on a document."""


class TrustError(EmeteraiError):
    """A trust-store operation failed (bad certificate, unknown root)."""


class PdfError(EmeteraiError):
    """A PDF cannot be read or stamped."""


class OutputError(EmeteraiError):
    """An output file cannot be written (exists, unwritable folder)."""


class AlreadyStamped(PdfError):
    """The input already carries an e-meterai: stamping it again would spend a second stamp."""


class OutputTooLarge(PdfError):
    """The stamped file would exceed the size the user's upload portal accepts."""


class OutputNotDurable(OutputError):
    """An output was moved into place but its folder could not be synced to disk."""


class SelfCheckFailed(PdfError):
    """The stamped output would not verify valid: it is not written and no stamp is spent."""


class NotStamped(EmeteraiError):
    """A document not tried because an earlier one hit a failure that stops the run."""

    def __init__(self, cause: EmeteraiError, path: str | os.PathLike[str] | None = None) -> None:
        from emeterai.i18n import N_

        super().__init__(N_("not stamped: {cause}"), path=path, hint=cause.hint, cause=cause)
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.cause, self.path))


class StampPossiblyUsed(WalletError):
    """An interrupted stamp may have published an output with this serial: never spent again."""


class SigningError(EmeteraiError):
    """The PDF signature could not be made."""


class LedgerError(EmeteraiError):
    """The ledger asked for cannot be consulted."""


class LedgerUnavailable(LedgerError):
    """The ledger named by the user cannot be opened at all (a usage error: exit 2), found
    before any file is verified."""

    exit_code = 2


class ConfigError(EmeteraiError):
    """Verification cannot start: bad CRL or trust input (a usage error: exit 2)."""

    exit_code = 2


def first_line(exc: BaseException, limit: int = 160) -> str:
    """A library's exception as one short line for a message (it names no file: the caller
    does). pypdf's object names lose their memory address, pyHanko's offsets their doubled 0x."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r"(IndirectObject\(\d+, \d+), \d+\)", r"\1)", text).replace("0x0x", "0x")
    if "'indirect_reference' of 'IndirectObject' object has no setter" in text:
        text = "an object's value is a reference to itself"  # how pypdf trips over '5 0 R' in 5
    return text[:limit]


def library_logging(verbose: bool) -> None:
    """pyHanko logs whole tracebacks (untrusted chains, difference analysis): shown with
    --verbose, silenced otherwise. The CLI and every worker process set it the same way."""
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
    else:
        root.handlers = [logging.NullHandler()]
        root.setLevel(logging.CRITICAL + 1)


class PlacementOutOfPage(UsageError):
    """The stamp's centre was asked for off the page (exit 2): never clamped silently."""


class ArchiveError(EmeteraiError):
    """An uploaded archive of PDFs cannot be read: not a zip, a member damaged or encrypted."""


class ArchiveTooLarge(ArchiveError):
    """An uploaded archive goes over a limit: too many PDFs, or it expands too far (a bomb)."""
