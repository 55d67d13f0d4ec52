"""Verification of e-meterai stamps (problem codes: README, "Verifiers"; what may change after a stamp: docs/security.md).

:class:`Verifier` holds what is the same for every document (trust roots, CRL, diff policy) and
returns a :class:`VerifyResult` per document. It raises only for unusable *configuration*
(a CRL not signed by a trusted issuer); an unusable document is the problem ``unreadable``.

The QR code is checked without decoding a render: the payload it must carry is known (serial and
the signed digest of the original document), so the QR modules are regenerated for it and
compared, run by run, with the rectangles drawn in the stamp's appearance.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import logging
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography import x509

from emeterai import serial as serials
from emeterai._changes import Changes, LaterSignature, after_stamp
from emeterai._pdfobjects import Said, entry, field_tree_problem, ref_key
from emeterai._picture_check import picture_problems
from emeterai._x509util import (
    OID_BASE_DIGEST,
    OID_BASE_LENGTH,
    OID_DOCUMENT_DIGEST,
    StampCertInfo,
    crl_signed_by,
    load_crl,
    stamp_info,
)
from emeterai.errors import ConfigError, EmeteraiError, PdfError, first_line
from emeterai.i18n import N_

if TYPE_CHECKING:  # pyHanko is imported when a document is verified, not with this module
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import StandardDiffPolicy
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
    from pyhanko.sign.validation.status import PdfSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    from emeterai._revisions import Update

__all__ = ["Code", "Problem", "StampReport", "Verifier", "VerifyResult"]


class Code(enum.StrEnum):
    """A problem verify reports (README, "Problem codes"); the JSON carries the value."""

    UNREADABLE = "unreadable"
    NO_STAMP = "no-stamp"
    SIGNATURE_INVALID = "signature-invalid"
    UNTRUSTED_ISSUER = "untrusted-issuer"
    STAMP_EXPIRED = "stamp-expired"
    SIGNING_TIME_INVALID = "signing-time-invalid"
    REVOKED = "revoked"
    SERIAL_MALFORMED = "serial-malformed"
    SERIAL_MISMATCH = "serial-mismatch"
    STAMP_NOT_SHOWN = "stamp-not-shown"
    MODIFIED_AFTER_STAMP = "modified-after-stamp"
    SERIAL_REUSED = "serial-reused"
    LEDGER_UNAVAILABLE = "ledger-unavailable"
    UNTRUSTED_TIMESTAMP = "untrusted-timestamp"


UNREADABLE = Code.UNREADABLE
NO_STAMP = Code.NO_STAMP
SIGNATURE_INVALID = Code.SIGNATURE_INVALID
UNTRUSTED_ISSUER = Code.UNTRUSTED_ISSUER
STAMP_EXPIRED = Code.STAMP_EXPIRED
SIGNING_TIME_INVALID = Code.SIGNING_TIME_INVALID
REVOKED = Code.REVOKED
SERIAL_MALFORMED = Code.SERIAL_MALFORMED
SERIAL_MISMATCH = Code.SERIAL_MISMATCH
STAMP_NOT_SHOWN = Code.STAMP_NOT_SHOWN
MODIFIED_AFTER_STAMP = Code.MODIFIED_AFTER_STAMP
SERIAL_REUSED = Code.SERIAL_REUSED
LEDGER_UNAVAILABLE = Code.LEDGER_UNAVAILABLE
UNTRUSTED_TIMESTAMP = Code.UNTRUSTED_TIMESTAMP

CLOCK_SKEW = dt.timedelta(minutes=5)
MM = 72 / 25.4
MIN_SHOWN_MM = 10.0
_REASON = re.compile(r"^\[([0-9A-Za-z-]{22,27})\]")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One problem: its code and, in English (as JSON carries it), its detail. A detail made
    with :meth:`of` also keeps its template, so a person reads it in their language."""

    code: Code
    detail: str
    template: str | None = field(default=None, compare=False)
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    nested: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, code: Code, template: str, **params: object) -> Problem:
        """A problem whose detail is ``template`` (marked with ``N_``) filled with ``params``;
        a param that can say itself in a person's language (an error, a Said) does so there."""
        values = {
            k: v.message if isinstance(v, EmeteraiError) else str(v) for k, v in params.items()
        }
        nested = tuple(
            (k, v) for k, v in params.items() if callable(getattr(v, "translated", None))
        )
        detail = template.format(**values) if values else template
        return cls(code, detail, template, tuple(values.items()), nested)

    def translated(self) -> str:
        """The detail in the current language."""
        if self.template is None:
            return self.detail
        from emeterai.i18n import _

        text = _(self.template)
        if not self.params:
            return text
        values = {**dict(self.params), **{k: v.translated() for k, v in self.nested}}
        return text.format(**values)

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class StampReport:
    """One stamp found in a document, with its own problems."""

    serial: str | None
    value: int | None
    issuer: str | None
    specimen: bool | None
    stamped_at: str | None
    document_sha256: str | None
    page: int | None
    problems: tuple[Problem, ...]
    cert_serial_number: int | None = None
    genuine: bool = False  # signature intact and trusted: may be recorded in a ledger
    bound_sha256: str | None = None  # digest of the pre-stamp document the stamp provably binds
    later_signatures: tuple[LaterSignature, ...] = ()  # visible signatures added after it
    level: str = "B-B"  # PAdES baseline level as the file shows it (emeterai._proof)
    signing_time_source: str = "claimed"  # "timestamp": a trusted signature timestamp
    proven_by: str | None = None  # the best proof of time (ISO 8601), or None
    notes: tuple[str, ...] = ()  # facts that leave it valid (revoked after its proof): shown to
    # people (verdict line, reports), not in the JSON, whose keys SPEC §3 fixes

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "value": self.value,
            "issuer": self.issuer,
            "specimen": self.specimen,
            "stamped_at": self.stamped_at,
            "document_sha256": self.document_sha256,
            "page": self.page,
            "problems": [p.to_json() for p in self.problems],
            "level": self.level,
            "signing_time_source": self.signing_time_source,
            "proven_by": self.proven_by,
        }


