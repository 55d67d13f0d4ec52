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


def test_a_size_reads_with_a_decimal_comma_in_indonesian_and_stays_english(indonesian) -> None:
    """JSON and English keep ``2.4 MB``; a person reading Indonesian sees ``2,4 MB``, also
    inside an error that holds the size as a param."""
    from emeterai.errors import OutputTooLarge
    from emeterai.i18n import N_

    size = format_size(2_400_000)
    assert (size, size.translated()) == ("2.4 MB", "2,4 MB")
    assert format_size(812_345).translated() == "812 KB"
    error = OutputTooLarge(N_("{size} is over --max-size {maximum}"), size=size, maximum="x")
    assert error.message == "2.4 MB is over --max-size x"
    assert "2,4 MB" in error.translated() and "2.4" not in error.translated()
