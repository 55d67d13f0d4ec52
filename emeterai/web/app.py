"""The routes of ``emeterai serve``: pages and API over the library, nothing decided here.

Every handler parses its request, calls the library in a worker thread (the CPU work: verifying,
stamping, rendering) and answers. The in-flight cap answers 503 with Retry-After before any work
starts; the time limit answers 504 (the work then finishes in its thread, still holding its
place under the cap, so a slow file cannot pile up more). Stamping, the wallet and the issuer
routes exist only in local mode: in service mode they are not routed at all (404).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from emeterai import i18n
from emeterai.errors import (
    EmeteraiError,
)
from emeterai.web.checking import (
    health_endpoint,
    metrics_endpoint,
    openapi_endpoint,
    report_endpoint,
    verify_batch_endpoint,
    verify_endpoint,
)
from emeterai.web.config import ENV, Mode, ServeConfig
from emeterai.web.page_routes import (
    HERE,
    _language,
    _templates,
    page,
)
from emeterai.web.security import Guard
from emeterai.web.server import (
    UNCAPPED,
    Busy,
    Server,
    TooSlow,
    _plain_error,
    error_response,
)
from emeterai.web.stamping import (
    documents_endpoint,
    page_endpoint,
    preview_endpoint,
    stamp_endpoint,
    stamped_endpoint,
    stamped_list_endpoint,
)
from emeterai.web.wallet_routes import (
    import_endpoint,
    lock_endpoint,
    trust_add_endpoint,
    trust_list_endpoint,
    unlock_endpoint,
    wallet_endpoint,
)

__all__ = ["app_from_env", "create_app"]


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


class _Around:
    """Around every request (plain ASGI: no extra task per request, the GIL is the verifier's):
    its language, its clock, its place under the in-flight cap, and its metrics."""

    def __init__(self, app: Any, server: Server) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = self.server
        started = time.perf_counter()
        status = 500
        api = scope["path"].startswith("/api/")

        async def send_noting_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if api and not any(k.lower() == b"cache-control" for k, _v in headers):
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        with i18n.speaking(_language(Request(scope), server.config.language)):
            server.start_clock()
            try:
                if scope["path"] in UNCAPPED:
                    await self.app(scope, receive, send_noting_status)
                else:
                    with server.place():
                        await self.app(scope, receive, send_noting_status)
            except Busy:
                busy = _plain_error(
                    503, "busy", "the server is busy: try again in a moment", **{"retry-after": "1"}
                )
                await busy(scope, receive, send_noting_status)
        route = getattr(scope.get("route"), "path", "other")
        server.metrics.requests.labels(route, scope["method"], str(status)).inc()
        server.metrics.latency.labels(route).observe(time.perf_counter() - started)


def create_app(config: ServeConfig) -> Any:
    """The ASGI app for ``config``, behind its guard."""
    server = Server(config)

    async def library_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EmeteraiError)
        return error_response(exc)

    async def too_slow(request: Request, exc: Exception) -> Response:
        seconds = config.limits.request_seconds
        return _plain_error(504, "too-slow", f"the request took longer than {seconds:g} s")

    app = Starlette(
        routes=_routes(config),
        lifespan=_lifespan(server),
        exception_handlers={EmeteraiError: library_error, TooSlow: too_slow},
    )
    app.state.server = server
    app.state.templates = _templates()
    return Guard(_Around(app, server), config)


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