@dataclass(frozen=True)
class VerifyResult:
    file: str
    stamps: tuple[StampReport, ...]
    file_problems: tuple[Problem, ...] = field(default=())

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.file_problems + tuple(p for s in self.stamps for p in s.problems)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def later_signatures(self) -> tuple[LaterSignature, ...]:
        """Every visible signature added after a stamp, once (README, "Verifiers")."""
        return tuple(dict.fromkeys(sig for s in self.stamps for sig in s.later_signatures))

    def with_problems(self, stamp_index: int, extra: list[Problem]) -> VerifyResult:
        stamps = list(self.stamps)
        s = stamps[stamp_index]
        stamps[stamp_index] = replace(s, problems=s.problems + tuple(extra))
        return VerifyResult(self.file, tuple(stamps), self.file_problems)

    def to_json(self) -> dict[str, Any]:
        first = self.stamps[0] if self.stamps else None
        out: dict[str, Any] = {"file": self.file, "valid": self.valid}
        for key in (
            "serial",
            "value",
            "issuer",
            "specimen",
            "stamped_at",
            "document_sha256",
            "page",
        ):
            out[key] = getattr(first, key) if first else None
        out["problems"] = [p.to_json() for p in self.problems]
        out["stamps"] = [s.to_json() for s in self.stamps]
        out["later_signatures"] = [sig.to_json() for sig in self.later_signatures]
        return out


def _diff_policy() -> StandardDiffPolicy:
    """pyHanko's default policy without generic form filling: after a stamp only signatures,
    their validation data and metadata may be added (docs/security.md, 2)."""
    from pyhanko.sign.diff_analysis import (
        CatalogModificationRule,
        DocInfoRule,
        DSSCompareRule,
        FormUpdatingRule,
        MetadataUpdateRule,
        ModificationLevel,
        ObjectStreamRule,
        SigFieldCreationRule,
        SigFieldModificationRule,
        StandardDiffPolicy,
        XrefStreamRule,
    )

    lta = ModificationLevel.LTA_UPDATES
    return StandardDiffPolicy(
        global_rules=[
            CatalogModificationRule(),
            DocInfoRule().as_qualified(lta),
            XrefStreamRule().as_qualified(lta),
            ObjectStreamRule().as_qualified(lta),
            DSSCompareRule().as_qualified(lta),
            MetadataUpdateRule().as_qualified(lta),
        ],
        form_rule=FormUpdatingRule(
            field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]
        ),
    )


@dataclass(frozen=True)
class _Crl:
    issuer: x509.Name
    revoked: dict[int, dt.datetime]  # serial number -> revocation date (UTC)
    this_update: dt.datetime


@dataclass(frozen=True)
class _Document:
    """What every stamp of one document is judged with: its timestamps and the CRLs in use."""

    timestamps: tuple[Any, ...]
    crls: tuple[_Crl, ...]


@dataclass(frozen=True)
class _Signature:
    """What the signature checks found, for the checks that follow them."""

    genuine: bool  # intact, valid, trusted, and laid out as a stamp is
    over_limit: bool  # too large to hash or validate (docs/security.md, 8)
    unchecked: bool  # over the limit, or a byte range that is not a stamp's
    prefix_sha256: str | None
    timestamp: dt.datetime | None  # a valid RFC 3161 timestamp's time
    timestamp_trusted: bool = False  # ... from a trusted timestamp authority

    @property
    def proven(self) -> dt.datetime | None:
        """The signature timestamp's time when it proves it: valid and from a trusted TSA."""
        return self.timestamp if self.timestamp_trusted else None


