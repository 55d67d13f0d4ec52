"""The wallet and the trusted issuers in the browser (local mode): list, unlock, lock, import
stamp files, trust a root."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    Response,
)

from emeterai import i18n
from emeterai.web.desk import Desk
from emeterai.web.server import (
    Server,
    desk_of,
    read_form,
    server_of,
)
from emeterai.web.uploads import BadRequest, Body


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
    desk = desk_of(request)
    return JSONResponse(await server_of(request).work(_wallet_json, desk))


async def unlock_endpoint(request: Request) -> Response:
    desk = desk_of(request)
    body = await read_form(request)
    passphrase = body.fields.get("passphrase", "")
    await server_of(request).work(desk.unlock, passphrase)
    return JSONResponse({"unlocked": True, "lock_after_seconds": desk.lock_after})


async def lock_endpoint(request: Request) -> Response:
    desk_of(request).lock()
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
    desk = desk_of(request)
    body = await read_form(request, server_of(request).config.limits.max_batch_files)
    if not body.files:
        raise BadRequest(i18n.N_("choose the stamp files (.p12) to import"))
    outcomes = await server_of(request).work(_import, desk, body)
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
    server = server_of(request)
    body = await read_form(request, 16)
    if not body.files:
        raise BadRequest(i18n.N_("choose the issuer's root certificate (.pem)"))
    return JSONResponse({"trusted": await server.work(_trust, server, body)})


async def trust_list_endpoint(request: Request) -> Response:
    desk = desk_of(request)
    return JSONResponse({"roots": [r.to_json() for r in desk.trust_store().roots()]})
