"""The e-meterai an input already carries, found before a stamp is reserved.

Running ``emeterai stamp`` twice over a folder, or on its own output, would spend a second stamp
on a document that needs one. A stamp already in the input is therefore refused unless the user
asks for a second party's stamp (``add_stamp``).

"Carries an e-meterai" is judged without the verifier's trust decision: the earlier stamp may
come from an issuer this machine does not trust, and it is still a stamp someone paid for. Its
signature, its binding and what changed after it are checked by the full verifier, trusting the
root that the stamp itself embeds; a stamp that fails those checks is reported as such, since a
new stamp would not make that document valid either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emeterai._pdfobjects import entry, field_tree_problem
from emeterai.errors import AlreadyStamped, Hint, PdfError
from emeterai.i18n import N_

if TYPE_CHECKING:
    import pypdf
    from cryptography import x509

__all__ = ["EarlierStamp", "earlier_stamps", "refuse_stamped"]


@dataclass(frozen=True)
class EarlierStamp:
    """A stamp found in the input: its serial, page (1-based, when shown) and, when it no
    longer verifies, the main reason why."""

    serial: str
    page: int | None
    problem: str | None = None


def _signed_fields(reader: pypdf.PdfReader) -> list[Any]:
    """The signature dictionaries (/V) of the form's signature fields: cheap, no pyHanko. A
    field's type may be inherited from its parent, as in the verifier (pyHanko)."""
    root: Any = reader.trailer["/Root"]
    fields = entry(entry(root, "/AcroForm", {}), "/Fields")
    problem = field_tree_problem(fields)
    if problem is not None:
        raise PdfError(N_("the PDF is damaged: {problem}"), problem=problem)
    found: list[Any] = []
    stack: list[tuple[Any, Any]] = [(fields, None)] if isinstance(fields, list) else []
    while stack:  # each field once: field_tree_problem has ruled out shared and cyclic kids
        kids, inherited_type = stack.pop()
        for ref in kids:
            node = ref.get_object()
            if not hasattr(node, "get"):
                continue
            field_type = entry(node, "/FT", inherited_type)
            value = entry(node, "/V")
            if field_type == "/Sig" and value is not None and hasattr(value, "get"):
                found.append(value)
            grandkids = entry(node, "/Kids")
            if isinstance(grandkids, list):
                stack.append((grandkids, field_type))
    return found


def _embedded_roots(signatures: list[Any]) -> list[x509.Certificate]:
    """The self-signed certificates the signatures carry (their issuers' roots)."""
    from asn1crypto import cms
    from cryptography import x509

    roots: dict[bytes, x509.Certificate] = {}
    for sig in signatures:
        try:
            contents = bytes(sig.get_object()["/Contents"])
            signed = cms.ContentInfo.load(contents)["content"]
            for choice in signed["certificates"] or []:
                der = choice.chosen.dump()
                cert = x509.load_der_x509_certificate(der)
                if cert.subject == cert.issuer:
                    roots[der] = cert
        except Exception:  # a damaged signature: the verifier reports it
            continue
    return list(roots.values())


def earlier_stamps(
    reader: pypdf.PdfReader, data: bytes, source: str, password: str | None
) -> list[EarlierStamp]:
    """Every e-meterai in ``data``, in signing order; empty (and cheap) for unsigned files."""
    signatures = _signed_fields(reader)
    if not signatures:
        return []
    from emeterai.verify import UNTRUSTED_ISSUER, Verifier

    result = Verifier(_embedded_roots(signatures)).verify(data, source, password)
    found = []
    for stamp in result.stamps:
        if stamp.serial is None:
            continue
        problems = [p for p in stamp.problems if p.code != UNTRUSTED_ISSUER]
        problem = f"{problems[0].code}: {problems[0].detail}" if problems else None
        found.append(EarlierStamp(stamp.serial, stamp.page, problem))
    return found


def refuse_stamped(reader: pypdf.PdfReader, data: bytes, source: str, password: str | None) -> None:
    """Raise AlreadyStamped when the input carries an e-meterai (README, "Stamping twice")."""
    found = earlier_stamps(reader, data, source, password)
    valid = [s for s in found if s.problem is None]
    if valid:
        template = (
            N_("already stamped with {serial} on page {page}; no stamp spent")
            if valid[0].page
            else N_("already stamped with {serial}; no stamp spent")
        )
        raise AlreadyStamped(
            template,
            path=source,
            hint=Hint.ADD_STAMP,
            serial=valid[0].serial,
            page=valid[0].page,
        )
    if found:
        raise AlreadyStamped(
            N_(
                "carries stamp {serial}, which no longer verifies ({problem}); "
                "a new stamp would not make this document valid: stamp the original, unstamped "
                "document instead; no stamp spent"
            ),
            path=source,
            serial=found[0].serial,
            problem=found[0].problem,
        )


def verify_trusting_embedded_roots(data: bytes, source: str, password: str | None = None) -> Any:
    """The full verifier's result for ``data``, trusting the roots its stamps carry: what a
    change to the file (sealing) must keep valid, whoever trusts the issuer."""
    import io

    import pypdf

    from emeterai.verify import Verifier

    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    return Verifier(_embedded_roots(_signed_fields(reader))).verify(data, source, password)
