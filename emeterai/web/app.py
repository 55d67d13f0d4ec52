"""The routes of ``emeterai serve``: pages and API over the library, nothing decided here.

Every handler parses its request, calls the library in a worker thread (the CPU work: verifying,
stamping, rendering) and answers. The in-flight cap answers 503 with Retry-After before any work
starts; the time limit answers 504 (the work then finishes in its thread, still holding its
place under the cap, so a slow file cannot pile up more). Stamping, the wallet and the issuer
routes exist only in local mode: in service mode they are not routed at all (404).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import json
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from emeterai import __version__, i18n
from emeterai.archive import ArchiveLimits, is_zip, pdfs_in_zip
from emeterai.errors import (
    AlreadyStamped,
    ArchiveTooLarge,
    ConfigError,
    EmeteraiError,
    NoStampAvailable,
    OutputError,
    PassphraseError,
    StampAlreadyUsed,
    StampPossiblyUsed,
    TrustError,
    UsageError,
    WalletError,
)
from emeterai.i18n import _
from emeterai.web.config import ENV, Mode, ServeConfig
from emeterai.web.desk import Desk, StampedFile, UnknownDocument, WalletLocked, download_name
from emeterai.web.metrics import CONTENT_TYPE_LATEST, Metrics
from emeterai.web.security import Guard
from emeterai.web.uploads import BadRequest, Body, TooLarge, Upload, read_body

__all__ = ["app_from_env", "create_app"]

HERE = Path(__file__).parent
T = TypeVar("T")
LANG_COOKIE = "emeterai_lang"
# When the request being answered must be done (time.monotonic()); a batch sets it per file.
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("emeterai_deadline")
UNCAPPED = frozenset({"/api/v1/health", "/metrics"})  # probes answer even when saturated


class Busy(Exception):
    """Every place under the in-flight cap is taken (503)."""


class TooSlow(Exception):
    """The request went over its time limit (504)."""


# -- errors as answers ------------------------------------------------------------------------

_STATUS: tuple[tuple[type[EmeteraiError], int], ...] = (
    (TooLarge, 413),
    (ArchiveTooLarge, 413),
    (BadRequest, 400),
    (UsageError, 400),
    (WalletLocked, 423),
    (PassphraseError, 403),
    (UnknownDocument, 404),
    (AlreadyStamped, 409),
    (NoStampAvailable, 409),
    (StampAlreadyUsed, 409),
    (StampPossiblyUsed, 409),
    (WalletError, 409),
    (OutputError, 500),
    (ConfigError, 400),
    (TrustError, 400),
)


def _kind(exc: EmeteraiError) -> str:
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def error_response(exc: EmeteraiError, about: str | None = None) -> JSONResponse:
    """An error as JSON: ``error`` (its kind), ``message`` (English, the same in every
    language, for scripts) and ``text`` (in the request's language, for people). A private
    temporary path is never shown: the client's own name for the file is."""
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 422)
    english = exc.message if exc.path is None or about is None else exc.about(about)
    text = exc.translated()
    if about is not None:
        text = f"{about}: {text}"
        english = f"{about}: {exc.message}"
    return JSONResponse({"error": _kind(exc), "message": english, "text": text}, status)


def _plain_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "text": _(message)}, status, headers)


# -- the server -------------------------------------------------------------------------------


