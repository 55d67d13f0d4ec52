"""The HTML pages: their language (the link's choice, else the server's default) and their
templates, with every word from the catalog."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from emeterai import __version__, i18n
from emeterai.i18n import _
from emeterai.web.server import (
    server_of,
)

HERE = Path(__file__).parent


LANG_COOKIE = "emeterai_lang"


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
            lang = _language(request, server_of(request).config.language)
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
