"""Console helpers: a text column sized to its values."""

from newsmon.console import fit_column


def test_column_is_as_wide_as_its_longest_value():
    assert fit_column(["Dawn", "U.S. Department of the Treasury"]) == [
        "Dawn                           ", "U.S. Department of the Treasury"]
    assert fit_column([]) == []


def test_a_value_over_the_limit_is_cut_with_an_ellipsis():
    assert fit_column(["Dawn", "A very long outlet name indeed"], limit=12) == ["Dawn        ", "A very long…"]
