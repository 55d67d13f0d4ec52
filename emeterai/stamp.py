"""The stamping pipeline: read, place, render, sign, write, commit (docs/architecture.md, "Stamping").

Everything that can fail on the document (reading, placement, signing) happens before any byte
is written, and the stamp is only spent once the output is durably in place:
reserve -> sign in memory -> verify the output in memory -> record the intended output ->
temp file + fsync -> record the move (durable) -> rename -> fsync the folder -> commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emeterai import _place as place
from emeterai._existing import refuse_stamped
from emeterai._files import (
    discard,
    rename_into_place,
    sync_folder,
    temp_path_for,
    write_temp,
)
from emeterai._pdfobjects import Said
from emeterai._render import DEFAULT_SIZE_MM, MAX_SIZE_MM, MIN_SIZE_MM
from emeterai._repair import unparseable_object
from emeterai._x509util import stamp_info
from emeterai.errors import (
    EmeteraiError,
    Hint,
    OutputError,
    OutputNotDurable,
    OutputTooLarge,
    PdfError,
    SelfCheckFailed,
    SigningError,
    UsageError,
    first_line,
)
from emeterai.i18n import N_
from emeterai.wallet import Reservation, StampKey, Wallet, WalletKey

if TYPE_CHECKING:  # imported where used: stamping's start stays fast
    import pypdf
    from cryptography import x509
    from pypdf import PageObject

    from emeterai._render import StampAppearance
    from emeterai._repair import Repaired
    from emeterai.verify import Problem, Verifier

__all__ = [
    "Analysis",
    "DryRun",
    "FIELD_PREFIX",
    "StampFailure",
    "StampOptions",
    "StampResult",
    "StampSkipped",
    "analyse",
    "check_input",
    "default_output",
    "picture_for",
    "preview_png",
    "read_input",
    "refuse_existing_output",
    "rounded_rect",
    "self_check",
    "stamp_file",
]

FIELD_PREFIX = "eMeterai"


@dataclass(frozen=True)
class StampOptions:
    """How to stamp: where (a page, a centre) and how big; the documents' password; a TSA."""

    page: int | None = None  # 1-based, -1 = last; None: search for a placeholder
    at_mm: tuple[float, float] | None = None  # centre, mm from the top-left of the page as read
    size_mm: float = DEFAULT_SIZE_MM
    password: str | None = None
    tsa_url: str | None = None
    add_stamp: bool = False  # a second party's stamp on an already stamped document
    max_size: int | None = None  # bytes the stamped file may have (an upload portal's cap)

    def check(self) -> None:
        """Refuse options no document could be stamped with, before any is read."""
        if not MIN_SIZE_MM <= self.size_mm <= MAX_SIZE_MM:
            raise UsageError(
                N_("the stamp size must be between {low} and {high} mm"),
                hint=Hint.SIZE_RANGE,
                low=f"{MIN_SIZE_MM:g}",
                high=f"{MAX_SIZE_MM:g}",
            )
        if self.max_size is not None and self.max_size <= 0:
            raise UsageError(N_("the maximum size must be more than 0 bytes"))

    def refuse_too_large(self, size: int, source: str | Path, stamped: bool) -> None:
        """OutputTooLarge when a file of ``size`` bytes (the input, or the stamped output)
        cannot meet ``max_size``; the stamp adds to the input, so an input at the cap fails."""
        if self.max_size is None or (size <= self.max_size if stamped else size < self.max_size):
            return
        from emeterai.sizes import format_size

        template = (
            N_(
                "the stamped file would be {size} ({bytes} bytes), over the maximum of "
                "{maximum} ({maximum_bytes} bytes); no stamp spent"
            )
            if stamped
            else N_(
                "the file is already {size} ({bytes} bytes), over the maximum of "
                "{maximum} ({maximum_bytes} bytes); no stamp spent"
            )
        )
        raise OutputTooLarge(
            template,
            path=source,
            hint=Hint.SHRINK,
            size=format_size(size),
            bytes=size,
            maximum=format_size(self.max_size),
            maximum_bytes=self.max_size,
        )


