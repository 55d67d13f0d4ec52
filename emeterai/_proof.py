"""Proofs of time and validation data in a document: its timestamps and its DSS (issue 16).

A stamp's claimed signing time (/M, the signing-time attribute) is whatever the stamping
machine's clock said. A *proof* of time is an RFC 3161 timestamp from a trusted timestamp
authority: the stamp's own signature timestamp, or a document timestamp over a later revision
(``emeterai seal``). ETSI EN 319 102-1's best proof of time is the earliest of those.

Levels (PAdES baseline, as a verifier can tell them from the file):

- ``B-B``: a signature, no proof of time;
- ``B-T``: a trusted proof of time (signature timestamp, or a document timestamp covering it);
- ``B-LT``: also the validation data in the DSS: the stamp's certificate and a CRL of its issuer;
- ``B-LTA``: also a trusted document timestamp over a revision that already held that data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography import x509

from emeterai._pdfobjects import entry

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
    from pyhanko_certvalidator import ValidationContext

__all__ = ["DocumentTimestamp", "Level", "dss_crls", "dss_holds", "document_timestamps"]

SIGNATURE_TIMESTAMP_OID = "1.2.840.113549.1.9.16.2.14"


class Level:
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class DocumentTimestamp:
    """One document timestamp: its time, how far into the file it reaches (a signature ends
    before ``covers_to`` when the timestamp covers it), the revision it signed, and whether
    its token matches and comes from a trusted TSA."""

    time: dt.datetime | None
    covers_to: int
    revision: int
    intact: bool
    trusted: bool
    tsa: str = field(default="")


def _end(emb: EmbeddedPdfSignature) -> int:
    br = list(emb.byte_range)
    return int(br[2]) + int(br[3])


def signature_end(emb: EmbeddedPdfSignature) -> int:
    return _end(emb)


def _tsa_name(signed_data: Any) -> str:
    try:
        for choice in signed_data["certificates"] or []:
            cert = choice.chosen
            if cert.subject != cert.issuer:
                return str(cert.subject.human_friendly)
        return str(signed_data["certificates"][0].chosen.subject.human_friendly)
    except Exception:
        return "?"


def document_timestamps(
    signatures: Iterable[EmbeddedPdfSignature], context: ValidationContext
) -> list[DocumentTimestamp]:
    """The document timestamps among ``signatures``, validated against the trusted TSA roots
    in ``context``."""
    from pyhanko.sign.validation import validate_pdf_timestamp

    found = []
    for emb in signatures:
        try:
            status = validate_pdf_timestamp(emb, validation_context=context, skip_diff=True)
            intact = bool(status.intact and status.valid)
            trusted = bool(intact and status.trusted)
            when = status.timestamp
        except Exception:
            intact, trusted, when = False, False, None
        found.append(
            DocumentTimestamp(
                when.astimezone(dt.UTC) if when else None,
                _end(emb),
                emb.signed_revision,
                intact,
                trusted,
                _tsa_name(emb.signed_data),
            )
        )
    return found


def claimed_signature_timestamp(emb: EmbeddedPdfSignature) -> dt.datetime | None:
    """The time in the stamp's signature timestamp token, read without validating it: the
    moment to validate the chain at, confirmed (or not) by the validation."""
    try:
        for info in emb.signed_data["signer_infos"]:
            for attr in info["unsigned_attrs"] or []:
                if attr["type"].dotted == SIGNATURE_TIMESTAMP_OID:
                    token = attr["values"][0]
                    tst = token["content"]["encap_content_info"]["content"].parsed
                    when: dt.datetime = tst["gen_time"].native
                    return when.astimezone(dt.UTC)
    except Exception:
        return None
    return None


def _stream_bytes(item: Any) -> bytes | None:
    try:
        obj = item.get_object()
        return bytes(obj.data)
    except Exception:
        return None


def _dss(root: Any) -> Any:
    return entry(root, "/DSS")


def dss_crls(root: Any) -> list[bytes]:
    """The DER CRLs in the document's DSS (``root`` may be a historical one)."""
    dss = _dss(root)
    items = entry(dss, "/CRLs", []) if dss is not None else []
    return [b for b in (_stream_bytes(i) for i in items or []) if b]


def dss_holds(root: Any, cert: x509.Certificate) -> bool:
    """Does the DSS hold ``cert`` and a CRL from its issuer (the validation data of B-LT)?"""
    dss = _dss(root)
    if dss is None:
        return False
    der = cert.public_bytes(_der())
    certs = [b for b in (_stream_bytes(i) for i in entry(dss, "/Certs", []) or []) if b]
    if der not in certs:
        return False
    for raw in dss_crls(root):
        try:
            if x509.load_der_x509_crl(raw).issuer == cert.issuer:
                return True
        except ValueError:
            continue
    return False


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def historical_root(reader: PdfFileReader, revision: int) -> Any:
    try:
        return reader.get_historical_root(revision)
    except Exception:
        return None