class Verifier:
    """Checks documents against trusted issuer roots (and optionally a CRL)."""

    def __init__(
        self,
        trust_roots: list[x509.Certificate],
        crl: bytes | None = None,
        now: dt.datetime | None = None,
        tsa_roots: list[x509.Certificate] | None = None,
    ) -> None:
        """``now`` is the verification time (default: the clock when each document is checked);
        ``tsa_roots`` are the trusted timestamp authorities (their timestamps prove time)."""
        from asn1crypto import x509 as ax509
        from cryptography.hazmat.primitives import serialization

        self.trust_roots = trust_roots
        self.crl = crl
        self._now = now
        self._roots_asn1 = [
            ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots
        ]
        self.tsa_roots = list(tsa_roots or [])
        self._tsa_asn1 = [
            ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in self.tsa_roots
        ]
        self._policy = _diff_policy()
        self._crls = self._load_crl(crl) if crl is not None else []

    def _load_crl(self, data: bytes) -> list[_Crl]:
        try:
            crl = load_crl(data)
        except ValueError as exc:
            raise ConfigError(N_("not an X.509 CRL (PEM or DER)")) from exc
        if not crl_signed_by(crl, self.trust_roots):
            raise ConfigError(N_("the CRL is not signed by a trusted issuer root"))
        return [_crl_of(crl)]

    def _embedded_crls(self, reader: PdfFileReader) -> list[_Crl]:
        """The DSS's CRLs that a trusted issuer root signed (others prove nothing)."""
        from emeterai._proof import dss_crls

        found = []
        for raw in dss_crls(reader.root):
            try:
                crl = x509.load_der_x509_crl(raw)
            except ValueError:
                continue
            if crl_signed_by(crl, self.trust_roots):
                found.append(_crl_of(crl))
        return found

    def _crls_for(self, reader: PdfFileReader) -> tuple[_Crl, ...]:
        """Per issuer, the newest CRL of those given (``--crl``) and those the file embeds."""
        newest: dict[x509.Name, _Crl] = {}
        for crl in [*self._crls, *self._embedded_crls(reader)]:
            known = newest.get(crl.issuer)
            if known is None or crl.this_update > known.this_update:
                newest[crl.issuer] = crl
        return tuple(newest.values())

    def _tsa_context(self) -> ValidationContext:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(
            trust_roots=self._tsa_asn1, allow_fetching=False, revocation_mode="soft-fail"
        )

    def _context(self, moment: dt.datetime) -> ValidationContext:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(
            trust_roots=self._roots_asn1,
            allow_fetching=False,
            moment=moment,
            revocation_mode="soft-fail",
        )

    def verify(self, data: bytes, source: str, password: str | None = None) -> VerifyResult:
        """Check every stamp in ``data``; never raises for a bad document."""
        from emeterai import _pyhanko

        try:
            with _pyhanko.patched():
                return self._verify(data, source, password)
        except RecursionError:
            return VerifyResult(
                source, (), (Problem.of(UNREADABLE, N_("object structure nested too deeply")),)
            )

    def _verify(self, data: bytes, source: str, password: str | None) -> VerifyResult:
        read = _open(data, source, password)
        if isinstance(read, VerifyResult):
            return read
        reader, embedded, broken = read
        stamps = [
            _broken_stamp(Said(N_("a stamp signature is malformed ({reason})"), reason=detail))
            for detail in broken
        ]
        document = self._document(reader, embedded)
        for emb in embedded:
            if not _looks_like_stamp(emb):
                continue
            try:
                stamps.append(self._check_stamp(reader, emb, data, document))
            except Exception as exc:  # a hostile structure in one signature
                log.debug("stamp check failed", exc_info=True)
                stamps.append(
                    _broken_stamp(
                        Said(N_("cannot check the stamp ({reason})"), reason=first_line(exc))
                    )
                )
        stamps = _same_serial_twice(stamps)
        if not stamps:
            none = (
                Problem.of(
                    NO_STAMP,
                    N_("no e-meterai signature in the document ({n} other signature(s))"),
                    n=len(embedded),
                )
                if embedded
                else Problem.of(NO_STAMP, N_("no e-meterai signature in the document"))
            )
            return VerifyResult(source, (), (none,))
        return VerifyResult(source, tuple(stamps))

    # -- one stamp ------------------------------------------------------------------------

    def _document(self, reader: PdfFileReader, embedded: list[EmbeddedPdfSignature]) -> _Document:
        from emeterai._proof import document_timestamps

        timestamps = [e for e in embedded if _get(e.sig_object, "/Type") == "/DocTimeStamp"]
        try:
            stamps = tuple(document_timestamps(timestamps, self._tsa_context()))
            crls = self._crls_for(reader)
        except Exception:  # a hostile DSS or timestamp: judged with what was given
            log.debug("timestamps or DSS unreadable", exc_info=True)
            stamps, crls = (), tuple(self._crls)
        return _Document(stamps, crls)

    def _check_stamp(
        self,
        reader: PdfFileReader,
        emb: EmbeddedPdfSignature,
        data: bytes,
        document: _Document,
    ) -> StampReport:
        """Every check of one stamp signature, its problems in a stable order: the certificate
        and time, the signature, the serial, the binding, the picture and what came after."""
        problems: list[Problem] = []
        cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
        try:
            info = stamp_info(cert)
        except ValueError as exc:
            info = None
            problems.append(
                Problem.of(
                    UNTRUSTED_ISSUER,
                    N_("the signing certificate is not a stamp: {reason}"),
                    reason=exc,
                )
            )
        from emeterai._proof import claimed_signature_timestamp, signature_end

        end = signature_end(emb)
        covering = [t for t in document.timestamps if t.covers_to > end]
        cover = min((t.time for t in covering if t.trusted and t.time), default=None)
        provisional = claimed_signature_timestamp(emb) or cover
        _claimed, moment = self._moment(emb, info, [], provisional)
        before_signature = len(problems)
        sig = self._signature(emb, data, info, cert, moment, problems)
        proof = sig.proven or cover
        time_problems: list[Problem] = []
        stamped_at, _moment = self._moment(emb, info, time_problems, proof)
        problems[before_signature:before_signature] = time_problems  # the time before the signature
        if sig.proven is not None:
            stamped_at = sig.proven
        problems.extend(_timestamp_problems(sig, covering))
        notes: list[str] = []
        cert_serial = info.serial if info else None
        if cert_serial is not None:
            try:
                cert_serial = serials.parse(cert_serial)
            except EmeteraiError as exc:
                problems.append(Problem.of(SERIAL_MALFORMED, exc.template, **exc.params))
        for crl in document.crls:
            if cert.issuer != crl.issuer or cert.serial_number not in crl.revoked:
                continue
            revoked_at = crl.revoked[cert.serial_number]
            if proof is not None and proof < revoked_at:
                # a thief's clock proves nothing, a trusted timestamp does (EN 319 102-1)
                notes.append(
                    Said(
                        N_(
                            "revoked on {revoked} UTC, after its proof of time {proof} UTC: "
                            "still valid"
                        ),
                        revoked=f"{revoked_at:%Y-%m-%d %H:%M}",
                        proof=f"{proof:%Y-%m-%d %H:%M}",
                    )
                )
                continue
            problems.append(
                Problem.of(
                    REVOKED, N_("serial {serial} is revoked by its issuer"), serial=cert_serial
                )
            )
        digest = _document_digest(emb)
        bound, why = _bound_digest(emb, data, digest, sig.prefix_sha256)
        if bound is None:
            problems.append(_problem(SIGNATURE_INVALID, why))
        widget = _widget(emb)
        located = _find_page(reader, widget)
        page = located[1] if located else None
        if cert_serial is not None:
            rotation = _inherited(page, "/Rotate") if located else None
            problems.extend(_serial_problems(emb, widget, info, cert_serial, digest, rotation))
        problems.extend(_shown_problems(widget, page))
        own = [] if sig.unchecked else _own_revision_problems(reader, emb, data, page)
        problems.extend(own)
        changed = Changes((), ()) if sig.over_limit else after_stamp(reader, emb, widget)
        problems.extend(_problem(Code(c.code), c.detail) for c in changed.problems)
        return StampReport(
            serial=cert_serial,
            value=info.value if info else None,
            issuer=info.issuer_name if info else None,
            specimen=info.specimen if info else None,
            stamped_at=stamped_at.isoformat() if stamped_at else None,
            document_sha256=digest,
            page=located[0] + 1 if located else None,
            problems=tuple(_dedupe(problems)),
            cert_serial_number=cert.serial_number,
            genuine=sig.genuine
            and not own
            and bound is not None
            and not any(p.code == SERIAL_MALFORMED for p in problems),
            bound_sha256=bound,
            later_signatures=changed.later_signatures,
            level=_level(reader, cert, proof, covering, end),
            signing_time_source="claimed" if sig.proven is None else "timestamp",
            proven_by=proof.isoformat() if proof else None,
            notes=tuple(notes),
        )

    def _moment(
        self,
        emb: EmbeddedPdfSignature,
        info: StampCertInfo | None,
        problems: list[Problem],
        proof: dt.datetime | None = None,
    ) -> tuple[dt.datetime | None, dt.datetime]:
        """The claimed signing time, and the moment the chain is validated at: the best proof
        of time when there is one, else the claim; kept within the verification time and the
        stamp's validity (each excess a problem)."""
        now = self._now or dt.datetime.now(dt.UTC)
        stamped_at = _signing_time(emb)
        if proof is not None:
            return stamped_at, self._proven_moment(stamped_at, proof, info, problems)
        moment = stamped_at or now
        if stamped_at is not None and stamped_at > now + CLOCK_SKEW:
            problems.append(
                Problem.of(
                    SIGNING_TIME_INVALID,
                    N_(
                        "the stamp claims to be made at {stamped_at} UTC, "
                        "after the verification time {now} UTC"
                    ),
                    stamped_at=f"{stamped_at:%Y-%m-%d %H:%M}",
                    now=f"{now:%Y-%m-%d %H:%M}",
                )
            )
            moment = now
        if info is not None and not (info.not_before <= moment <= info.not_after):
            problems.append(
                Problem.of(
                    STAMP_EXPIRED,
                    N_("stamped at {moment} UTC, outside the stamp's validity {start} to {end}"),
                    moment=f"{moment:%Y-%m-%d %H:%M}",
                    start=f"{info.not_before:%Y-%m-%d}",
                    end=f"{info.not_after:%Y-%m-%d}",
                )
            )
            moment = min(max(moment, info.not_before), info.not_after)
        return stamped_at, moment

    def _proven_moment(
        self,
        claimed: dt.datetime | None,
        proof: dt.datetime,
        info: StampCertInfo | None,
        problems: list[Problem],
    ) -> dt.datetime:
        """The validity period judged at the proof of time: a stamp proven inside it stays
        valid after it ends; a claim inside it proves nothing when the first proof is after."""
        if claimed is not None and claimed > proof + CLOCK_SKEW:
            problems.append(
                Problem.of(
                    SIGNING_TIME_INVALID,
                    N_(
                        "the stamp claims to be made at {stamped_at} UTC, after the timestamp "
                        "that proves it existed at {proof} UTC"
                    ),
                    stamped_at=f"{claimed:%Y-%m-%d %H:%M}",
                    proof=f"{proof:%Y-%m-%d %H:%M}",
                )
            )
        if info is None or info.not_before <= proof <= info.not_after:
            return proof
        inside = claimed is not None and info.not_before <= claimed <= info.not_after
        if inside and proof > info.not_after:
            problems.append(
                Problem.of(
                    STAMP_EXPIRED,
                    N_(
                        "claimed to be stamped at {claimed} UTC, inside the stamp's validity, "
                        "but its first proof of time is {proof} UTC, after it ended on {end}"
                    ),
                    claimed=f"{claimed:%Y-%m-%d %H:%M}",
                    proof=f"{proof:%Y-%m-%d %H:%M}",
                    end=f"{info.not_after:%Y-%m-%d %H:%M}",
                )
            )
        else:
            problems.append(
                Problem.of(
                    STAMP_EXPIRED,
                    N_("stamped at {moment} UTC, outside the stamp's validity {start} to {end}"),
                    moment=f"{proof:%Y-%m-%d %H:%M}",
                    start=f"{info.not_before:%Y-%m-%d}",
                    end=f"{info.not_after:%Y-%m-%d}",
                )
            )
        return min(max(proof, info.not_before), info.not_after)

    def _signature(
        self,
        emb: EmbeddedPdfSignature,
        data: bytes,
        info: StampCertInfo | None,
        cert: x509.Certificate,
        moment: dt.datetime,
        problems: list[Problem],
    ) -> _Signature:
        """The byte range, layout and cryptographic checks of the signature itself."""
        odd_range = _byte_range_problem(emb, data)
        prefix_sha256 = None
        layout_problems, over_limit = ([], False) if odd_range else _layout_problems(emb, data)
        problems.extend(layout_problems)
        if odd_range is not None:
            problems.append(_problem(SIGNATURE_INVALID, odd_range))
        elif not over_limit:  # past the limit nothing is hashed nor validated
            try:
                prefix_sha256 = _digest_once(emb, data)
            except Exception:  # pyHanko then hashes the range itself and judges it
                prefix_sha256 = None
        unchecked = over_limit or odd_range is not None
        status = None if over_limit else self._validate(emb, moment)
        if status is None:
            if not over_limit:
                problems.append(
                    Problem.of(SIGNATURE_INVALID, N_("the signature could not be validated"))
                )
            return _Signature(False, over_limit, unchecked, prefix_sha256, None)
        if not (status.intact and status.valid):
            problems.append(
                Problem.of(SIGNATURE_INVALID, N_("the signature does not match the signed bytes"))
            )
        if status.intact and status.valid and not status.trusted:
            issuer = info.issuer_name if info else cert.issuer.rfc4514_string()
            problems.append(
                Problem.of(
                    UNTRUSTED_ISSUER,
                    N_(
                        "the stamp certificate from {issuer} does not chain to a trusted issuer root"
                    ),
                    issuer=repr(issuer),
                )
            )
        problems.extend(_coverage_problems(status))
        genuine = (
            odd_range is None
            and not layout_problems
            and bool(status.intact and status.valid and status.trusted)
        )
        tst = getattr(status, "timestamp_validity", None)
        timestamp, trusted = None, False
        if tst is not None and getattr(tst, "intact", False) and getattr(tst, "valid", False):
            timestamp = tst.timestamp.astimezone(dt.UTC)
            trusted = bool(getattr(tst, "trusted", False))
        return _Signature(genuine, over_limit, unchecked, prefix_sha256, timestamp, trusted)

    def _validate(
        self, emb: EmbeddedPdfSignature, moment: dt.datetime
    ) -> PdfSignatureStatus | None:
        from pyhanko.sign.validation import validate_pdf_signature

        try:
            return validate_pdf_signature(
                emb,
                signer_validation_context=self._context(moment),
                ts_validation_context=self._tsa_context(),
                diff_policy=self._policy,
            )
        except Exception:
            log.debug("pyHanko validation failed", exc_info=True)
            return None