@dataclass(frozen=True)
class Analysis:
    """What stamping needs to know about a document, found before anything is spent.

    ``data`` is what gets signed: the file as given, or its repaired form (``repair`` says how);
    ``document_sha256`` is always the digest of the file as given.
    """

    document_sha256: str
    placement: place.Placement
    page_count: int
    encrypted: bool
    data: bytes
    # SHA-256 state after hashing ``data``: the output's digest continues from it over the
    # update instead of reading a 30 MB input a second time
    data_hash: Any = field(compare=False, repr=False)
    repair: str | None = None
    page_ref: tuple[int, int] | None = None  # the stamp page's (object number, generation)


def _record(
    file: str,
    *,
    output: str | None = None,
    serial: str | None = None,
    page: int | None = None,
    rect_pt: tuple[float, float, float, float] | None = None,
    placement: str | None = None,
    placeholder_text: str | None = None,
    document_sha256: str | None = None,
    bytes_added: int | None = None,
) -> dict[str, Any]:
    """The one shape of a stamp record (``stamp --json``): stamped, failed or dry run."""
    return {
        "file": file,
        "output": output,
        "serial": serial,
        "page": page,
        "rect_pt": None if rect_pt is None else list(rect_pt),
        "placement": placement,
        "placeholder_text": placeholder_text,
        "document_sha256": document_sha256,
        "bytes_added": bytes_added,
    }


def rounded_rect(rect: place.Box) -> tuple[float, float, float, float]:
    return (round(rect.x0, 2), round(rect.y0, 2), round(rect.x1, 2), round(rect.y1, 2))


@dataclass(frozen=True)
class StampResult:
    """A document stamped: where the output is and which stamp it carries."""

    file: str
    output: str | None
    serial: str
    page: int
    rect_pt: tuple[float, float, float, float]
    placement: place.Method
    document_sha256: str
    bytes_added: int
    center_mm: tuple[float, float]
    repair: str | None = None
    placeholder_text: str | None = None  # the placeholder the stamp covers
    warnings: tuple[str, ...] = ()  # about the placement: grown, moved, not covering

    def to_json(self) -> dict[str, Any]:
        return _record(
            self.file,
            output=self.output,
            serial=self.serial,
            page=self.page,
            rect_pt=self.rect_pt,
            placement=self.placement,
            placeholder_text=self.placeholder_text,
            document_sha256=self.document_sha256,
            bytes_added=self.bytes_added,
        )

    def moved_mm(self, asked: tuple[float, float] | None) -> float:
        """How far the stamp's centre was moved from an asked-for centre to keep it on the page."""
        if asked is None:
            return 0.0
        got = self.center_mm
        return float(((asked[0] - got[0]) ** 2 + (asked[1] - got[1]) ** 2) ** 0.5)


@dataclass(frozen=True)
class StampFailure:
    """A document not stamped, and why; no stamp was spent on it."""

    file: str
    error: EmeteraiError

    def to_json(self, message: str | None = None) -> dict[str, Any]:
        """The record with every key null and ``error``: ``message``, else the error's text."""
        return {**_record(self.file), "error": message or self.error.about(self.file)}


@dataclass(frozen=True)
class StampSkipped:
    """A document left out because its output is already there (``--skip-existing``)."""

    file: str
    output: str

    def to_json(self) -> dict[str, Any]:
        return {**_record(self.file, output=self.output), "skipped": True}


@dataclass(frozen=True)
class DryRun:
    """Where a document would be stamped; nothing signed, nothing spent."""

    file: str
    page: int
    rect_pt: tuple[float, float, float, float]
    placement: place.Method
    center_mm: tuple[float, float]
    document_sha256: str
    repair: str | None = None
    preview_png: bytes | None = field(default=None, repr=False)
    placeholder_text: str | None = None  # the placeholder the stamp would cover
    warnings: tuple[str, ...] = ()  # about the placement: grown, moved, not covering

    def to_json(self) -> dict[str, Any]:
        return {
            **_record(
                self.file,
                page=self.page,
                rect_pt=self.rect_pt,
                placement=self.placement,
                placeholder_text=self.placeholder_text,
                document_sha256=self.document_sha256,
                bytes_added=0,
            ),
            "dry_run": True,
        }


