"""Reports on many verdicts: the summary counts, and the CSV and HTML files of ``verify --report``
(README, "Reports for an office").

Both reports are built from :class:`~emeterai.verify.VerifyResult`\\ s and returned as bytes; the
caller writes them (atomically). CSV: one row per file and stamp, UTF-8 with a byte-order mark so
that Excel and LibreOffice read non-ASCII names, cells that a spreadsheet would run as a formula
defused. HTML: one self-contained page (inline style, no script, no external reference, a
Content-Security-Policy that forbids both), invalid files first, each problem in plain words
with what to do (:mod:`emeterai.problems`).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emeterai.errors import Hint, UsageError
from emeterai.i18n import N_, _, language, moment, rupiah
from emeterai.names import shown
from emeterai.problems import EXPLANATIONS, main_first, main_reason
from emeterai.verify import Code, Problem, StampReport, VerifyResult

__all__ = [
    "CSV_COLUMNS",
    "InvalidFirst",
    "ReportFormat",
    "Summary",
    "check_destination",
    "csv_report",
    "html_report",
    "invalid_first",
    "render",
    "report_format",
    "summarize",
]

# The CSV's headings in English; the file carries them in the reader's language (office staff
# open it in a spreadsheet), while the problem codes in its cells stay codes.
CSV_COLUMNS = (
    N_("file"),
    N_("verdict"),
    N_("main_problem"),
    N_("stamp"),
    N_("serial"),
    N_("value"),
    N_("issuer"),
    N_("specimen"),
    N_("stamped_at"),
    N_("page"),
    N_("document_sha256"),
    N_("problem_codes"),
    N_("problem_details"),
)
TITLE = N_("e-meterai verification report")


class ReportFormat(enum.StrEnum):
    """A report's format, chosen by the file's suffix."""

    CSV = "csv"
    HTML = "html"


@dataclass(frozen=True)
class Summary:
    """Counts over a run: ``reasons`` counts each invalid file once, under its main reason;
    ``codes`` counts the files on which each code appears at all. Both most frequent first."""

    files: int
    valid: int
    invalid: int
    reasons: tuple[tuple[Code, int], ...]
    codes: tuple[tuple[Code, int], ...]

    def text(self) -> str:
        """E.g. ``200 file(s): 192 valid, 8 invalid — 5 modified-after-stamp, 3 serial-reused``."""
        counts = {"files": self.files, "valid": self.valid, "invalid": self.invalid}
        if not self.reasons:
            return _("{files} file(s): {valid} valid, {invalid} invalid").format(**counts)
        reasons = ", ".join(f"{n} {code}" for code, n in self.reasons)
        return _("{files} file(s): {valid} valid, {invalid} invalid — {reasons}").format(
            reasons=reasons, **counts
        )

    def to_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "valid": self.valid,
            "invalid": self.invalid,
            "reasons": {str(code): n for code, n in self.reasons},
            "codes": {str(code): n for code, n in self.codes},
        }


def _by_count(counter: Counter[Code]) -> tuple[tuple[Code, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], EXPLANATIONS[kv[0]].rank)))


def summarize(results: Iterable[VerifyResult]) -> Summary:
    files = valid = 0
    reasons: Counter[Code] = Counter()
    codes: Counter[Code] = Counter()
    for result in results:
        files += 1
        main = main_reason(result.problems)
        if main is None:
            valid += 1
            continue
        reasons[main.code] += 1
        codes.update({p.code for p in result.problems})
    return Summary(files, valid, files - valid, _by_count(reasons), _by_count(codes))


class InvalidFirst:
    """The order verdicts are shown in, as they come: an invalid one at once (seen while a long
    batch runs), valid ones held until :meth:`rest`, so that a few invalid files are not buried
    under many valid ones. verify's lines and the HTML report both follow it."""

    def __init__(self) -> None:
        self._held: list[VerifyResult] = []

    def take(self, result: VerifyResult) -> tuple[VerifyResult, ...]:
        """What to show now that ``result`` has come: itself if invalid, else nothing yet."""
        if result.valid:
            self._held.append(result)
            return ()
        return (result,)

    def rest(self) -> tuple[VerifyResult, ...]:
        """The valid verdicts held so far, in their order (each given once)."""
        held, self._held = tuple(self._held), []
        return held


def invalid_first(results: Iterable[VerifyResult]) -> list[VerifyResult]:
    """Invalid files before valid ones, each group in its given order (:class:`InvalidFirst`)."""
    order = InvalidFirst()
    shown_now = [now for result in results for now in order.take(result)]
    return shown_now + list(order.rest())