def _crl_of(crl: x509.CertificateRevocationList) -> _Crl:
    return _Crl(
        crl.issuer,
        {r.serial_number: r.revocation_date_utc for r in crl},
        crl.last_update_utc,
    )


def _timestamp_problems(sig: _Signature, covering: list[Any]) -> list[Problem]:
    """A timestamp that proves nothing says so: not from a trusted TSA, or not matching."""
    problems = []
    if sig.timestamp is not None and not sig.timestamp_trusted:
        problems.append(
            Problem.of(
                UNTRUSTED_TIMESTAMP,
                N_(
                    "the stamp's signature timestamp is not from a trusted timestamp authority "
                    "(emeterai trust add --tsa)"
                ),
            )
        )
    for t in covering:
        if not t.intact:
            problems.append(
                Problem.of(
                    SIGNATURE_INVALID,
                    N_("a document timestamp over this stamp does not match the signed bytes"),
                )
            )
        elif not t.trusted:
            problems.append(
                Problem.of(
                    UNTRUSTED_TIMESTAMP,
                    N_(
                        "the document timestamp by {tsa} is not from a trusted timestamp "
                        "authority (emeterai trust add --tsa)"
                    ),
                    tsa=t.tsa,
                )
            )
    return problems


def _level(
    reader: PdfFileReader,
    cert: x509.Certificate,
    proof: dt.datetime | None,
    covering: list[Any],
    end: int,
) -> str:
    """B-B, B-T, B-LT or B-LTA, as emeterai._proof defines them."""
    from emeterai._proof import Level, dss_holds, historical_root

    if proof is None:
        return Level.B_B
    try:
        if not dss_holds(reader.root, cert):
            return Level.B_T
        for t in covering:
            if t.trusted and dss_holds(historical_root(reader, t.revision), cert):
                return Level.B_LTA
    except Exception:
        log.debug("DSS unreadable", exc_info=True)
        return Level.B_T
    return Level.B_LT


