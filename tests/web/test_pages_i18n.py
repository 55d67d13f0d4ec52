"""The web pages in the reader's language: Indonesian by default, every word from the catalog
(the pseudo-language leaves nothing outside its brackets), errors in both forms."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.common import PROJECT_ROOT
from tests.support.stamping import Kit
from tests.support.webserver import serving

LETTER = PROJECT_ROOT / "samples" / "lamaran.pdf"
NOT_WORDS = {"emeterai", "English", "Bahasa Indonesia", "‹", "›", "·", "0.1.0"}


class _Text(HTMLParser):
    """The text a person reads: data and the attributes shown (alt, aria-label, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.words_json = ""
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        for name, value in attrs:
            if name in ("alt", "aria-label", "title", "placeholder") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "script":
            self.words_json += data
        elif self._in and self._in[-1] == "style":
            return
        else:
            self.texts.extend(part.strip() for part in data.split("·") if part.strip())


def _read(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("page", ["/", "/stamp", "/verify"])
def test_every_word_of_the_pages_comes_from_the_catalog(kit: Kit, tmp_path: Path, page: str):
    env = {"EMETERAI_HOME": str(kit.home), "EMETERAI_LANG": "qps"}
    with serving(env=env, log=tmp_path / "log.txt") as served, served.client() as client:
        html = client.get(page).text
    text = _read(html)
    leftovers = [
        t for t in text.texts if t not in NOT_WORDS and not (t.startswith("⟦") and t.endswith("⟧"))
    ]
    assert leftovers == []
    words = json.loads(text.words_json)
    assert words and all(v.startswith("⟦") for v in words.values())


def test_pages_speak_indonesian_first_and_english_on_request(kit: Kit, tmp_path: Path):
    env = {"EMETERAI_HOME": str(kit.home), "EMETERAI_LANG": ""}
    with serving(env=env, log=tmp_path / "log.txt") as served, served.client() as client:
        first = client.get("/verify", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert '<html lang="id">' in first.text and "Periksa" in first.text
        locked = client.post("/api/v1/stamp", files={"file": ("lamaran.pdf", LETTER.read_bytes())})
        switched = client.get("/verify?lang=en", follow_redirects=False)
        assert switched.status_code == 303
        english = client.get("/verify")  # the link's cookie is in the client's jar now
        assert '<html lang="en">' in english.text and "Check documents" in english.text
        in_english = client.post("/api/v1/stamp", files={"file": ("l.pdf", b"%PDF")})
    assert locked.status_code == 423
    body = locked.json()
    assert body["message"].startswith("lamaran.pdf: the wallet is locked")  # English, for scripts
    assert body["text"].startswith("lamaran.pdf: ") and "dompet" in body["text"]
    assert in_english.json()["text"] == in_english.json()["message"]
