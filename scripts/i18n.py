"""Keep the translation catalogs with Babel: extract the marked strings, update the Indonesian
catalog, add translations, compile, and check.

    python scripts/i18n.py update             # extract -> emeterai.pot, merge into id .po, compile
    python scripts/i18n.py add FRAGMENT.po    # take the msgstr of FRAGMENT for known msgids
    python scripts/i18n.py check              # exit 1: untranslated, stale, or a .mo not fresh

The ``.mo`` is committed beside its ``.po`` (an editable install reads it from the tree);
``check``, run by the tests, fails when it is not exactly what the ``.po`` compiles to.
"""

from __future__ import annotations

import datetime
import fcntl
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emeterai"
LOCALE = PACKAGE / "locale"
POT = LOCALE / "emeterai.pot"
LANGUAGES = ("id",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "emeterai.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


@contextmanager
def _locked() -> Iterator[None]:
    """One catalog change at a time, whoever runs this script."""
    LOCALE.mkdir(parents=True, exist_ok=True)
    with (LOCALE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def extract() -> Catalog:
    """Every marked string of the package, with where it is used."""
    catalog = Catalog(project="emeterai", domain="emeterai", charset="utf-8")
    # the web pages' templates too ({{ _("...") }}), with Jinja2's own extractor for Babel
    method_map = [("**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(
            message,
            None,
            [(f"emeterai/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def _write_po(path: Path, catalog: Catalog) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def _read_po(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, project="emeterai", domain="emeterai", charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def compiled(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _stable(catalog: Catalog) -> Catalog:
    """The catalog without its dates, so an unchanged catalog writes the same bytes."""
    fixed = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    catalog.creation_date = catalog.revision_date = fixed
    return catalog


def update() -> None:
    template = _stable(extract())
    with _locked():
        _write_po(POT, template)
        for lang in LANGUAGES:
            catalog = _read_po(po_path(lang), lang)
            catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
            catalog.obsolete.clear()  # stale entries go: the source no longer says them
            _stable(catalog)
            _write_po(po_path(lang), catalog)
            mo_path(lang).write_bytes(compiled(catalog))


def add(fragment: Path, lang: str = "id") -> int:
    """Copy the translations of ``fragment`` into the ``lang`` catalog; how many were taken."""
    with fragment.open("rb") as f:
        given = read_po(f, locale=lang)
    taken = 0
    with _locked():
        catalog = _read_po(po_path(lang), lang)
        for message in given:
            if not message.id or not message.string:
                continue
            known = catalog.get(message.id, context=message.context)
            if known is None:
                print(f"not in the catalog (run update first?): {message.id!r}", file=sys.stderr)
                continue
            known.string = message.string
            known.flags.discard("fuzzy")
            taken += 1
        _stable(catalog)
        _write_po(po_path(lang), catalog)
        mo_path(lang).write_bytes(compiled(catalog))
    return taken


def problems(lang: str = "id") -> list[str]:
    """What is wrong with the ``lang`` catalog: untranslated or stale entries, a stale .mo."""
    template = extract()
    catalog = _read_po(po_path(lang), lang)
    found = []
    wanted = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in template if m.id}
    have = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}
    for msgid, _context in sorted(wanted - have, key=str):
        found.append(f"not in the {lang} catalog: {msgid!r}")
    for msgid, _context in sorted(have - wanted, key=str):
        found.append(f"stale in the {lang} catalog (no longer in the source): {msgid!r}")
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or "fuzzy" in message.flags:
            found.append(f"untranslated in the {lang} catalog: {message.id!r}")
    mo = mo_path(lang)
    if not mo.exists() or mo.read_bytes() != compiled(catalog):
        found.append(f"{mo.relative_to(ROOT)} is not compiled from its .po: run update")
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("update", "add", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "update":
        update()
        return 0
    if argv[0] == "add":
        for name in argv[1:]:
            print(f"{name}: {add(Path(name))} translations taken", file=sys.stderr)
        return 0
    found = [p for lang in LANGUAGES for p in problems(lang)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
