"""What a request carries: a PDF as the body, or multipart fields and files, read under the
size cap. Files over a megabyte spool to private temporary files (mode 0600, deleted when the
request ends); a client's file name is kept only as a label, never used as a path."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from emeterai.errors import EmeteraiError
from emeterai.i18n import N_
from emeterai.names import shown

__all__ = ["BadRequest", "Body", "TooLarge", "Upload", "read_body", "the_one_file"]


TOO_MANY_FILES = N_("at most {limit} files can be sent at once")
ONE_PDF = N_("send one PDF: as the body, or as the form field 'file'")


class TooLarge(EmeteraiError):
    """The request is larger than the server takes (413)."""


class BadRequest(EmeteraiError):
    """The request is not what the endpoint reads (400)."""


@dataclass(frozen=True)
class Upload:
    """One file of a request: the label the client gave it and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Body:
    files: tuple[Upload, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


def the_one_file(body: Body) -> Upload:
    """The request's single file, or BadRequest."""
    if len(body.files) != 1:
        raise BadRequest(ONE_PDF)
    return body.files[0]


def label(name: str | None, default: str = "upload.pdf") -> str:
    """A client's file name as shown: its last part only, printable, at most 200 characters."""
    if not name:
        return default
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in shown(last) if ch.isprintable()).strip()
    return clean[:200] or default


async def _capped(request: Request, cap: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise TooLarge(N_("the upload is larger than {limit} MB"), limit=cap // (1024 * 1024))
        yield chunk


async def read_body(request: Request, cap: int, max_files: int, default_name: str) -> Body:
    """The request's files and fields. A body that is not multipart is one file (``application/
    pdf``, ``application/zip`` or octet-stream); its name comes from ``?name=``."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        raise TooLarge(N_("the upload is larger than {limit} MB"), limit=cap // (1024 * 1024))
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        raw = bytearray()
        async for chunk in _capped(request, min(cap, 1024 * 1024)):
            raw += chunk
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return Body((), {k: v for k, v in pairs})
    if not ctype.startswith("multipart/form-data"):
        data = bytearray()
        async for chunk in _capped(request, cap):
            data += chunk
        name = label(request.query_params.get("name"), default_name)
        given = {k: v for k, v in request.query_params.items() if k not in ("name", "token")}
        return Body((Upload(name, bytes(data)),), given)
    # the count is checked below, to answer 413 like any other limit (the cap bounds the rest)
    parser = MultiPartParser(request.headers, _capped(request, cap), max_files=cap, max_fields=64)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(N_("the form could not be read ({reason})"), reason=exc.message) from None
    try:
        files: list[Upload] = []
        fields: dict[str, str] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append(Upload(label(value.filename, default_name), await value.read()))
            else:
                fields[key] = value
            if len(files) > max_files:
                raise TooLarge(TOO_MANY_FILES, limit=max_files)
        return Body(tuple(files), fields)
    finally:
        await form.close()