class Server:
    """One process's server: config, the verifier, the ledger, the desk (local mode), the caps."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.limiter = anyio.CapacityLimiter(config.limits.work_threads)
        self.in_flight = 0
        self._count = threading.Lock()
        self.desk: Desk | None = None
        if config.mode is Mode.LOCAL:
            home = config.home_path()
            out_dir = Path(config.out_dir) if config.out_dir else home / "stamped"
            self.desk = Desk(home, out_dir, config.lock_after_seconds)
        self._verifier: Any = None
        self._verifier_lock = threading.Lock()
        self._ledger: Any = None
        self.reports: dict[str, list[Any]] = {}  # local mode: the last checks, for download

    # -- shared pieces ----------------------------------------------------------------------

    def verifier(self) -> Any:
        from emeterai.trust import TrustStore, parse_root
        from emeterai.verify import Verifier

        with self._verifier_lock:
            if self._verifier is None:
                roots = list(TrustStore(self.config.home_path() / "trust").certificates())
                for pem in self.config.trust:
                    roots.append(parse_root(Path(pem).read_bytes(), pem))
                crl = Path(self.config.crl).read_bytes() if self.config.crl else None
                self._verifier = Verifier(roots, crl)
            return self._verifier

    def forget_verifier(self) -> None:
        """The trust store changed: the next verification builds the verifier again."""
        with self._verifier_lock:
            self._verifier = None

    def ledger(self, wanted: bool) -> Any:
        """The ledger: service mode's ``--ledger`` always; local mode's when the page asks for it
        (``--ledger``, else one SQLite file in the home folder)."""
        from emeterai.ledger import open_ledger

        location = self.config.ledger
        if self.config.mode is Mode.LOCAL:
            if not wanted:
                return None
            if location is None:
                folder = self.config.home_path() / "ledger"
                folder.mkdir(parents=True, exist_ok=True)
                location = str(folder / "ledger.db")
        if location is None:
            return None
        if self._ledger is None:
            self._ledger = open_ledger(location)
        return self._ledger

    @contextlib.contextmanager
    def place(self) -> Iterator[None]:
        """A place under the in-flight cap, or Busy."""
        with self._count:
            if self.in_flight >= self.config.limits.max_in_flight:
                raise Busy
            self.in_flight += 1
        try:
            yield
        finally:
            with self._count:
                self.in_flight -= 1

    def start_clock(self) -> None:
        _deadline.set(time.monotonic() + self.config.limits.request_seconds)

    async def work(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, in this request's language, before its deadline."""
        ctx = contextvars.copy_context()
        left = (
            _deadline.get(time.monotonic() + self.config.limits.request_seconds) - time.monotonic()
        )
        try:
            with anyio.fail_after(max(left, 0.0)):
                return await anyio.to_thread.run_sync(
                    functools.partial(ctx.run, fn, *args),
                    limiter=self.limiter,
                    abandon_on_cancel=True,
                )
        except TimeoutError:
            raise TooSlow from None


def _server(request: Request) -> Server:
    server = request.app.state.server
    assert isinstance(server, Server)
    return server


def _desk(request: Request) -> Desk:
    desk = _server(request).desk
    assert desk is not None  # local-mode routes only
    return desk


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


# -- verification -----------------------------------------------------------------------------


def _verify_one(server: Server, upload: Upload, password: str | None, ledger: bool) -> Any:
    from emeterai.ledger import record

    result = server.verifier().verify(upload.data, upload.name, password)
    the_ledger = server.ledger(ledger)
    if the_ledger is not None:
        result = record(result, the_ledger)
    server.metrics.verdict(result)
    return result


def _uploads(body: Body, limits: ArchiveLimits, max_files: int) -> list[Upload]:
    """The files of a batch, any .zip among them opened (its limits first, then the count)."""
    out: list[Upload] = []
    for upload in body.files:
        if is_zip(upload.data):
            out.extend(
                Upload(m.name, m.data) for m in pdfs_in_zip(upload.data, upload.name, limits)
            )
        else:
            out.append(upload)
        if len(out) > max_files:
            raise TooLarge(i18n.N_("at most {limit} files can be sent at once"), limit=max_files)
    return out


async def verify_endpoint(request: Request) -> Response:
    server = _server(request)
    limits = server.config.limits
    body = await read_body(request, limits.max_upload_bytes, 1, "document.pdf")
    if len(body.files) != 1:
        raise BadRequest(i18n.N_("send one PDF: as the body, or as the form field 'file'"))
    upload = body.files[0]
    result = await server.work(
        _verify_one, server, upload, body.fields.get("password"), _flag(body.fields.get("ledger"))
    )
    return JSONResponse(result.to_json())