def _check_header(data: bytes, source: str) -> None:
    if not data:
        raise PdfError(N_("the file is empty"), path=source)
    if b"%PDF-" not in data[:1024]:
        raise PdfError(N_("not a PDF (no %PDF- header)"), path=source)


class _SharedBytesIO(io.BytesIO):
    """A BytesIO over ``data`` that pypdf cannot make copy it.

    pypdf sizes a stream through ``getbuffer()`` when there is one, and exporting a buffer makes
    a BytesIO copy the bytes it shares: a second copy of the document, alive as long as the
    reader. Without ``getbuffer`` pypdf seeks to the end instead.
    """

    @property
    def getbuffer(self) -> Any:
        raise AttributeError("getbuffer")


def _reader(data: bytes, source: str, password: str | None) -> pypdf.PdfReader:
    import pypdf
    from pypdf.errors import PyPdfError

    _check_header(data, source)
    try:
        reader = pypdf.PdfReader(_SharedBytesIO(data), strict=False)
        if reader.is_encrypted:
            result = reader.decrypt(password or "")
            if not result:
                template = (
                    N_("the PDF is encrypted and the password is wrong")
                    if password
                    else N_("the PDF is encrypted and it needs a password")
                )
                raise PdfError(template, path=source, hint=Hint.PASSWORD)
            if result == pypdf.PasswordType.USER_PASSWORD and not _may_sign(reader):
                raise PdfError(
                    N_("the PDF's owner does not allow form fields (a stamp is one) to be added"),
                    path=source,
                    hint=Hint.OWNER_PASSWORD,
                )
        pages = list(reader.pages)
    except PdfError:
        raise
    except (
        PyPdfError,  # PdfReadError, LimitReachedError (e.g. an object that is its own value)...
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RecursionError,
        NotImplementedError,
    ) as exc:
        raise PdfError(
            N_("cannot read the PDF ({reason})"), path=source, reason=first_line(exc)
        ) from exc
    if not pages:
        raise PdfError("the PDF has no pages", path=source)
    return reader


def _may_sign(reader: pypdf.PdfReader) -> bool:
    """Do the permissions of a user-password opening allow a new signature field? ISO 32000
    table 22: bit 6 with bit 4 creates form fields, signature fields included; bit 9 alone only
    fills in fields that exist, and the stamp always brings a field of its own."""
    from pypdf.constants import UserAccessPermissions as Allowed

    granted = reader.user_access_permissions
    if granted is None:
        return True
    needed = Allowed.MODIFY | Allowed.ADD_OR_MODIFY
    return bool((granted & needed) == needed)


def analyse(data: bytes, source: str, options: StampOptions) -> Analysis:
    """Read the document and decide where the stamp goes; raises PdfError if it cannot be stamped.

    Whatever a hostile file makes the PDF libraries raise on the way is a PdfError naming the
    file: nothing has been reserved yet, and a batch goes on with the next file.
    """
    try:
        return _analyse(data, source, options)
    except EmeteraiError:
        raise
    except Exception as exc:
        raise PdfError(
            N_("cannot read the PDF ({reason})"), path=source, reason=first_line(exc)
        ) from exc


def _analyse(data: bytes, source: str, options: StampOptions) -> Analysis:
    options.check()
    from emeterai._repair import repair, structure_problem

    _check_header(data, source)
    try:
        problem = structure_problem(data, walk_pages=False)
    except EmeteraiError as exc:
        raise exc.at(source) from None
    if problem is None:
        reader = _reader(data, source, options.password)
        if any(page.indirect_reference is None for page in reader.pages):
            problem = "a page-tree node has a direct (not indirect) child"
    repaired = repair(data, source, problem) if problem is not None else None
    work = data
    if repaired is not None:
        work = repaired.data
        reader = _reader(work, source, options.password)
    _refuse_locked_certification(reader, source)
    options.refuse_too_large(len(work), source, stamped=False)
    if not options.add_stamp:
        refuse_stamped(reader, work, source, options.password)
    pages = list(reader.pages)
    _refuse_odd_page_tree(pages, source)
    try:
        placement = place.choose(pages, options.size_mm, page=options.page, at_mm=options.at_mm)
    except EmeteraiError as exc:
        raise exc.at(source) from None
    except Exception as exc:
        raise PdfError(
            N_("the page's boxes or resources are damaged ({reason})"),
            path=source,
            reason=first_line(exc),
        ) from exc
    given = hashlib.sha256(data)
    return Analysis(
        document_sha256=given.hexdigest(),
        placement=placement,
        page_count=len(pages),
        encrypted=bool(reader.is_encrypted),
        data=work,
        repair=_describe_repair(repaired),
        page_ref=_page_ref(pages[placement.page_index]),
        data_hash=given if work is data else hashlib.sha256(work),
    )


