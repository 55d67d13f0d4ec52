"""pyHanko's own view of a signed PDF, for tests that compare it with emeterai's: validation
contexts trusting given roots, and one that knows nothing but what the file's DSS holds."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def asn1(cert: x509.Certificate) -> Any:
    from asn1crypto import x509 as ax509

    return ax509.Certificate.load(cert.public_bytes(Encoding.DER))


def trusting(roots: Iterable[x509.Certificate]) -> Any:
    """A pyHanko validation context trusting ``roots`` only, fetching nothing."""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(trust_roots=[asn1(c) for c in roots], allow_fetching=False)


def from_dss_alone(data: bytes, roots: Iterable[x509.Certificate]) -> Any:
    """Trusting ``roots``, with revocation *required* and known only from the file's DSS."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    return ValidationContext(
        trust_roots=[asn1(c) for c in roots],
        crls=[bytes(c.get_object().data) for c in dss.crls],
        other_certs=list(dss.load_certs()),
        allow_fetching=False,
        revocation_mode="require",
    )
