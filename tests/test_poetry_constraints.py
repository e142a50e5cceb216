"""Poetry constraints translate to the PEP 440 ranges Poetry's documentation gives them."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from greenbump.poetry_constraints import poetry_to_specifier


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        # caret: the documented table
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^1.2", ">=1.2,<2.0"),
        ("^1", ">=1,<2"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0.0", ">=0.0,<0.1"),
        ("^0", ">=0,<1"),
        ("^ 1.2", ">=1.2,<2.0"),
        ("^1.2.3b1", ">=1.2.3b1,<2.0.0"),
        ("^1!2.3", ">=1!2.3,<1!3.0"),
        # tilde
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1", ">=1,<2"),
        ("~0.2.3.4", ">=0.2.3.4,<0.3.0.0"),
        # PEP 440 compatible release
        ("~=1.2", "~=1.2"),
        ("~=1.2.3", "~=1.2.3"),
        ("~=1", ">=1,<1.1"),
        # wildcards
        ("*", ""),
        ("x", ""),
        ("*.*", ""),
        ("1.*", "==1.*"),
        ("1.2.*", "==1.2.*"),
        ("1.2.x", "==1.2.*"),
        ("==1.*", "==1.*"),
        ("!=1.2.*", "!=1.2.*"),
        (">=3.5.*", ">=3.5"),
        # exact and comparisons
        ("1.2.3", "==1.2.3"),
        ("=1.2.3", "==1.2.3"),
        ("==1.2.3", "==1.2.3"),
        ("v1.2", "==1.2"),
        ("===1.0+local", "===1.0+local"),
        ("<>1.5", "!=1.5"),
        ("!=1.5", "!=1.5"),
        (">1", ">1"),
        (">= 1.2.0", ">=1.2.0"),
        ("< 2", "<2"),
        # conjunctions
        (">=1,<2", ">=1,<2"),
        (">=1 <2", ">=1,<2"),
        (">= 1.2, < 1.5", ">=1.2,<1.5"),
        (">=1,<2,", ">=1,<2"),
        ("^1.2 !=1.4.0", ">=1.2,<2.0,!=1.4.0"),
        ("  >=1  ", ">=1"),
    ],
)
def test_single_constraints(constraint: str, expected: str) -> None:
    result = poetry_to_specifier(constraint)
    assert isinstance(result, SpecifierSet)
    assert result == SpecifierSet(expected)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1.2 || ^2.0", [">=1.2,<2.0", ">=2.0,<3.0"]),
        (">=1,<2 || >=3", [">=1,<2", ">=3"]),
        ("~2.7 | ^3.4", [">=2.7,<2.8", ">=3.4,<4.0"]),
        ("1.* || 2.*", ["==1.*", "==2.*"]),
    ],
)
def test_unions_give_one_set_per_alternative(constraint: str, expected: list[str]) -> None:
    result = poetry_to_specifier(constraint)
    assert isinstance(result, list)
    assert result == [SpecifierSet(item) for item in expected]


def test_caret_and_tilde_bounds_behave_as_documented() -> None:
    caret = poetry_to_specifier("^0.1.13")
    assert isinstance(caret, SpecifierSet)
    assert caret.contains(Version("0.1.14"))
    assert not caret.contains(Version("0.2.0"))
    zero = poetry_to_specifier("^0.0.3")
    assert isinstance(zero, SpecifierSet)
    assert [str(v) for v in zero.filter([Version("0.0.3"), Version("0.0.4")])] == ["0.0.3"]
    tilde = poetry_to_specifier("~1")
    assert isinstance(tilde, SpecifierSet)
    assert tilde.contains(Version("1.9")) and not tilde.contains(Version("2.0"))


@pytest.mark.parametrize(
    "constraint",
    [
        "",
        "   ",
        "2.18.^",
        "^",
        "~",
        ">=",
        "foo",
        "^1.*",
        "~1.x",
        ">=1 ||",
        "|| >=1",
        ">=1,,<2",
        "Invalid version.",
        ">=1.0+local",
        "1.2.3 || ",
    ],
)
def test_invalid_constraints_raise_value_error(constraint: str) -> None:
    with pytest.raises(ValueError, match=r"constraint|alternative"):
        poetry_to_specifier(constraint)


def test_non_string_raises_value_error() -> None:
    with pytest.raises(ValueError, match="string"):
        poetry_to_specifier(1.2)  # type: ignore[arg-type]