def _refuse_odd_page_tree(pages: list[PageObject], source: str) -> None:
    """A page must have no /Kids of its own, and its /Parent chain must end at the page-tree
    root: a loop makes every inherited attribute lookup run forever in some readers, and qpdf
    rejects the file."""
    ended: set[int] = set()  # nodes known to lead to the root
    for page in pages:
        if "/Kids" in page:
            # pypdf takes it for a page, pyHanko and verify for a node above pages: which page
            # the stamp is shown on would depend on the reader
            raise PdfError(
                N_("the PDF is damaged: its page tree is ambiguous (a page with /Kids)"),
                path=source,
            )
        own = getattr(page.indirect_reference, "idnum", None)
        chain: list[int] = [own] if own is not None else []
        node: Any = page.raw_get("/Parent") if "/Parent" in page else None
        while node is not None:
            ref = getattr(node, "idnum", None)
            if ref is not None and ref in ended:
                break
            if ref is not None and ref in chain or len(chain) > 64:
                raise PdfError(
                    N_("the PDF is damaged: its page tree is cyclic (/Parent)"), path=source
                )
            if ref is not None:
                chain.append(ref)
            node = node.get_object()
            node = (
                node.raw_get("/Parent") if hasattr(node, "raw_get") and "/Parent" in node else None
            )
        ended.update(chain[1:] if own is not None else chain)


def _page_ref(page: PageObject) -> tuple[int, int] | None:
    ref = getattr(page, "indirect_reference", None)
    if ref is None:
        return None
    return int(ref.idnum), int(ref.generation)


def _refuse_locked_certification(reader: pypdf.PdfReader, source: str) -> None:
    """A document certified with DocMDP P=1 allows no change at all, not even a signature."""
    try:
        root: Any = reader.trailer["/Root"]  # the file's own structure: any type; errors below
        sig = root["/Perms"]["/DocMDP"].get_object()
        for ref in sig.get("/Reference", []):
            params = ref.get_object().get("/TransformParams")
            if params is not None and int(params.get_object().get("/P", 2)) == 1:
                raise PdfError(
                    N_(
                        "the document is certified by its author with no changes allowed; "
                        "a stamp would break that certification (ask for an uncertified copy)"
                    ),
                    path=source,
                )
    except (KeyError, TypeError, ValueError, AttributeError):
        return


def _describe_repair(repaired: Repaired | None) -> str | None:
    from emeterai._repair import APPENDED

    if repaired is None:
        return None
    if repaired.method == APPENDED:
        return Said(
            N_(
                "repaired ({reason}) by appending a rebuilt cross-reference section; "
                "the original bytes are kept as a prefix"
            ),
            reason=repaired.reason,
        )
    return Said(
        N_(
            "repaired ({reason}) by rewriting the whole file: the output does not keep "
            "the original bytes as a prefix; the stamp still binds to the original's digest"
        ),
        reason=repaired.reason,
    )


def picture_for(
    analysis: Analysis, serial: str, value: int, issuer: str, specimen: bool, size_mm: float
) -> bytes:
    from emeterai._render import render

    return render(
        serial,
        value,
        issuer,
        analysis.document_sha256,
        specimen=specimen,
        size_mm=size_mm,
        rotation=analysis.placement.rotation,
    ).pdf


def appearance_for(
    analysis: Analysis, serial: str, value: int, issuer: str, specimen: bool, size_mm: float
) -> StampAppearance:
    """The drawing ``picture_for`` renders, made from the cached template (serial and QR only)."""
    from emeterai._render import appearance

    return appearance(
        serial,
        value,
        issuer,
        analysis.document_sha256,
        specimen=specimen,
        size_mm=size_mm,
        rotation=analysis.placement.rotation,
    )


