"""The language people read: Indonesian or English, with gettext catalogs.

The language comes from ``--lang``, then ``EMETERAI_LANG``, then the locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``, the first one set, as POSIX orders them): ``id_ID.UTF-8`` gives
Indonesian, anything else English. Only what a person reads is translated: JSON keys, problem
codes, exit codes and the texts inside JSON records stay the same in every language, so scripts
never depend on it.

Strings are marked with :func:`_` (translated now) or :func:`N_` (marked, translated where they
are shown); the catalogs are ``emeterai/locale/LANG/LC_MESSAGES/emeterai.po`` (sources, kept with
``scripts/i18n.py``) and their compiled ``.mo``. The pseudo-language ``qps`` (tests only) wraps
every translated string in ``⟦ ⟧``: any text a command prints outside those brackets was never
passed through the catalog.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "N_",
    "_",
    "choose",
    "day",
    "known",
    "language",
    "moment",
    "ngettext",
    "rupiah",
    "said",
    "set_language",
    "speaking",
]

LANGUAGES = ("id", "en")
PSEUDO = "qps"
DOMAIN = "emeterai"
LOCALE_DIR = Path(__file__).parent / "locale"

_translations: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"
# A language for one task (a web request), over the process-wide one: None means that one.
_speaking: contextvars.ContextVar[tuple[str, _gettext.NullTranslations] | None] = (
    contextvars.ContextVar("emeterai_language", default=None)
)


class _Pseudo(_gettext.NullTranslations):
    """Every string marked: ``⟦text⟧``."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


def _code(value: str) -> str:
    """The language part of a locale name: ``id_ID.UTF-8`` -> ``id``, ``en-GB`` -> ``en``."""
    return value.strip().split(".")[0].split("@")[0].replace("-", "_").lower().split("_")[0]


def normalise(value: str) -> str | None:
    """``id_ID.UTF-8``, ``id``, ``in_ID`` -> ``id``; ``en_GB``, ``C``, ``POSIX`` -> ``en``;
    None for a value that names no language at all (empty)."""
    code = _code(value)
    if not code:
        return None
    if code in ("id", "in"):  # 'in' is the old ISO 639 code for Indonesian
        return "id"
    if code == PSEUDO:
        return PSEUDO
    return "en"


def known(value: str) -> bool:
    """Does ``value`` (``--lang``) name a language emeterai speaks?"""
    return _code(value) in ("in", PSEUDO, *LANGUAGES)


def choose(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The language to speak: ``explicit`` (``--lang``), else the environment."""
    for value in (
        explicit,
        environ.get("EMETERAI_LANG"),
        environ.get("LC_ALL"),
        environ.get("LC_MESSAGES"),
        environ.get("LANG"),
    ):
        if value:
            chosen = normalise(value)
            if chosen is not None:
                return chosen
    return "en"


def _catalog(lang: str) -> _gettext.NullTranslations:
    if lang == PSEUDO:
        return _Pseudo()
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def set_language(lang: str) -> None:
    """Speak ``lang`` from now on (``id``, ``en`` or the pseudo-language ``qps``)."""
    global _translations, _language
    _translations = _catalog(lang)
    _language = lang


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` in this context only (one web request, whatever the process speaks):
    threads and tasks started from it inherit it with their copied context."""
    token = _speaking.set((lang, _catalog(lang)))
    try:
        yield
    finally:
        _speaking.reset(token)


def _current() -> tuple[str, _gettext.NullTranslations]:
    return _speaking.get() or (_language, _translations)


def language() -> str:
    return _current()[0]


def _(message: str) -> str:
    """``message`` in the current language."""
    return _current()[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current()[1].ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it: it is translated (with
    :func:`_`) where it is shown, e.g. a help text or an error message kept in English for
    JSON."""
    return message


def said(text: str) -> str:
    """A text the library wrote, in the reader's language when it can say itself there (a
    ``Said``: a placement warning, a repair); plain text (a library's own words) as it is."""
    translated = getattr(text, "translated", None)
    return translated() if callable(translated) else text


def rupiah(value: int) -> str:
    """An amount as people read it: ``Rp10.000`` in Indonesian, ``Rp10,000`` in English."""
    grouped = f"{value:,}"
    return "Rp" + (grouped.replace(",", ".") if language() == "id" else grouped)


# Indonesia's three time zones by their UTC offset in hours, as people name them.
_INDONESIAN_ZONES = {7: "WIB", 8: "WITA", 9: "WIT"}
_MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def day(when: dt.date) -> str:
    """A date as people read it: ``2 Des 2027`` in Indonesian, ``2027-12-02`` in English."""
    if language() == "id":
        return f"{when.day} {_MONTHS_ID[when.month - 1]} {when.year}"
    return when.isoformat()


def moment(when: dt.datetime | str, tz: dt.tzinfo | None = None) -> str:
    """A time as people read it: in the local time zone (``tz``, default this machine's) with
    the zone's name: ``2 Des 2026 14.05 WIB`` in Indonesian, ``2 Dec 2026 14:05 WIB`` in
    English. JSON keeps ISO 8601 with its offset."""
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = when.astimezone(tz) if tz is not None else when.astimezone()
    offset = local.utcoffset() or dt.timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    zone = _INDONESIAN_ZONES.get(hours) if rest == 0 else None
    if zone is None:
        name = local.tzname() or ""
        zone = name if name.isalpha() and len(name) <= 5 else _utc_offset(offset)
    if language() == "id":
        return f"{day(local.date())} {local:%H.%M} {zone}"
    return f"{local.day} {local:%b %Y %H:%M} {zone}"


def _utc_offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


set_language(choose(None, os.environ))
