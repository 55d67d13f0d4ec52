"""PDFs out of an uploaded .zip: budgets counted while inflating, names kept only as labels."""

from __future__ import annotations

import io
import zipfile

import pytest

from emeterai.archive import ArchiveLimits, is_zip, pdfs_in_zip
from emeterai.errors import ArchiveError, ArchiveTooLarge

PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 50 + b"%%EOF\n"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_only_pdf_members_in_archive_order_with_their_names_as_labels():
    data = _zip(
        {
            "b.pdf": PDF,
            "readme.txt": b"x",
            "__MACOSX/._b.pdf": b"junk",
            "../../etc/a.PDF": PDF + b"2",
            "dir/": b"",
        }
    )
    assert is_zip(data) and not is_zip(PDF)
    members = pdfs_in_zip(data, "apps.zip")
    assert [m.name for m in members] == ["b.pdf", "../../etc/a.PDF"]
    assert members[1].data == PDF + b"2"


def test_a_bomb_stops_at_its_ratio_while_inflating():
    bomb = _zip({"bomb.pdf": b"%PDF-1.7\n" + b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024
    with pytest.raises(ArchiveTooLarge) as caught:
        pdfs_in_zip(bomb, "apps.zip")
    assert "bomb.pdf" in str(caught.value) and "apps.zip" in str(caught.value)


def test_the_sizes_an_archive_claims_are_not_trusted():
    """A member whose header lies about its size is still counted as it inflates."""
    data = bytearray(_zip({"big.pdf": PDF * 400}, zipfile.ZIP_STORED))
    limits = ArchiveLimits(max_file_bytes=len(PDF) * 10, max_ratio=10**6)
    with pytest.raises(ArchiveTooLarge):
        pdfs_in_zip(bytes(data), "apps.zip", limits)


def test_the_total_and_the_count_have_budgets():
    members = {f"{i}.pdf": PDF for i in range(5)}
    with pytest.raises(ArchiveTooLarge, match="holds 5 PDFs; at most 4"):
        pdfs_in_zip(_zip(members), "a.zip", ArchiveLimits(max_files=4))
    with pytest.raises(ArchiveTooLarge):
        pdfs_in_zip(_zip(members), "a.zip", ArchiveLimits(max_total_bytes=len(PDF) * 3))
    assert len(pdfs_in_zip(_zip(members), "a.zip", ArchiveLimits(max_files=5))) == 5


def test_unreadable_and_encrypted_archives_are_one_clear_error():
    with pytest.raises(ArchiveError, match="not a readable .zip"):
        pdfs_in_zip(b"PK\x03\x04 garbage", "broken.zip")
    data = bytearray(_zip({"a.pdf": PDF}))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the member's "encrypted" flag, where zipfile reads it
    with pytest.raises(ArchiveError, match="encrypted|cannot be read"):
        pdfs_in_zip(bytes(data), "locked.zip")