def default_output(path: Path) -> Path:
    """``lamaran.pdf`` -> ``lamaran.emeterai.pdf`` beside it."""
    return path.with_name(f"{path.stem}.emeterai{path.suffix or '.pdf'}")


def _unreadable(path: Path, exc: OSError) -> PdfError:
    if isinstance(exc, IsADirectoryError):
        return PdfError(N_("is a folder, not a PDF"), path=path)
    return PdfError(N_("cannot read ({reason})"), path=path, reason=exc.strerror)


def read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def refuse_existing_output(output: Path, force: bool) -> None:
    """An existing output is never replaced without ``force``."""
    if not force and os.path.lexists(output):
        raise OutputError(N_("already exists"), path=output, hint=Hint.FORCE)


def check_input(path: Path) -> None:
    """Refuse an input that cannot be stamped, from its first kilobyte only: missing,
    unreadable, a folder, empty, not a PDF. Cheap enough to run before any secret is asked."""
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    _check_header(head, str(path))


def stamp_file(
    source: Path,
    output: Path,
    wallet: Wallet,
    wallet_key: WalletKey,
    options: StampOptions,
    serial: str | None = None,
    force: bool = False,
    label: str | None = None,
) -> StampResult:
    """Stamp ``source`` into ``output``, spending one stamp from ``wallet`` only on success.

    ``label`` is what the wallet records as the document the stamp was used on, when
    ``source`` is only a private copy of it (a file uploaded in the browser).

    The stamp is reserved, the output signed and checked (it must verify), the wallet told
    where it is about to appear, the file written atomically, and only then the stamp marked
    used (docs/architecture.md, "Stamping").
    """
    data = read_input(source)
    if output.resolve() == source.resolve():
        raise PdfError(N_("the output would replace the input"), path=source, hint=Hint.OUTPUT)
    analysis = analyse(data, str(source), options)
    refuse_existing_output(output, force)

    reservation = wallet.reserve(serial)
    published = False
    tmp = temp_path_for(output)
    try:
        update = _signed_update(data, analysis, wallet.stamp_key(reservation.serial, wallet_key),
                                options, source)  # fmt: skip
        stamped = analysis.data + update
        options.refuse_too_large(len(stamped), source, stamped=True)
        paths = (source, output, tmp)
        _write(wallet, reservation, analysis, update, stamped, paths, force, label)
        published = True
        sync_folder(output)
        wallet.commit(reservation)
    except BaseException as exc:
        _settle(exc, wallet, reservation, tmp, published, source)
        raise
    return _result(source, output, reservation.serial, analysis, len(stamped) - len(data))


def _write(
    wallet: Wallet,
    reservation: Reservation,
    analysis: Analysis,
    update: bytes,
    stamped: bytes,
    paths: tuple[Path, Path, Path],
    force: bool,
    label: str | None = None,
) -> None:
    """Tell the wallet where the output is about to appear (and its digest), write it to its
    temporary name and move it into place: after this the output exists."""
    source, output, tmp = paths
    digest = analysis.data_hash.copy()
    digest.update(update)
    wallet.mark_written(
        reservation,
        # "used on ..." must name the document wherever it is read
        label if label is not None else str(source.absolute()),
        analysis.document_sha256,
        str(output.absolute()),
        str(tmp.absolute()),
        digest.hexdigest(),
    )
    write_temp(output, stamped, tmp=tmp)
    rename_into_place(
        tmp, output, overwrite=force, before=lambda how: wallet.mark_publishing(reservation, how)
    )


def _result(
    source: Path, output: Path, serial: str, analysis: Analysis, bytes_added: int
) -> StampResult:
    p = analysis.placement
    return StampResult(
        file=str(source),
        output=str(output),
        serial=serial,
        page=p.page_index + 1,
        rect_pt=rounded_rect(p.rect),
        placement=p.method,
        document_sha256=analysis.document_sha256,
        bytes_added=bytes_added,
        center_mm=p.center_mm,
        repair=analysis.repair,
        placeholder_text=p.placeholder_text,
        warnings=p.warnings,
    )