def _archive_limits(server: Server) -> ArchiveLimits:
    limits = server.config.limits
    return ArchiveLimits(
        max_files=limits.max_batch_files,
        max_file_bytes=limits.max_upload_bytes,
        max_total_bytes=limits.max_archive_bytes,
    )


async def verify_batch_endpoint(request: Request) -> Response:
    """JSON Lines, one verdict per file in the order sent, each as soon as it is known. In
    local mode the results are kept for the report (``Emeterai-Report`` names it); anywhere,
    ``?report=csv|html`` answers that report instead of the lines."""
    from emeterai.report import ReportFormat, render

    server = _server(request)
    limits = server.config.limits
    body = await read_body(request, limits.max_upload_bytes, limits.max_batch_files, "upload")
    if any(is_zip(f.data) for f in body.files):  # inflating is work, with its time limit
        uploads = await server.work(_uploads, body, _archive_limits(server), limits.max_batch_files)
    else:
        uploads = list(body.files)
    password = body.fields.get("password")
    ledger = _flag(body.fields.get("ledger"))
    wanted = body.fields.get("report")
    if wanted is not None:
        try:
            fmt = ReportFormat(wanted)
        except ValueError:
            raise BadRequest(i18n.N_("report must be csv or html")) from None
        results = [await server.work(_verify_one, server, u, password, ledger) for u in uploads]
        data = await server.work(render, fmt, results)
        return _report_response(fmt, data)
    report_id = secrets.token_urlsafe(9)
    kept: list[Any] = []
    if server.desk is not None:
        server.reports = {report_id: kept}  # one batch at a time is what a person downloads

    explain = _flag(body.fields.get("explain"))

    async def lines() -> AsyncIterator[bytes]:
        for upload in uploads:
            server.start_clock()  # each file has the time of one request
            try:
                result = await server.work(_verify_one, server, upload, password, ledger)
            except TooSlow:
                seconds = limits.request_seconds
                yield _line({"file": upload.name, "error": "too-slow",
                             "message": f"the check took longer than {seconds:g} s; stopped"})  # fmt: skip
                return
            kept.append(result)
            record = result.to_json()
            if explain:
                record["shown"] = _shown(result)
            yield _line(record)

    headers = {"Emeterai-Files": str(len(uploads))}
    if server.desk is not None:
        headers["Emeterai-Report"] = report_id
    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _shown(result: Any) -> list[dict[str, str]]:
    """A verdict's problems as the page shows them (``explain``): main reason first, each in
    the request's language with what to do about it."""
    from emeterai.problems import EXPLANATIONS, main_first

    shown = []
    for p in main_first(result.problems):
        explanation = EXPLANATIONS.get(p.code)
        action = _(explanation.action) if explanation is not None else ""
        shown.append({"code": str(p.code), "text": p.translated(), "action": action})
    return shown


def _report_response(fmt: Any, data: bytes) -> Response:
    from emeterai.report import ReportFormat

    kind = "text/csv; charset=utf-8" if fmt is ReportFormat.CSV else "text/html; charset=utf-8"
    name = f"emeterai-report.{fmt.value}"
    return Response(
        data,
        media_type=kind,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def report_endpoint(request: Request) -> Response:
    from emeterai.report import ReportFormat, render

    server = _server(request)
    results = server.reports.get(request.path_params["report_id"])
    if results is None:
        return _plain_error(
            404, "no-report", "this report is no longer here: check the files again"
        )
    try:
        fmt = ReportFormat(request.query_params.get("format", "html"))
    except ValueError:
        raise BadRequest(i18n.N_("report must be csv or html")) from None
    data = await server.work(render, fmt, list(results))
    return _report_response(fmt, data)


# -- health and metrics -----------------------------------------------------------------------


async def health_endpoint(request: Request) -> Response:
    server = _server(request)
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "mode": str(server.config.mode),
            "ledger": server.config.ledger is not None,
            "in_flight": server.in_flight,
        }
    )


