"""Small helpers for reading pyHanko PDF objects, shared by the verifier's checks."""

from __future__ import annotations

from typing import Any

from emeterai.i18n import N_


class Said(str):
    """An English sentence (the text JSON carries) that keeps its catalog template and params,
    so a problem made from it reads in a person's language. Params are data, never translated."""

    template: str
    params: dict[str, str]
    nested: dict[str, Any]  # params that say themselves (another Said: a noun, a reason)

    def __new__(cls, template: str, **params: object) -> Said:
        values = {k: str(v) for k, v in params.items()}
        said = super().__new__(cls, template.format(**values) if values else template)
        said.template = template
        said.params = values
        said.nested = {k: v for k, v in params.items() if callable(getattr(v, "translated", None))}
        return said

    def translated(self) -> str:
        """The sentence in the current language."""
        from emeterai.i18n import _

        text = _(self.template)
        if not self.params:
            return text
        return text.format(**{**self.params, **{k: v.translated() for k, v in self.nested.items()}})

    def parts(self) -> dict[str, object]:
        """The params to build another sentence from this one's (``Problem.of``)."""
        return {**self.params, **self.nested}


class Joined(str):
    """Phrases said one after another, ``", "`` between them: English as JSON carries it, each
    phrase in a person's language when translated (a list inside a sentence)."""

    items: tuple[str, ...]
    sep: str

    def __new__(cls, items: tuple[str, ...] | list[str], sep: str = ", ") -> Joined:
        joined = super().__new__(cls, sep.join(items))
        joined.items = tuple(items)
        joined.sep = sep
        return joined

    def translated(self) -> str:
        return self.sep.join(
            t() if callable(t := getattr(item, "translated", None)) else item for item in self.items
        )


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


# A form has a handful of fields; these bound what a hostile one can make a walk do.
MAX_FIELD_DEPTH = 32
MAX_FIELDS = 100_000


def field_tree_problem(fields: Any) -> Said | None:
    """Why the form's field tree (``/AcroForm /Fields``) cannot be walked safely, or None.

    Every field has one parent, so a walk over ``/Kids`` reaches each once; a field reached
    twice (a shared kid, a cycle) turns a recursive walk such as pyHanko's field enumeration
    exponential: 34 levels of ``/Kids [n n]`` are 2**34 visits. Works on pypdf's and pyHanko's
    objects alike."""
    if not isinstance(fields, list):
        return None
    seen: set[tuple[int, int] | tuple[str, int]] = set()
    stack: list[tuple[list[Any], int]] = [(fields, 0)]
    count = 0
    while stack:
        kids, depth = stack.pop()
        if depth > MAX_FIELD_DEPTH:
            return Said(N_("the form's fields are nested too deeply"))
        for item in kids:
            node = item.get_object() if hasattr(item, "get_object") else item
            key = ref_key(item) or ref_key(node) or ("direct", id(node))
            if key in seen:
                return Said(
                    N_("the form's field tree reaches one field twice (a shared or cyclic /Kids)")
                )
            seen.add(key)
            count += 1
            if count > MAX_FIELDS:
                return Said(N_("the form has too many fields"))
            grandkids = entry(node, "/Kids") if hasattr(node, "get") else None
            if isinstance(grandkids, list):
                stack.append((grandkids, depth + 1))
    return None