def _signed_update(
    data: bytes, analysis: Analysis, stamp: StampKey, options: StampOptions, source: Path
) -> bytes:
    """The stamp's incremental update to ``analysis.data``, checked: readable, and the output
    verifies with every earlier stamp still valid."""
    from emeterai import _pyhanko
    from emeterai._sign import SignOptions, sign_update

    info = stamp_info(stamp.certificate)
    picture = appearance_for(
        analysis,
        stamp.serial,
        info.value,
        info.issuer_name,
        info.specimen,
        analysis.placement.size_mm,
    )
    rect = analysis.placement.rect
    rewritten = analysis.data is not data and not analysis.data.startswith(data)
    sign_options = SignOptions(
        field_name=f"{FIELD_PREFIX}_{stamp.serial}",
        reason=f"[{stamp.serial}] e-Meterai Rp{info.value}",
        page_index=analysis.placement.page_index,
        rect=(rect.x0, rect.y0, rect.x1, rect.y1),
        tsa_url=options.tsa_url,
        password=options.password,
        page_ref=analysis.page_ref,
    )
    with _pyhanko.patched():
        update = sign_update(
            analysis.data,
            stamp,
            picture,
            bytes.fromhex(analysis.document_sha256),
            sign_options,
            base_length=len(analysis.data) if rewritten else len(data),
            base_digest=analysis.data_hash.digest() if rewritten else None,
        )
        # The output is analysis.data + update: sign_update refuses to change a byte of it.
        if not update:
            raise SigningError(N_("internal check failed: the signer added nothing"), path=source)
        signed = (analysis.data, update)
        unreadable = unparseable_object(signed, options.password, rewritten_only=True)
        if unreadable is not None:
            # e.g. a name that pyHanko writes in a way that no strict reader parses back
            raise SigningError(
                N_(
                    "cannot stamp: the stamped file would not be readable ({reason}); "
                    "re-save the PDF with its producer and try again"
                ),
                path=source,
                reason=unreadable,
            )
        self_check(data, analysis.data + update, str(source), stamp, options.password)
    return update


def _settle(
    exc: BaseException,
    wallet: Wallet,
    reservation: Reservation,
    tmp: Path,
    published: bool,
    source: Path,
) -> None:
    """After a failed stamping: the stamp back (no output appeared) or spent (it did); the
    failure as the user's error. Returns only when ``exc`` should be re-raised as it is."""
    discard(tmp)
    if not published:
        # No output appeared (rename_into_place raises only when the move did not happen):
        # the stamp goes back.
        wallet.release(reservation)
    else:
        # The output is in place and carries the serial: whatever failed after the move
        # (the folder's fsync, an interrupt, the commit), the stamp is spent. If even this
        # commit fails, recover() settles the reservation as used or unsure, never available.
        with contextlib.suppress(Exception):
            wallet.commit(reservation)
    if isinstance(exc, OutputNotDurable):
        raise OutputNotDurable(
            N_("{cause}; stamp {serial} is spent on it (check the disk)"),
            path=exc.path,
            cause=exc,
            serial=reservation.serial,
        ) from None
    if isinstance(exc, Exception) and not isinstance(exc, EmeteraiError):
        raise SigningError(
            N_("cannot stamp ({reason})"), path=source, reason=first_line(exc)
        ) from exc


def issuer_roots(stamp: StampKey) -> list[x509.Certificate]:
    """The stamp's own issuer root(s), from the chain stored with it: the self-signed
    certificates of the chain, else (a chain that stops below its root) the whole chain."""
    roots = [c for c in stamp.chain if c.subject == c.issuer]
    return roots or list(stamp.chain)


_verifiers: dict[tuple[bytes, ...], Verifier] = {}


def _verifier_for(stamp: StampKey) -> Verifier:
    """One Verifier per issuer root set, kept for the process (a batch stamps many files)."""
    from cryptography.hazmat.primitives import serialization

    from emeterai.verify import Verifier

    roots = issuer_roots(stamp)
    key = tuple(c.public_bytes(serialization.Encoding.DER) for c in roots)
    if key not in _verifiers:
        _verifiers[key] = Verifier(roots)
    return _verifiers[key]