async def metrics_endpoint(request: Request) -> Response:
    data = _server(request).metrics.exposition()
    return Response(data, media_type=CONTENT_TYPE_LATEST)


async def openapi_endpoint(request: Request) -> Response:
    from emeterai.web.openapi import document

    return JSONResponse(document(_server(request).config.mode))


# -- wallet and trust (local mode) ------------------------------------------------------------


def _wallet_json(desk: Desk) -> dict[str, Any]:
    wallet = desk.wallet()
    try:
        return {
            "unlocked": desk.unlocked(),
            "has_passphrase": wallet.has_passphrase(),
            "totals": wallet.totals().to_json(),
            "stamps": [e.to_json() for e in wallet.entries()],
            "stamped": [s.to_json() for s in desk.stamped_files()],
        }
    finally:
        wallet.close()


async def wallet_endpoint(request: Request) -> Response:
    desk = _desk(request)
    return JSONResponse(await _server(request).work(_wallet_json, desk))


async def _form(request: Request, max_files: int = 0) -> Body:
    limits = _server(request).config.limits
    return await read_body(request, limits.max_upload_bytes, max_files, "upload")


async def unlock_endpoint(request: Request) -> Response:
    desk = _desk(request)
    body = await _form(request)
    passphrase = body.fields.get("passphrase", "")
    await _server(request).work(desk.unlock, passphrase)
    return JSONResponse({"unlocked": True, "lock_after_seconds": desk.lock_after})


async def lock_endpoint(request: Request) -> Response:
    _desk(request).lock()
    return JSONResponse({"unlocked": False})


def _import(desk: Desk, body: Body) -> list[dict[str, Any]]:
    passphrase = body.fields.get("passphrase", "")
    wallet = desk.wallet()
    try:
        outcomes = wallet.import_stamps(
            [(f.name, f.data) for f in body.files],
            passphrase,
            desk.trust_store().certificates(),
            stamp_passphrase=body.fields.get("stamp_passphrase") or None,
        )
    finally:
        wallet.close()
    return [
        {
            "file": o.source,
            "serial": o.serial,
            "status": str(o.status),
            "detail": o.detail,
            "text": o.error.translated() if o.error is not None else None,
        }
        for o in outcomes
    ]


async def import_endpoint(request: Request) -> Response:
    desk = _desk(request)
    body = await _form(request, _server(request).config.limits.max_batch_files)
    if not body.files:
        raise BadRequest(i18n.N_("choose the stamp files (.p12) to import"))
    outcomes = await _server(request).work(_import, desk, body)
    return JSONResponse({"imported": outcomes})


def _trust(server: Server, body: Body) -> list[dict[str, Any]]:
    assert server.desk is not None
    store = server.desk.trust_store()
    added = []
    for f in body.files:
        root, new = store.add(f.data, f.name)
        added.append({**root.to_json(), "new": new})
    server.forget_verifier()
    return added


async def trust_add_endpoint(request: Request) -> Response:
    server = _server(request)
    body = await _form(request, 16)
    if not body.files:
        raise BadRequest(i18n.N_("choose the issuer's root certificate (.pem)"))
    return JSONResponse({"trusted": await server.work(_trust, server, body)})


async def trust_list_endpoint(request: Request) -> Response:
    desk = _desk(request)
    return JSONResponse({"roots": [r.to_json() for r in desk.trust_store().roots()]})


# -- stamping (local mode) --------------------------------------------------------------------


def _options(fields: dict[str, str]) -> Any:
    from emeterai.cli._common import parse_at, parse_page
    from emeterai.sizes import parse_size
    from emeterai.stamp import StampOptions

    try:
        size = float(fields.get("size") or 25.0)
    except ValueError:
        raise UsageError(
            i18n.N_("size {value!r}: expected millimetres"), value=fields["size"]
        ) from None
    options = StampOptions(
        page=parse_page(fields.get("page") or None),
        at_mm=parse_at(fields.get("at") or None),
        size_mm=size,
        password=fields.get("password") or None,
        max_size=parse_size(fields["max_size"]) if fields.get("max_size") else None,
    )
    options.check()
    return options


