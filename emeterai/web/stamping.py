"""Stamping in the browser and over the API (local mode): hold an upload, show its pages, preview
(nothing spent), stamp through the library, download again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    Response,
)

from emeterai import i18n
from emeterai.errors import (
    EmeteraiError,
    UsageError,
)
from emeterai.web.desk import Desk, StampedFile, download_name
from emeterai.web.server import (
    desk_of,
    error_response,
    flag,
    read_form,
    server_of,
)
from emeterai.web.uploads import BadRequest, Upload, the_one_file


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
        "warnings": [i18n.said(w) for w in p.warnings],
        "repair": i18n.said(analysis.repair) if analysis.repair else None,
        "download_name": download_name(doc.name),
    }


async def documents_endpoint(request: Request) -> Response:
    desk = desk_of(request)
    body = await read_form(request, 1)
    upload = the_one_file(body)
    try:
        held = await server_of(request).work(_hold, desk, upload, body.fields)
    except EmeteraiError as exc:
        return error_response(exc, upload.name)
    return JSONResponse(held)


def _page_png(desk: Desk, doc_id: str, page: int, dpi: float, password: str | None) -> bytes:
    from emeterai.pages import render_page

    doc = desk.held(doc_id)
    return render_page(doc.path.read_bytes(), page - 1, doc.name, dpi, password)


async def page_endpoint(request: Request) -> Response:
    desk = desk_of(request)
    try:
        page = int(request.path_params["page"])
        dpi = min(max(float(request.query_params.get("dpi", PREVIEW_DPI)), 30.0), 200.0)
    except ValueError:
        raise BadRequest(i18n.N_("page and dpi must be numbers")) from None
    png = await server_of(request).work(
        _page_png,
        desk,
        request.path_params["doc_id"],
        page,
        dpi,
        request.query_params.get("password"),
    )
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


def _preview(desk: Desk, doc_id: str, fields: dict[str, str]) -> bytes:
    from emeterai.plan import dry_run_of, preview_stamp

    doc = desk.held(doc_id)
    wallet = desk.wallet()
    try:
        shown = preview_stamp(wallet)
    finally:
        wallet.close()
    png = dry_run_of(doc.path.read_bytes(), doc.name, _options(fields), shown).preview_png
    assert png is not None  # a shown stamp is drawn
    return png


async def preview_endpoint(request: Request) -> Response:
    desk = desk_of(request)
    body = await read_form(request)
    doc_id = request.path_params["doc_id"]
    try:
        png = await server_of(request).work(_preview, desk, doc_id, body.fields)
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
    from emeterai.plan import dry_run_of

    return dry_run_of(upload.data, upload.name, _options(fields)).to_json()


async def stamp_endpoint(request: Request) -> Response:
    """The stamped PDF (its record in the ``Emeterai-Stamp`` header, JSON), or with
    ``dry_run`` the record of where it would go, nothing spent. The document is the body, the
    form field ``file``, or the id of one uploaded before (``document``)."""
    server = server_of(request)
    desk = desk_of(request)
    body = await read_form(request, 1)
    doc_id = body.fields.get("document")
    if doc_id:
        held = desk.held(doc_id)
        upload = Upload(held.name, held.path.read_bytes())
    else:
        upload = the_one_file(body)
    try:
        if flag(body.fields.get("dry_run")):
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
    return JSONResponse({"stamped": [s.to_json() for s in desk_of(request).stamped_files()]})


async def stamped_endpoint(request: Request) -> Response:
    stamped = desk_of(request).stamped(request.path_params["out_id"])
    return FileResponse(
        stamped.path,
        media_type="application/pdf",
        headers={"content-disposition": _attachment(stamped.name)},
    )