def _without(result: Any, code: Any) -> Any:
    """``result`` with the problems of ``code`` left out."""
    from dataclasses import replace

    stamps = tuple(
        replace(st, problems=tuple(p for p in st.problems if p.code != code))
        for st in result.stamps
    )
    return replace(result, stamps=stamps)


def self_check(
    given: bytes, stamped: bytes, source: str, stamp: StampKey, password: str | None
) -> None:
    """Run the full verifier on the stamped output in memory, trusting the stamp's own issuer
    root; raise SelfCheckFailed unless the new stamp is valid, the file has no file-level
    problem, and every stamp that was valid in the input is still valid in the output.

    Stamps of the input that were not valid there (another issuer, already broken) are not
    judged again: the new stamp cannot repair them and does not make them worse.
    """
    if not issuer_roots(stamp):
        raise SelfCheckFailed(
            N_("cannot check the output: the stamp has no issuer chain"), path=source
        )
    from emeterai.verify import UNTRUSTED_TIMESTAMP

    verifier = _verifier_for(stamp)
    # Whether a timestamp authority is trusted is the verifier's decision, as the issuer's
    # is: the stamp's own check cannot make it, so an untrusted timestamp does not fail it.
    before = _without(verifier.verify(given, source, password), UNTRUSTED_TIMESTAMP)
    valid_before = {s.serial for s in before.stamps if s.serial and not s.problems}
    after = _without(verifier.verify(stamped, source, password), UNTRUSTED_TIMESTAMP)
    # (what failed: "file", "new" or "earlier"; its serial; the problem, None if not found)
    failures: list[tuple[str, str | None, Problem | None]] = [
        ("file", None, p) for p in after.file_problems
    ]
    new = [s for s in after.stamps if s.serial == stamp.serial]
    if not new:
        failures.append(("new", None, None))
    for report in after.stamps:
        if report.serial == stamp.serial:
            failures += [("new", stamp.serial, p) for p in report.problems]
        elif report.serial in valid_before:
            failures += [("earlier", report.serial, p) for p in report.problems]
    # an earlier stamp that can no longer be read has no serial in the report
    unnamed = [p for s in after.stamps if s.serial is None for p in s.problems]
    for serial in sorted(valid_before - {s.serial for s in after.stamps}):
        failures.append(("earlier", serial, unnamed[0] if unnamed else None))
    if not failures:
        return
    what, named, problem = failures[0]
    if problem is None:
        template = (
            N_(
                "not stamped, no stamp spent: the stamped output would not verify (the new "
                "stamp: no-stamp: the verifier does not find the new stamp)"
            )
            if what == "new"
            else N_(
                "not stamped, no stamp spent: the stamped output would not verify (the earlier "
                "stamp {serial}: no-stamp: the verifier does not find the earlier stamp {serial})"
            )
        )
        raise SelfCheckFailed(template, path=source, serial=named)
    if what == "file":
        template = N_(
            "not stamped, no stamp spent: the stamped output would not verify "
            "(the file: {code}: {detail})"
        )
    elif what == "new":
        template = N_(
            "not stamped, no stamp spent: the stamped output would not verify "
            "(the new stamp {serial}: {code}: {detail})"
        )
    else:
        template = N_(
            "not stamped, no stamp spent: the stamped output would not verify "
            "(the earlier stamp {serial}: {code}: {detail})"
        )
    raise SelfCheckFailed(
        template, path=source, serial=named, code=problem.code, detail=problem.detail
    )


def preview_png(
    data: bytes, analysis: Analysis, picture_pdf: bytes, dpi: int = 100, password: str | None = None
) -> bytes:
    """PNG of the stamped page, made without signing: the picture is merged in a throwaway copy."""
    import pypdf
    import pypdfium2 as pdfium
    from pypdf import Transformation

    reader = _reader(analysis.data, "preview", password)
    writer = pypdf.PdfWriter()
    page = writer.add_page(reader.pages[analysis.placement.page_index])
    stamp_page = pypdf.PdfReader(io.BytesIO(picture_pdf)).pages[0]
    rect = analysis.placement.rect
    page.merge_transformed_page(stamp_page, Transformation().translate(rect.x0, rect.y0))
    buf = io.BytesIO()
    writer.write(buf)
    pdf = pdfium.PdfDocument(buf.getvalue())
    try:
        image = pdf[0].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
