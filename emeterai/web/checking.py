"""Checking documents over HTTP (both modes): one PDF, a batch as JSON Lines, the reports; health,
metrics and the OpenAPI document."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    Response,
    StreamingResponse,
)

from emeterai import __version__, i18n
from emeterai.archive import ArchiveLimits, is_zip, pdfs_in_zip
from emeterai.i18n import _
from emeterai.web.metrics import CONTENT_TYPE_LATEST
from emeterai.web.server import (
    Server,
    TooSlow,
    _plain_error,
    flag,
    server_of,
)
from emeterai.web.uploads import (
    TOO_MANY_FILES,
    BadRequest,
    Body,
    TooLarge,
    Upload,
    read_body,
    the_one_file,
)


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
            raise TooLarge(TOO_MANY_FILES, limit=max_files)
    return out


async def verify_endpoint(request: Request) -> Response:
    server = server_of(request)
    limits = server.config.limits
    body = await read_body(request, limits.max_upload_bytes, 1, "document.pdf")
    upload = the_one_file(body)
    result = await server.work(
        _verify_one, server, upload, body.fields.get("password"), flag(body.fields.get("ledger"))
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

    server = server_of(request)
    limits = server.config.limits
    body = await read_body(request, limits.max_upload_bytes, limits.max_batch_files, "upload")
    if any(is_zip(f.data) for f in body.files):  # inflating is work, with its time limit
        uploads = await server.work(_uploads, body, _archive_limits(server), limits.max_batch_files)
    else:
        uploads = list(body.files)
    password = body.fields.get("password")
    ledger = flag(body.fields.get("ledger"))
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

    explain = flag(body.fields.get("explain"))

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

    server = server_of(request)
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


async def health_endpoint(request: Request) -> Response:
    server = server_of(request)
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
    data = server_of(request).metrics.exposition()
    return Response(data, media_type=CONTENT_TYPE_LATEST)


async def openapi_endpoint(request: Request) -> Response:
    from emeterai.web.openapi import document

    return JSONResponse(document(server_of(request).config.mode))
