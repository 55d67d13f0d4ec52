"""The guard in front of every request: token, Host (DNS rebinding), Origin (CSRF), no CORS.

A page of any web site the user visits can send requests to 127.0.0.1; these rules are what
stops it. The token made at each start is the only credential: the URL printed by ``emeterai
serve`` carries it once, and the first request turns it into an HttpOnly, SameSite=Strict
cookie (then redirects to the same page without it, so it stays out of history and referrers);
API clients send ``Authorization: Bearer TOKEN``. A rebinding attack reaches the server under a
foreign Host name, so on loopback only loopback names are served. A cross-site form post
carries the victim's cookie only without SameSite; it also carries its Origin, which must be
this server's. Without CORS headers no other origin can read an answer.
"""

from __future__ import annotations

import hmac
import html
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from emeterai.i18n import N_
from emeterai.web.config import Mode, ServeConfig, is_loopback

__all__ = ["COOKIE", "Guard", "SECURITY_HEADERS"]

COOKIE = "emeterai_token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
OPEN_IN_SERVICE = frozenset({"/api/v1/health"})  # a load balancer's probe carries no token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        out.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _host_name(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:80`` -> ``[::1]``."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: refuses what the rules above refuse, with a one-line JSON reason, and
    adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, config: ServeConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            if refusal[0] == 401 and "text/html" in headers.get("accept", ""):
                await _token_page(send)  # a person who opened the address without its token
            else:
                await _answer(send, *refusal)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self.config.token and "token" in query and scope["method"] in SAFE_METHODS:
            await self._token_to_cookie(scope, send, query)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        method = scope["method"]
        if self.config.loopback and not is_loopback(_host_name(headers.get("host", ""))):
            return 421, "host-not-allowed", "this server answers only to 127.0.0.1 or localhost"
        if method == "OPTIONS":
            return 405, "no-cors", "cross-origin requests are not served"
        if method not in SAFE_METHODS:
            origin = headers.get("origin")
            own = "http://" + headers.get("host", "")
            if origin is not None and origin != own:
                return 403, "cross-origin", "a request from another site was refused"
            if headers.get("sec-fetch-site") == "cross-site":
                return 403, "cross-origin", "a request from another site was refused"
        if not self.config.needs_token or not self.config.token:
            return None
        if self.config.mode is not Mode.LOCAL and scope["path"] in OPEN_IN_SERVICE:
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if method in SAFE_METHODS and "token" in query:
            given = query["token"]
        else:
            auth = headers.get("authorization", "")
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                given = value.strip()
            else:
                given = _cookie(headers.get("cookie", ""), COOKIE) or ""
        if not hmac.compare_digest(given.encode(), self.config.token.encode()):
            return (
                401,
                "token-required",
                "open the address that 'emeterai serve' printed (it carries the access token), "
                "or send Authorization: Bearer TOKEN",
            )
        return None

    async def _token_to_cookie(self, scope: Scope, send: Send, query: dict[str, str]) -> None:
        """The printed URL's token becomes the cookie; the browser is sent to the same page
        without it."""
        rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
        location = scope["path"] + (f"?{rest}" if rest else "")
        token = self.config.token or ""
        cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await _send(send, status, "application/json", body)


async def _token_page(send: Send) -> None:
    """What a person sees who opens the server without the printed address: in both languages
    (no language is known yet), what to do."""
    from emeterai import i18n

    text = N_(
        "Open the address that 'emeterai serve' printed in its window: it carries the access "
        "key of this session. Closed that window? Start 'emeterai serve' again."
    )
    with i18n.speaking("id"):
        indonesian = html.escape(i18n._(text))
    body = (
        '<!doctype html><html lang="id"><meta charset="utf-8"><title>emeterai</title>'
        f'<p lang="id">{indonesian}</p><p lang="en">{html.escape(text)}</p></html>'
    ).encode()
    await _send(send, 401, "text/html; charset=utf-8", body)


async def _send(send: Send, status: int, kind: str, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind.encode()),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
