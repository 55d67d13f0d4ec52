"""One exception root for every failure a user can act on.

Each class is one kind of failure; its message is written for the user and must never contain
key material or passphrases. The CLI turns them into one stderr line and an exit code.
"""

from __future__ import annotations


class EmeteraiError(Exception):
    """Root of every error emeterai reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


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


class SigningError(EmeteraiError):
    """The PDF signature could not be made."""


class LedgerError(EmeteraiError):
    """The ledger asked for cannot be consulted."""