PREVIEW_DPI = 100


def _hold(desk: Desk, upload: Upload, fields: dict[str, str]) -> dict[str, Any]:
    """Check the document as stamping would (nothing spent), keep it, say where the stamp
    would go and what its pages look like."""
    from emeterai.pages import page_sizes
    from emeterai.stamp import analyse

    options = _options(fields)
    analysis = analyse(upload.data, upload.name, options)
    doc = desk.hold(upload.name, upload.data)
    p = analysis.placement
    return {
        "id": doc.id,
        "name": doc.name,
        "pages": [s.to_json() for s in page_sizes(analysis.data, upload.name, options.password)],
        "page": p.page_index + 1,
        "center_mm": [round(v, 2) for v in p.center_mm],
        "size_mm": p.size_mm,
        "placement": str(p.method),
        "placeholder_text": p.placeholder_text,
        "warnings": list(p.warnings),
        "repair": analysis.repair,
        "download_name": download_name(doc.name),
    }


async def documents_endpoint(request: Request) -> Response:
    desk = _desk(request)
    body = await _form(request, 1)
    if len(body.files) != 1:
        raise BadRequest(i18n.N_("send one PDF: as the body, or as the form field 'file'"))
    upload = body.files[0]
    try:
        held = await _server(request).work(_hold, desk, upload, body.fields)
    except EmeteraiError as exc:
        return error_response(exc, upload.name)
    return JSONResponse(held)


def _page_png(desk: Desk, doc_id: str, page: int, dpi: float, password: str | None) -> bytes:
    from emeterai.pages import render_page

    doc = desk.held(doc_id)
    return render_page(doc.path.read_bytes(), page - 1, doc.name, dpi, password)


async def page_endpoint(request: Request) -> Response:
    desk = _desk(request)
    try:
        page = int(request.path_params["page"])
        dpi = min(max(float(request.query_params.get("dpi", PREVIEW_DPI)), 30.0), 200.0)
    except ValueError:
        raise BadRequest(i18n.N_("page and dpi must be numbers")) from None
    png = await _server(request).work(
        _page_png,
        desk,
        request.path_params["doc_id"],
        page,
        dpi,
        request.query_params.get("password"),
    )
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


def _preview(desk: Desk, doc_id: str, fields: dict[str, str]) -> bytes:
    from emeterai.plan import preview_stamp
    from emeterai.stamp import analyse, picture_for, preview_png

    doc = desk.held(doc_id)
    data = doc.path.read_bytes()
    options = _options(fields)
    analysis = analyse(data, doc.name, options)
    wallet = desk.wallet()
    try:
        shown = preview_stamp(wallet)
    finally:
        wallet.close()
    picture = picture_for(
        analysis,
        shown.serial,
        shown.value,
        shown.issuer,
        shown.specimen,
        analysis.placement.size_mm,
    )
    return preview_png(data, analysis, picture, dpi=PREVIEW_DPI, password=options.password)


async def preview_endpoint(request: Request) -> Response:
    desk = _desk(request)
    body = await _form(request)
    doc_id = request.path_params["doc_id"]
    try:
        png = await _server(request).work(_preview, desk, doc_id, body.fields)
    except EmeteraiError as exc:
        return error_response(exc, desk.held(doc_id).name)
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