def _open(
    data: bytes, source: str, password: str | None
) -> tuple[PdfFileReader, list[EmbeddedPdfSignature], list[str]] | VerifyResult:
    """pyHanko's reader over ``data`` and its signatures (the readable ones, and why the others
    are not), or the ``unreadable`` result."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    def unreadable(template: str, **params: object) -> VerifyResult:
        return VerifyResult(source, (), (Problem.of(UNREADABLE, template, **params),))

    if not data:
        return unreadable(N_("the file is empty"))
    if b"%PDF-" not in data[:1024]:
        return unreadable(N_("not a PDF (no %PDF- header)"))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            result = reader.decrypt(password or "")
            if result.status.name == "FAILED":
                if password:
                    return unreadable(N_("the PDF is encrypted and the password is wrong"))
                return unreadable(N_("the PDF is encrypted and it needs a password"))
        embedded, broken = _collect_signatures(reader)
    except EmeteraiError as exc:  # a reason of ours, translated with the sentence
        return unreadable(N_("cannot read the PDF ({reason})"), reason=exc)
    except Exception as exc:
        return unreadable(N_("cannot read the PDF ({reason})"), reason=first_line(exc))
    return reader, embedded, broken


def _problem(code: Code, text: str) -> Problem:
    """A problem from a sentence another check wrote: readable translated when it is a
    :class:`Said`."""
    if isinstance(text, Said):
        return Problem.of(code, text.template, **text.parts())
    return Problem(code, text)


def _broken_stamp(detail: Said) -> StampReport:
    """A stamp signature that could not be checked at all: nothing about it is known."""
    problem = _problem(SIGNATURE_INVALID, detail)
    return StampReport(None, None, None, None, None, None, None, (problem,))


def _layout_problems(emb: EmbeddedPdfSignature, data: bytes) -> tuple[list[Problem], bool]:
    """The stamp's own revision must begin exactly where the document it records ends and end
    where its signature's range ends; every update after it must be exact (docs/security.md, 1).

    Returns the problems and whether the file is past :data:`revisions.MAX_UPDATES`.
    """
    from asn1crypto import core

    from emeterai import _revisions as revisions

    length = _attribute(emb, OID_BASE_LENGTH, core.Integer)
    _, _, gap_end, last = (int(v) for v in emb.byte_range)
    signed_end = gap_end + last
    if not isinstance(length, int) or isinstance(length, bool) or not 0 < length < signed_end:
        return [], False  # _bound_digest reports a missing or impossible record
    layout = revisions.read_updates(data, length)
    own = layout.updates[0] if layout.updates else None
    if not _ends_at(data, own, signed_end):
        # A damaged document is stamped after emeterai's own appended repair: a cross-reference
        # section rebuilt from its objects. Only exactly that section may lie between the two.
        from emeterai._repair import append_rebuilt_xref

        try:
            repaired = append_rebuilt_xref(data[:length])
        except Exception:
            repaired = b""
        if len(repaired) > length and data.startswith(repaired):
            length = len(repaired)
            layout = revisions.read_updates(data, length)
            own = layout.updates[0] if layout.updates else None
    if own is None or not _ends_at(data, own, signed_end):
        if own is None:
            return [
                Problem.of(
                    SIGNATURE_INVALID,
                    N_(
                        "the stamp's revision does not follow the document it records exactly "
                        "({reason})"
                    ),
                    reason=layout.problem,
                )
            ], False
        return [
            Problem.of(
                SIGNATURE_INVALID,
                N_(
                    "the stamp's revision does not follow the document it records exactly "
                    "(its revision does not end where its signature does)"
                ),
            )
        ], False
    if own.prev is None or own.prev != revisions.last_startxref(data, length):
        return [
            Problem.of(
                SIGNATURE_INVALID,
                N_(
                    "the stamp's revision does not continue the cross-reference chain of the "
                    "document"
                ),
            )
        ], False
    if layout.problem is None:
        return [], False
    if layout.over_limit:
        return [
            Problem.of(
                UNREADABLE,
                N_("{reason}: verify reads at most that many"),
                reason=layout.problem,
            )
        ], True
    return [
        Problem.of(
            MODIFIED_AFTER_STAMP,
            N_("not an exact incremental update: {reason}"),
            reason=layout.problem,
        )
    ], False


def _own_revision_problems(
    reader: PdfFileReader, emb: EmbeddedPdfSignature, data: bytes, page: Any
) -> list[Problem]:
    """The stamp's own revision adds the stamp and nothing else (see :mod:`stamp_revision`)."""
    from emeterai import _stamp_revision as stamp_revision

    try:
        found = stamp_revision.problems(reader, emb, data, ref_key(page) if page else None)
    except Exception as exc:  # a hostile structure: the revision cannot be shown to be a stamp
        log.debug("own-revision check failed", exc_info=True)
        found = (
            Said(
                N_(
                    "the stamp's revision cannot be compared with the document ({reason}), "
                    "beyond adding the stamp"
                ),
                reason=exc.said
                if isinstance(exc, stamp_revision.Uncomparable)
                else first_line(exc),
            ),
        )
    return [_problem(SIGNATURE_INVALID, detail) for detail in found]


