"""Small helpers for reading pyHanko PDF objects, shared by the verifier's checks."""

from __future__ import annotations

from typing import Any


def ref_key(obj: Any) -> tuple[int, int] | None:
    """(object number, generation) of a reference, or of the object a value was read from;
    None for a direct object. Lets checks compare objects across historical revisions."""
    ref = obj if hasattr(obj, "idnum") else getattr(obj, "container_ref", None)
    if ref is None or not hasattr(ref, "idnum"):
        return None
    return (int(ref.idnum), int(ref.generation))


def entry(d: Any, key: str, default: Any = None) -> Any:
    """``d[key]``, or ``default`` when it is missing or cannot be read. Indexing, unlike
    ``get``, resolves references and decrypts values in encrypted files."""
    try:
        return d[key] if key in d else default  # noqa: SIM401
    except Exception:
        return default
