import pytest

from emeterai.errors import UsageError
from emeterai.sizes import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("800K", 800_000), ("800k", 800_000), ("300KB", 300_000), ("1.5M", 1_500_000),
     ("1,5M", 1_500_000), ("900000", 900_000), (" 2 MB ", 2_000_000), ("10B", 10)],
)  # fmt: skip
def test_sizes_as_portals_state_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "800X", "-5K", "0", "0.0001K", "1e3"])
def test_a_bad_size_is_a_usage_error_that_shows_how(text: str) -> None:
    with pytest.raises(UsageError, match="800K"):
        parse_size(text)


def test_format_size_reads_like_the_portals() -> None:
    assert [format_size(n) for n in (950, 812_345, 1_400_000)] == ["950 B", "812 KB", "1.4 MB"]