def report_format(path: Path) -> ReportFormat:
    """The format a report's name asks for (``.csv``, ``.html``/``.htm``), or a usage error."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return ReportFormat.CSV
    if suffix in (".html", ".htm"):
        return ReportFormat.HTML
    raise UsageError(
        N_("a report is a .csv or an .html file (the suffix chooses the format)"), path=path
    )


def check_destination(path: Path, overwrite: bool) -> ReportFormat:
    """Everything about a report's path that can be checked before any file is verified: its
    format, its folder, and that it does not exist unless ``overwrite``."""
    fmt = report_format(path)
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(
            N_("cannot write the report: no folder {folder}"), path=path, folder=folder
        )
    if path.is_dir():
        raise UsageError(N_("is a folder, not a report file"), path=path)
    if path.exists() and not overwrite:
        raise UsageError(N_("already exists"), path=path, hint=Hint.FORCE)
    return fmt


def render(fmt: ReportFormat, results: Sequence[VerifyResult]) -> bytes:
    return csv_report(results) if fmt is ReportFormat.CSV else html_report(results)


# -- CSV --------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``) is
    prefixed with an apostrophe, so that a hostile file name stays text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    text = shown(str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(result: VerifyResult) -> list[list[str]]:
    verdict = _("valid") if result.valid else _("invalid")
    main = main_reason(result.problems)
    stamps: Sequence[StampReport | None] = result.stamps or (None,)
    rows = []
    for index, stamp in enumerate(stamps, 1):
        problems = main_first(result.file_problems + (stamp.problems if stamp else ()))
        rows.append(
            [
                _cell(v)
                for v in (
                    result.file,
                    verdict,
                    main.code if main else None,
                    index if stamp else None,
                    stamp.serial if stamp else None,
                    stamp.value if stamp else None,
                    stamp.issuer if stamp else None,
                    stamp.specimen if stamp else None,
                    stamp.stamped_at if stamp else None,
                    stamp.page if stamp else None,
                    stamp.document_sha256 if stamp else None,
                    " ".join(dict.fromkeys(p.code for p in problems)),
                    " | ".join(f"{p.code}: {p.translated()}" for p in problems),
                )
            ]
        )
    return rows


def csv_report(results: Iterable[VerifyResult]) -> bytes:
    """One row per file and stamp (a file without stamps: one row), in the given order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_(column) for column in CSV_COLUMNS])
    for result in results:
        writer.writerows(_rows(result))
    return out.getvalue().encode("utf-8-sig")


# -- HTML -------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.meta { color: #666; margin-top: 0; }
.summary { font-size: 1.2em; font-weight: bold; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.file { word-break: break-all; }
tr.invalid td.verdict { color: #fff; background: #b00020; font-weight: bold; }
tr.valid td.verdict { color: #fff; background: #1b7f3b; font-weight: bold; }
.problem { margin: 0 0 0.6em 0; }
.also { margin-left: 1.5em; }
.detail { color: #555; font-family: monospace; font-size: 0.9em; }
.todo { font-style: italic; }
table.counts { width: auto; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else shown(str(value)), quote=True)


def _stamp_html(stamp: StampReport) -> str:
    stamped = moment(stamp.stamped_at) if stamp.stamped_at else None
    parts = [
        stamp.serial or _("(no serial)"),
        rupiah(stamp.value) if stamp.value is not None else None,
        stamp.issuer,
        "SPESIMEN" if stamp.specimen else None,
        _("stamped {when}").format(when=stamped) if stamped else None,
        _("page {page}").format(page=stamp.page) if stamp.page is not None else None,
    ]
    return "<div>" + _e(", ".join(p for p in parts if p)) + "</div>"


def _problems_html(problems: Sequence[Problem]) -> str:
    out = []
    said: set[Code] = set()
    for i, p in enumerate(main_first(problems)):
        e = EXPLANATIONS[p.code].translated()
        todo = _("What to do: {action}").format(action=e.action)
        css = "problem" if i == 0 else "problem also"
        detail = f"<span class='detail'>{_e(p.translated())}</span>"
        if p.code in said:  # the same code again: its words were said once
            text = f"<b>{_e(p.code)}</b>: {detail}"
        else:
            text = (
                f"<b>{_e(p.code)}</b>: {_e(e.meaning)}<br>{detail}"
                f"<br><span class='todo'>{_e(todo)}</span>"
            )
            said.add(p.code)
        out.append(f"<div class='{css}'>{text}</div>")
    return "".join(out)


def _file_row(result: VerifyResult) -> str:
    verdict = "valid" if result.valid else "invalid"
    word = _("VALID") if result.valid else _("INVALID")
    stamps = "".join(_stamp_html(s) for s in result.stamps) or "—"
    return (
        f"<tr class='{verdict}'><td class='verdict'>{_e(word)}</td>"
        f"<td class='file'>{_e(result.file)}</td><td>{stamps}</td>"
        f"<td>{_problems_html(result.problems)}</td></tr>"
    )


def _counts_html(summary: Summary) -> str:
    if not summary.codes:
        return ""
    main = dict(summary.reasons)
    rows = "".join(
        f"<tr><td><b>{_e(code)}</b></td><td>{main.get(code, 0)}</td><td>{n}</td>"
        f"<td>{_e(_(EXPLANATIONS[code].meaning))}</td></tr>"
        for code, n in summary.codes
    )
    problems = _("Problems")
    heads = "".join(
        f"<th>{_e(h)}</th>" for h in (_("code"), _("main reason of"), _("found in"), _("meaning"))
    )
    return (
        f"<h2>{_e(problems)}</h2><table class='counts'><thead><tr>{heads}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def html_report(results: Sequence[VerifyResult], generated_at: dt.datetime | None = None) -> bytes:
    """One self-contained HTML page: title, summary, counts per code, and a table of the files,
    invalid first."""
    from emeterai import __version__

    summary = summarize(results)
    made = generated_at or dt.datetime.now(dt.UTC)
    title = _("e-meterai verification report: {invalid} of {files} invalid").format(
        invalid=summary.invalid, files=summary.files
    )
    meta = _("Made {when} by emeterai {version}, offline.").format(
        when=moment(made), version=__version__
    )
    heads = "".join(
        f"<th>{_e(h)}</th>"
        for h in (_("verdict"), _("file"), _("stamps"), _("problems and what to do"))
    )
    files = _("Files")
    lang = "id" if language() == "id" else "en"
    rows = "".join(_file_row(r) for r in invalid_first(results))
    page = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{_e(_(TITLE))}</h1>
<p class="meta">{_e(meta)}</p>
<p class="summary">{_e(summary.text())}</p>
{_counts_html(summary)}
<h2>{_e(files)}</h2>
<table class="files">
<thead><tr>{heads}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
    return page.encode("utf-8")