def _stamp(desk: Desk, upload: Upload, fields: dict[str, str]) -> tuple[StampedFile, Any]:
    """Stamp through the library: the private copy in, ``out_dir`` out (atomically, before the
    stamp counts as used), the client's name recorded as the document it was used on."""
    import tempfile

    from emeterai.stamp import stamp_file

    options = _options(fields)
    wallet = desk.wallet()
    with tempfile.TemporaryDirectory(prefix="emeterai-upload-") as folder:
        try:
            passphrase = fields.get("passphrase")
            # a passphrase sent with the request opens the wallet for this request only
            key = wallet.unlock(passphrase) if passphrase else desk.key()
            out_id, output = desk.new_output()
            source = Path(folder) / "document.pdf"
            source.write_bytes(upload.data)
            result = stamp_file(
                source,
                output,
                wallet,
                key,
                options,
                serial=fields.get("serial") or None,
                label=f"{upload.name} (emeterai serve)",
            )
        finally:
            wallet.close()
    stamped = StampedFile(
        out_id,
        download_name(upload.name),
        output,
        result.serial,
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    desk.add_stamped(stamped)
    return stamped, result


def _dry_run(desk: Desk, upload: Upload, fields: dict[str, str]) -> dict[str, Any]:
    from emeterai.stamp import DryRun, analyse, rounded_rect

    options = _options(fields)
    analysis = analyse(upload.data, upload.name, options)
    p = analysis.placement
    return DryRun(
        file=upload.name,
        page=p.page_index + 1,
        rect_pt=rounded_rect(p.rect),
        placement=p.method,
        center_mm=p.center_mm,
        document_sha256=analysis.document_sha256,
        repair=analysis.repair,
        placeholder_text=p.placeholder_text,
        warnings=p.warnings,
    ).to_json()


async def stamp_endpoint(request: Request) -> Response:
    """The stamped PDF (its record in the ``Emeterai-Stamp`` header, JSON), or with
    ``dry_run`` the record of where it would go, nothing spent. The document is the body, the
    form field ``file``, or the id of one uploaded before (``document``)."""
    server = _server(request)
    desk = _desk(request)
    body = await _form(request, 1)
    doc_id = body.fields.get("document")
    if doc_id:
        held = desk.held(doc_id)
        upload = Upload(held.name, held.path.read_bytes())
    elif len(body.files) == 1:
        upload = body.files[0]
    else:
        raise BadRequest(i18n.N_("send one PDF: as the body, or as the form field 'file'"))
    try:
        if _flag(body.fields.get("dry_run")):
            return JSONResponse(await server.work(_dry_run, desk, upload, body.fields))
        stamped, result = await server.work(_stamp, desk, upload, body.fields)
    except EmeteraiError as exc:
        return error_response(exc, upload.name)
    if doc_id:
        desk.release(doc_id)
    record = {**result.to_json(), "file": upload.name, "output": stamped.name}
    record["download"] = f"/api/v1/stamped/{stamped.id}"
    return FileResponse(
        stamped.path,
        media_type="application/pdf",
        headers={
            "content-disposition": _attachment(stamped.name),
            "emeterai-stamp": json.dumps(record, ensure_ascii=True),
        },
    )


def _attachment(name: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


async def stamped_list_endpoint(request: Request) -> Response:
    return JSONResponse({"stamped": [s.to_json() for s in _desk(request).stamped_files()]})


async def stamped_endpoint(request: Request) -> Response:
    stamped = _desk(request).stamped(request.path_params["out_id"])
    return FileResponse(
        stamped.path,
        media_type="application/pdf",
        headers={"content-disposition": _attachment(stamped.name)},
    )


# -- pages ------------------------------------------------------------------------------------


def _language(request: Request, default: str) -> str:
    """``?lang=``, else the cookie the language link set, else the server's default (Indonesian
    unless English was asked for at start). Not Accept-Language: browsers send en-US out of the
    box, which is not the choice of a person who never opened its settings."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked and i18n.known(asked):
        return i18n.normalise(asked) or default
    return default


def _templates() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def page(name: str, title: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        if "lang" in request.query_params:
            lang = _language(request, _server(request).config.language)
            response = RedirectResponse(request.url.path, 303)
            response.set_cookie(LANG_COOKIE, lang, samesite="strict", httponly=True)
            return response
        env = request.app.state.templates
        html = env.get_template(name).render(
            title=_(title),
            lang=i18n.language(),
            words=json.dumps(_words(), ensure_ascii=False).replace("<", "\\u003c"),
            path=request.url.path,
            version=__version__,
        )
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    return endpoint


def _words() -> dict[str, str]:
    """The words the page's script shows, in the page's language."""
    from emeterai.web.words import WORDS

    return {key: _(text) for key, text in WORDS.items()}


# -- the app ----------------------------------------------------------------------------------


def _routes(config: ServeConfig) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/api/v1/health", health_endpoint),
        Route("/metrics", metrics_endpoint),
        Route("/api/openapi.json", openapi_endpoint),
        Route("/api/v1/verify", verify_endpoint, methods=["POST"]),
        Route("/api/v1/verify/batch", verify_batch_endpoint, methods=["POST"]),
    ]
    if config.mode is Mode.LOCAL:
        routes += [
            Route("/", page("wallet.html", i18n.N_("Stamp wallet"))),
            Route("/stamp", page("stamp.html", i18n.N_("Stamp a document"))),
            Route("/verify", page("verify.html", i18n.N_("Check documents"))),
            Route("/api/v1/reports/{report_id}", report_endpoint),
            Route("/api/v1/wallet", wallet_endpoint),
            Route("/api/v1/wallet/unlock", unlock_endpoint, methods=["POST"]),
            Route("/api/v1/wallet/lock", lock_endpoint, methods=["POST"]),
            Route("/api/v1/wallet/import", import_endpoint, methods=["POST"]),
            Route("/api/v1/trust", trust_list_endpoint),
            Route("/api/v1/trust", trust_add_endpoint, methods=["POST"]),
            Route("/api/v1/documents", documents_endpoint, methods=["POST"]),
            Route("/api/v1/documents/{doc_id}/pages/{page}", page_endpoint),
            Route("/api/v1/documents/{doc_id}/preview", preview_endpoint, methods=["POST"]),
            Route("/api/v1/stamp", stamp_endpoint, methods=["POST"]),
            Route("/api/v1/stamped", stamped_list_endpoint),
            Route("/api/v1/stamped/{out_id}", stamped_endpoint),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    return routes


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "other")


def create_app(config: ServeConfig) -> Any:
    """The ASGI app for ``config``, behind its guard."""
    server = Server(config)

    async def around(request: Request, call_next: Callable[[Request], Any]) -> Response:
        started = time.perf_counter()
        with i18n.speaking(_language(request, config.language)):
            server.start_clock()
            try:
                if request.url.path in UNCAPPED:
                    response: Response = await _answer(request, call_next)
                else:
                    with server.place():
                        response = await _answer(request, call_next)
            except Busy:
                response = _plain_error(
                    503, "busy", "the server is busy: try again in a moment", **{"retry-after": "1"}
                )
        route = _route_name(request)
        server.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        server.metrics.latency.labels(route).observe(time.perf_counter() - started)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("cache-control", "no-store")
        return response

    app = Starlette(
        routes=_routes(config),
        lifespan=_lifespan(server),
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=around)],
    )
    app.state.server = server
    app.state.templates = _templates()
    return Guard(app, config)


async def _answer(request: Request, call_next: Callable[[Request], Any]) -> Response:
    """The route's answer; the library's errors and the limits as JSON answers."""
    try:
        response: Response = await call_next(request)
        return response
    except EmeteraiError as exc:
        return error_response(exc)
    except TooSlow:
        seconds = _server(request).config.limits.request_seconds
        return _plain_error(504, "too-slow", f"the request took longer than {seconds:g} s")


def _lifespan(server: Server) -> Callable[[Any], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if server.desk is not None:
            wallet = server.desk.wallet()
            try:
                wallet.recover()
            finally:
                wallet.close()
        try:
            yield
        finally:
            if server.desk is not None:
                server.desk.close()
            if server._ledger is not None:
                server._ledger.close()

    return lifespan


def app_from_env() -> Any:
    """The app of a worker process: its config comes from the parent (``emeterai serve``)."""
    from emeterai.errors import library_logging

    library_logging(os.environ.get("EMETERAI_VERBOSE") == "1")
    return create_app(ServeConfig.from_env(os.environ[ENV]))