def _ends_at(data: bytes, update: Update | None, end: int) -> bool:
    """Does ``update`` end where a signature's range does (but for whitespace)?"""
    if update is None or update.end > end:
        return False
    return not data[update.end : end].strip(b"\x00\t\n\x0c\r ")


def _same_serial_twice(stamps: list[StampReport]) -> list[StampReport]:
    """A serial pays for one document: two stamps with one serial in one file are reuse."""
    seen: set[str] = set()
    out = []
    for stamp in stamps:
        if stamp.serial is not None and stamp.serial in seen:
            stamp = replace(
                stamp,
                problems=stamp.problems
                + (
                    Problem.of(
                        SERIAL_REUSED,
                        N_("serial {serial} is already used by an earlier stamp in this file"),
                        serial=stamp.serial,
                    ),
                ),
            )
        elif stamp.serial is not None:
            seen.add(stamp.serial)
        out.append(stamp)
    return out


def _collect_signatures(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[str]]:
    """The document's signatures in signing order, each parsed on its own: a malformed one does
    not hide the others. Also returns why malformed *stamp* signatures could not be parsed."""
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    problem = field_tree_problem(entry(entry(reader.root, "/AcroForm", {}), "/Fields"))
    if problem is not None:
        raise PdfError(problem.template, None, None, **problem.parts())
    found = []
    broken = []
    for name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        try:
            found.append(EmbeddedPdfSignature(reader, sig_field, name))
        except Exception as exc:
            if _named_like_stamp(name, sig_obj):
                broken.append(first_line(exc))
    found.sort(key=lambda emb: emb.signed_revision)
    return found, broken


def _named_like_stamp(name: Any, sig_obj: Any) -> bool:
    """Does a signature that cannot be parsed look like a stamp, by field name or /Reason?
    The dictionary may be too damaged to read at all: then only the name can tell."""
    if _text(name).startswith("eMeterai"):
        return True
    try:
        return bool(_REASON.match(_text(_get(sig_obj.get_object(), "/Reason", ""))))
    except Exception:
        return False


def _coverage_problems(status: PdfSignatureStatus) -> list[Problem]:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    problems = []
    coverage = status.coverage
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append(
            Problem.of(SIGNATURE_INVALID, N_("the signature does not cover its whole revision"))
        )
    elif coverage != SignatureCoverageLevel.ENTIRE_FILE:
        level = status.modification_level
        if level is None or level > ModificationLevel.FORM_FILLING or status.docmdp_ok is False:
            problems.append(
                Problem.of(
                    MODIFIED_AFTER_STAMP,
                    N_("the document was changed after stamping beyond signatures and metadata"),
                )
            )
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen = set()
    out = []
    for p in problems:
        if (p.code, p.detail) not in seen:
            seen.add((p.code, p.detail))
            out.append(p)
    return out


