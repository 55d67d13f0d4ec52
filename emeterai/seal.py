"""Sealing: validation data and a document timestamp added to a stamped PDF after the fact.

An applicant stamps offline, so a stamp's signing time is only what their clock said, and the
revocation data is whatever a verifier has on the day. Sealing, whenever a network is there,
adds as incremental updates (README, "Long-term validity"):

1. the validation data of every signature and timestamp in the file: the certificates of their
   chains and the issuers' CRLs, in the document security store (DSS): PAdES B-LT;
2. an RFC 3161 document timestamp over the whole file: PAdES B-LTA, and a proof that every
   stamp in it existed at that time.

Sealing a sealed file again adds fresh data and a new document timestamp (archive renewal). The
bytes of the input are kept as they are (the output starts with them), and the output must
verify as the input did: every stamp that was valid stays valid, or nothing is written.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emeterai._proof import SIGNATURE_TIMESTAMP_OID
from emeterai.errors import ConfigError, PdfError, SigningError, first_line
from emeterai.i18n import N_

__all__ = ["SealResult", "default_output", "seal"]


@dataclass(frozen=True)
class SealResult:
    """What one sealing added."""

    file: str
    output: str | None
    stamps: int  # e-meterai signatures now covered by the document timestamp
    certificates: int  # certificates in the file's DSS after sealing
    crls: int  # CRLs in the file's DSS after sealing
    timestamp: str  # the document timestamp's time, ISO 8601
    bytes_added: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "output": self.output,
            "stamps": self.stamps,
            "certificates": self.certificates,
            "crls": self.crls,
            "timestamp": self.timestamp,
            "bytes_added": self.bytes_added,
        }


def default_output(name: str) -> str:
    """``lamaran.emeterai.pdf`` -> ``lamaran.emeterai.sealed.pdf``."""
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    return f"{stem}.sealed.pdf"


def _certificates(signed_data: Any) -> list[Any]:
    """The certificates a CMS SignedData carries, and those of its signature timestamps."""
    from asn1crypto import cms

    found = [c.chosen for c in signed_data["certificates"] or [] if c.name == "certificate"]
    for info in signed_data["signer_infos"]:
        for attr in info["unsigned_attrs"] or []:
            if attr["type"].dotted != SIGNATURE_TIMESTAMP_OID:
                continue
            for token in attr["values"]:
                inner = (
                    token
                    if isinstance(token, cms.ContentInfo)
                    else cms.ContentInfo.load(token.dump())
                )
                found.extend(_certificates(inner["content"]))
    return found


def _crl_from_an_issuer(data: bytes, source: str, file: str, certs: Sequence[Any]) -> Any:
    """The CRL in ``data`` (for the DSS), if the issuer of a certificate in ``file`` signed
    it; ConfigError naming ``source`` otherwise."""
    from asn1crypto import crl as acrl
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from emeterai._x509util import crl_signed_by, load_crl

    try:
        crl = load_crl(data)
    except ValueError:
        raise ConfigError(N_("not an X.509 CRL (PEM or DER)"), path=source) from None
    issuers = [x509.load_der_x509_certificate(c.dump()) for c in certs]
    if not crl_signed_by(crl, issuers):
        raise ConfigError(
            N_("this CRL is not from the issuer of any stamp in {file}"), path=source, file=file
        )
    return acrl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))


def seal(
    data: bytes,
    source: str,
    tsa_url: str,
    crls: Sequence[tuple[str, bytes]] = (),
    output: str | None = None,
) -> tuple[bytes, SealResult]:
    """The sealed document and what was added. ``crls`` are (name, bytes) of the issuers'
    revocation lists; each must be signed by the issuer of a certificate in the document.
    Raises PdfError for a document without an e-meterai, SigningError when the TSA cannot
    be reached or answers badly, PdfError when the sealed file would not verify as the input."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    from emeterai import _pyhanko
    from emeterai.verify import _looks_like_stamp

    with _pyhanko.patched():
        try:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            embedded = list(reader.embedded_signatures)
        except Exception as exc:
            raise PdfError(
                N_("cannot read ({reason})"), path=source, reason=first_line(exc)
            ) from None
        stamps = [e for e in embedded if _looks_like_stamp(e)]
        if not stamps:
            raise PdfError(N_("carries no e-meterai: there is nothing to seal"), path=source)
        certs: dict[bytes, Any] = {}
        for emb in embedded:
            for cert in _certificates(emb.signed_data):
                certs[cert.dump()] = cert
        crl_objects = [
            _crl_from_an_issuer(raw, name, source, list(certs.values())) for name, raw in crls
        ]

        buffer = io.BytesIO(data)
        DocumentSecurityStore.add_dss(
            buffer, None, certs=list(certs.values()), crls=crl_objects or None, strict=False
        )
        with_dss = buffer.getvalue()
        writer = IncrementalPdfFileWriter(io.BytesIO(with_dss), strict=False)
        out = io.BytesIO()
        try:
            PdfTimeStamper(HTTPTimeStamper(tsa_url, timeout=30)).timestamp_pdf(
                writer, "sha256", output=out
            )
        except Exception as exc:
            raise SigningError(
                N_("cannot get a timestamp from {url} ({reason})"),
                path=source,
                url=tsa_url,
                reason=first_line(exc),
            ) from None
        sealed = out.getvalue()
        if not sealed.startswith(data):
            raise PdfError(N_("internal check failed: sealing changed earlier bytes"), path=source)
        sealed_reader = PdfFileReader(io.BytesIO(sealed), strict=False)
        dss = DocumentSecurityStore.read_dss(sealed_reader)
        latest = sealed_reader.embedded_timestamp_signatures[-1]
        when = latest.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    _still_valid(data, sealed, source)
    result = SealResult(
        file=source,
        output=output,
        stamps=len(stamps),
        certificates=len(dss.certs),
        crls=len(dss.crls),
        timestamp=when.isoformat(),
        bytes_added=len(sealed) - len(data),
    )
    return sealed, result


def _still_valid(before: bytes, after: bytes, source: str) -> None:
    """Every stamp that verified in the input (trusting the roots the stamps carry, whatever
    this machine trusts) verifies in the output. A revocation the embedded CRL tells is a fact
    about the stamp, not damage done by sealing: it is not held against the seal."""
    from emeterai._existing import verify_trusting_embedded_roots
    from emeterai.verify import REVOKED, UNTRUSTED_ISSUER, UNTRUSTED_TIMESTAMP

    ignored = {UNTRUSTED_ISSUER, UNTRUSTED_TIMESTAMP, REVOKED}

    def valid(data: bytes) -> dict[str | None, list[Any]]:
        result = verify_trusting_embedded_roots(data, source)
        return {s.serial: [p for p in s.problems if p.code not in ignored] for s in result.stamps}

    was, now = valid(before), valid(after)
    for serial, problems in was.items():
        if not problems and now.get(serial):
            raise PdfError(
                N_("sealing would make stamp {serial} invalid ({code}); nothing written"),
                path=source,
                serial=serial,
                code=now[serial][0].code,
            )
