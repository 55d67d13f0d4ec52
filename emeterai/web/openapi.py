"""The OpenAPI 3.1 document of the API (``/api/openapi.json``), written out by hand: it says
what the library answers, and a test checks every documented path against the routes."""

from __future__ import annotations

from typing import Any

from emeterai import __version__
from emeterai.web.config import Mode

__all__ = ["document"]

_PDF_BODY = {
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "password": {"type": "string"},
                    "ledger": {"type": "boolean"},
                },
                "required": ["file"],
            }
        },
    },
    "required": True,
}
_ERROR = {
    "description": "An error: `error` (its kind), `message` (English), `text` (the request's language).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "text": {"type": "string"},
                },
            }
        }
    },
}
_LIMITS = {
    "401": {"description": "No or wrong token."},
    "413": {"description": "Upload, batch or archive over a limit."},
    "503": {"description": "Saturated: try again after Retry-After seconds."},
    "504": {"description": "Over the per-request time limit."},
}
_VERDICT = {
    "type": "object",
    "description": "The same object as `emeterai verify --json`.",
    "properties": {
        "file": {"type": "string"},
        "valid": {"type": "boolean"},
        "stamps": {"type": "array", "items": {"type": "object"}},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}


def _post(summary: str, body: dict[str, Any] | None, ok: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": ok, **_LIMITS, "default": _ERROR},
    }
    if body is not None:
        op["requestBody"] = body
    return {"post": op}


def _get(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": ok, "401": _LIMITS["401"]}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document(mode: Mode) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/verify": _post(
            "Verify one PDF; HTTP 200 for valid and invalid documents alike.",
            _PDF_BODY,
            _json(_VERDICT),
        ),
        "/api/v1/verify/batch": _post(
            "Verify many PDFs (multipart `files`, or a .zip); JSON Lines, one verdict per file; "
            "with the field `report=csv|html`, that report instead.",
            {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "report": {"type": "string", "enum": ["csv", "html"]},
                                "ledger": {"type": "boolean"},
                            },
                        }
                    },
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                },
                "required": True,
            },
            {"description": "One verdict per line", "content": {"application/x-ndjson": {}}},
        ),
        "/api/v1/health": _get("Liveness and mode.", _json({"type": "object"})),
        "/metrics": _get(
            "Prometheus metrics: requests, verdicts by problem code, latency.",
            {"description": "OK", "content": {"text/plain": {}}},
        ),
    }
    if mode is Mode.LOCAL:
        paths["/api/v1/stamp"] = _post(
            "Stamp one PDF (local mode): the stamped PDF, its record in the `Emeterai-Stamp` "
            "header; with `dry_run`, the record of where it would go, nothing spent.",
            {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "document": {"type": "string"},
                                "page": {"type": "string"},
                                "at": {"type": "string", "description": "X,Y mm from top-left"},
                                "size": {"type": "number"},
                                "dry_run": {"type": "boolean"},
                                "serial": {"type": "string"},
                                "passphrase": {"type": "string"},
                            },
                        }
                    },
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
                "required": True,
            },
            {"description": "The stamped PDF", "content": {"application/pdf": {}}},
        )
        paths["/api/v1/wallet"] = _get(
            "The wallet's stamps (local mode).", _json({"type": "object"})
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "emeterai", "version": __version__},
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": paths,
    }