def _get(d: Any, key: str, default: Any = None) -> Any:
    """``d[key]`` or ``default``: unlike ``get``, indexing decrypts values in encrypted files."""
    return d[key] if key in d else default  # noqa: SIM401


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def _looks_like_stamp(emb: EmbeddedPdfSignature) -> bool:
    """An e-meterai signature: a stamp certificate, a [SERIAL] reason, or an eMeterai field."""
    sig = emb.sig_object
    if _REASON.match(_text(_get(sig, "/Reason", ""))):
        return True
    if _text(emb.field_name).startswith("eMeterai"):
        return True
    try:
        cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
        stamp_info(cert)
    except Exception:
        return False
    return True


def _signing_time(emb: EmbeddedPdfSignature) -> dt.datetime | None:
    """The signing time the signer claims (/M); a timestamp token, if any, replaces it later."""
    try:
        t = emb.self_reported_timestamp
    except Exception:
        return None
    if t is None:
        return None
    moment: dt.datetime = t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return moment


def _attribute(emb: EmbeddedPdfSignature, oid: str, spec: Any) -> Any:
    """The native value of a signed attribute parsed as ``spec``, or None."""
    from pyhanko.sign.general import find_unique_cms_attribute

    try:
        value = find_unique_cms_attribute(emb.signer_info["signed_attrs"], oid)
        return spec.load(value.dump()).native
    except Exception:
        return None


def _document_digest(emb: EmbeddedPdfSignature) -> str | None:
    from asn1crypto import core

    raw = _attribute(emb, OID_DOCUMENT_DIGEST, core.OctetString)
    return raw.hex() if isinstance(raw, bytes) and len(raw) == 32 else None


_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\x00\t\n\f\r ]*>")


def _byte_range_problem(emb: EmbeddedPdfSignature, data: bytes) -> Said | None:
    """A stamp must sign everything from the start of the file to the end of its revision but
    its own /Contents: /ByteRange [0 a b c] of whole numbers, with a < b and exactly the hex
    string of /Contents between a and b. pyHanko judges coverage by adding up lengths only, so
    overlapping ranges ([0 a 0 c]), fractions or offsets past the end would otherwise pass as
    covering the whole file while leaving bytes unsigned."""
    try:
        raw = list(emb.byte_range)
    except Exception:
        return Said(N_("the signature has no usable /ByteRange"))
    if len(raw) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        return Said(N_("the signature's /ByteRange is not four whole numbers"))
    start, first, gap_end, last = (int(v) for v in raw)
    if start != 0 or not 0 < first < gap_end or last < 0 or gap_end + last > len(data):
        return Said(
            N_("the signature's /ByteRange does not cover the file from its start, in order")
        )
    if not _HEX_STRING.fullmatch(data, first, gap_end):
        return Said(N_("the signature's /ByteRange leaves out more than its own /Contents"))
    return None


def _digest_once(emb: EmbeddedPdfSignature, data: bytes) -> str | None:
    """Hash the signed /ByteRange in one pass that also yields the pre-stamp prefix's digest.

    pyHanko caches a signature's byte-range digest (``external_digests``); it is filled here
    with the digest of exactly the bytes pyHanko would read (each (offset, length) pair, cut
    at the end of the file), so a 30 MB document is hashed once, not twice. Returns the SHA-256
    of the first ``base length`` bytes when that prefix lies in the first range, else None.
    Anything unusual (another algorithm, negative or odd-length ranges) is left to pyHanko.
    """
    import hashlib

    from asn1crypto import core

    try:
        algorithm = emb.external_md_algorithm
        raw = list(emb.byte_range)
    except Exception:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        return None  # e.g. 12.5: pyHanko refuses to hash it, and so must we
    ranges = [int(v) for v in raw]
    if algorithm != "sha256" or not ranges or len(ranges) % 2 or min(ranges) < 0:
        return None
    if any(ranges[i] + ranges[i + 1] > len(data) for i in range(0, len(ranges), 2)):
        return None
    length = _attribute(emb, OID_BASE_LENGTH, core.Integer)
    view = memoryview(data)
    md = hashlib.sha256()
    prefix = None
    for i in range(0, len(ranges), 2):
        lo, n = ranges[i], ranges[i + 1]
        if (
            i == 0
            and lo == 0
            and isinstance(length, int)
            and not isinstance(length, bool)
            and 0 < length <= min(n, len(data))
        ):
            md.update(view[:length])
            prefix = md.hexdigest()
            md.update(view[length:n])
        else:
            md.update(view[lo : lo + n])
    emb.external_digests[algorithm] = md.digest()
    return prefix


def _bound_digest(
    emb: EmbeddedPdfSignature,
    data: bytes,
    document_digest: str | None,
    prefix_sha256: str | None = None,
) -> tuple[str | None, Said]:
    """The digest of the pre-stamp document that this stamp provably binds, or None and why.

    The stamp records how long the pre-stamp prefix of the file is; the prefix (inside the signed
    range) must hash to the recorded digest of the document as given, or, after a repair that
    rewrote the file, to the recorded digest of the rewrite. Otherwise the stamp was made for
    another document.
    """
    import hashlib

    from asn1crypto import core

    length = _attribute(emb, OID_BASE_LENGTH, core.Integer)
    if not isinstance(length, int) or document_digest is None:
        return None, Said(N_("the signature does not record which document it stamps"))
    byte_range = [int(v) for v in emb.sig_object["/ByteRange"]]
    if not 0 < length <= byte_range[1] or length > len(data):
        return None, Said(
            N_("the signature's record of the stamped document lies outside what it signs")
        )
    # the digest of data[:length], from the byte-range pass when it made it
    prefix = prefix_sha256 or hashlib.sha256(memoryview(data)[:length]).hexdigest()
    if prefix == document_digest:
        return prefix, Said("")
    base = _attribute(emb, OID_BASE_DIGEST, core.OctetString)
    if isinstance(base, bytes) and base.hex() == prefix:
        return prefix, Said("")
    return None, Said(N_("the stamp records another document's digest than the one it is on"))


def _widget(emb: EmbeddedPdfSignature) -> Any:  # a hostile file may give a non-dictionary
    field = emb.sig_field
    kids = _get(field, "/Kids")
    if kids:
        return kids[0].get_object()
    return field


def _serial_problems(
    emb: EmbeddedPdfSignature,
    widget: Any,
    info: Any,
    cert_serial: str,
    digest: str | None,
    rotation: Any,
) -> list[Problem]:
    problems = []
    reason = _text(_get(emb.sig_object, "/Reason", ""))
    m = _REASON.match(reason)
    if not m or serials.normalize(m.group(1)) != cert_serial:
        shown = m.group(1) if m else "none"
        problems.append(
            Problem.of(
                SERIAL_MISMATCH,
                N_("the signature's /Reason names serial {shown}, the certificate {serial}"),
                shown=shown,
                serial=cert_serial,
            )
        )
    if info is not None:
        for why in picture_problems(
            widget, cert_serial, digest, info.value, info.issuer_name, info.specimen, rotation
        ):
            problems.append(_problem(SERIAL_MISMATCH, why))
    return problems


def _lists_widget(page: Any, widget_key: tuple[int, int] | None, widget: Any) -> bool:
    annots = _get(page, "/Annots")
    if annots is None:
        return False
    annots = annots.get_object()
    for i in range(len(annots)):
        raw = annots.raw_get(i)
        if widget_key is not None and ref_key(raw) == widget_key:
            return True
        if raw.get_object() is widget:
            return True
    return False


def _find_page(reader: PdfFileReader, widget: Any) -> tuple[int, Any] | None:
    """(index, page) of the page whose /Annots shows ``widget``, or None.

    The widget's /P names the page, so only the page-tree nodes on the way there are read:
    where a node's /Count equals its number of kids, every kid is one page and need not be
    opened. The page must list the widget: a /P alone does not put an annotation on a page.
    """
    widget_key = ref_key(widget)
    hint = ref_key(widget.raw_get("/P")) if "/P" in widget else None
    seen: set[tuple[int, int]] = set()
    shortcut = hint is not None

    def walk(node: Any, offset: int, depth: int) -> tuple[int, Any] | int:
        """The match, or how many pages ``node`` holds."""
        if depth > 64 or "/Kids" not in node:
            return 0
        kids = node.raw_get("/Kids").get_object()
        flat = shortcut and _get(node, "/Count") == len(kids)
        count = 0
        for i in range(len(kids)):
            raw = kids.raw_get(i)
            key = ref_key(raw)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            if flat and key != hint:
                count += 1
                continue
            kid = raw.get_object()
            if _get(kid, "/Type") == "/Pages" or "/Kids" in kid:
                found = walk(kid, offset + count, depth + 1)
                if isinstance(found, tuple):
                    return found
                count += found
                continue
            if (not shortcut or key == hint) and _lists_widget(kid, widget_key, widget):
                return offset + count, kid
            count += 1
        return count

    found = walk(reader.root["/Pages"], 0, 0)
    if not isinstance(found, tuple) and shortcut:
        # /P may be wrong, or a nested node hid the page from the shortcut: read every page.
        seen.clear()
        shortcut = False
        found = walk(reader.root["/Pages"], 0, 0)
    return found if isinstance(found, tuple) else None


def _inherited(page: Any, key: str) -> Any:
    node = page
    for _ in range(64):
        if key in node:
            return node[key]
        parent = _get(node, "/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _shown_problems(widget: Any, page: Any) -> list[Problem]:
    from emeterai._box import Box

    def problem(template: str, **params: object) -> list[Problem]:
        return [Problem.of(STAMP_NOT_SHOWN, template, **params)]

    if "/AP" not in widget or _get(widget["/AP"].get_object(), "/N") is None:
        return problem(N_("the stamp has no appearance"))
    flags = int(_get(widget, "/F", 0) or 0)
    if flags & 0b100011:  # Invisible, Hidden, NoView
        return problem(N_("the stamp's annotation is hidden"))
    if not flags & 4:
        return problem(N_("the stamp's annotation is not printable"))
    if "/OC" in widget:
        return problem(N_("the stamp is on an optional-content layer that can be switched off"))
    if page is None:
        return problem(N_("the stamp is not on any page"))
    try:
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
        rect = Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        media = _inherited(page, "/MediaBox") or [0, 0, 612, 792]  # readers' default: Letter
        mx0, my0, mx1, my1 = (float(v) for v in media)
        crop = _inherited(page, "/CropBox") or [mx0, my0, mx1, my1]
        cx0, cy0, cx1, cy1 = (float(v) for v in crop)
    except Exception:
        return problem(N_("the stamp or its page has no usable rectangle"))
    visible = Box(
        max(min(mx0, mx1), min(cx0, cx1)),
        max(min(my0, my1), min(cy0, cy1)),
        min(max(mx0, mx1), max(cx0, cx1)),
        min(max(my0, my1), max(cy0, cy1)),
    )
    if rect.width < MIN_SHOWN_MM * MM or rect.height < MIN_SHOWN_MM * MM:
        return problem(N_("the stamp is drawn smaller than {size} mm"), size=f"{MIN_SHOWN_MM:g}")
    tol = 0.5
    if (
        rect.x0 < visible.x0 - tol
        or rect.y0 < visible.y0 - tol
        or rect.x1 > visible.x1 + tol
        or rect.y1 > visible.y1 + tol
    ):
        return problem(N_("the stamp lies (partly) outside the visible page"))
    return []
