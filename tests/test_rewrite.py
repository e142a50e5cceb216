"""New constraint text for a target version: explicit cases for every rule, then properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import Version

from greenbump.candidates import UpdateKind
from greenbump.model import Style
from greenbump.poetry_constraints import poetry_to_specifier
from greenbump.rewrite import Rewrite, rewrite_constraint

PEP508 = Style.PEP508
POETRY = Style.POETRY
PIPFILE = Style.PIPFILE
LOCKED = Style.LOCKED
PATCH = UpdateKind.PATCH
MINOR = UpdateKind.MINOR
MAJOR = UpdateKind.MAJOR

# (constraint, style, target, level, bump lower bounds, new text, admits target, reason part)
Case = tuple[str, Style, str, UpdateKind, bool, str, bool, str]
CASES: list[Case] = [
    # --- no constraint -------------------------------------------------------------------
    ("", PEP508, "2.0", MAJOR, False, "", True, "no version"),
    ("", POETRY, "2.0", MAJOR, False, "", True, "no version"),
    ("", PIPFILE, "2.0", MAJOR, True, "", True, "no version"),
    ("  ", PEP508, "2.0", MAJOR, False, "  ", True, "no version"),
    # --- exact pins ----------------------------------------------------------------------
    ("==1.2.3", PEP508, "1.5.0", MAJOR, False, "==1.5.0", True, "pin bumped"),
    ("==1.2.3", PEP508, "2.0", PATCH, False, "==2.0", True, "pin bumped"),  # pins ignore level
    ("===1.2.3", PEP508, "1.5.0", MAJOR, False, "===1.5.0", True, "pin bumped"),
    ("== 1.2.3", PEP508, "1.5.0", MAJOR, False, "== 1.5.0", True, "pin bumped"),
    ("  ==1.2.3  ", PEP508, "1.5.0", MAJOR, False, "  ==1.5.0  ", True, "pin bumped"),
    ("==1.2", PEP508, "1.5.1", MAJOR, False, "==1.5.1", True, "pin bumped"),
    ("==1.2", PEP508, "1.2.0", MAJOR, False, "==1.2", True, "already admitted"),
    ("==1.2.3", PEP508, "1.2.3", MAJOR, True, "==1.2.3", True, "already admitted"),
    ("==1.2.3", PEP508, "1.3.0rc1", MAJOR, False, "==1.3.0rc1", True, "pin bumped"),
    ("==1.2.3", PEP508, "1.3+local.1", MAJOR, False, "==1.3+local.1", True, "pin bumped"),
    ("==1.2.3+abc", PEP508, "1.3", MAJOR, False, "==1.3", True, "pin bumped"),
    ("==1.2.3", PEP508, "1!2.0", MAJOR, False, "==1!2.0", True, "pin bumped"),
    ("==2.0", PEP508, "1.5", MAJOR, False, "==1.5", True, "pin bumped"),  # a pin follows its target
    ("===v1.2", PEP508, "1.3", MAJOR, False, "===1.3", True, "pin bumped"),
    ("==1.2.3,!=1.2.4", PEP508, "1.3.0", MAJOR, False, "==1.3.0,!=1.2.4", True, "pin bumped"),
    ("==1.0,<2", PEP508, "2.3", MAJOR, False, "==2.3,<3", True, "pin bumped; cap widened"),
    ("==1.0,<2", PEP508, "2.3", MINOR, False, "==1.0,<2", False, "beyond level minor"),
    # --- lower bounds --------------------------------------------------------------------
    (">=1.0", PEP508, "2.0", MAJOR, False, ">=1.0", True, "lower bound kept"),
    (">1.0", PEP508, "2.0", MAJOR, False, ">1.0", True, "lower bound kept"),
    (">=1.0", PEP508, "2.0.1", MAJOR, True, ">=2.0.1", True, "lower bound bumped"),
    (">= 1.0", PEP508, "2.0.1", MAJOR, True, ">= 2.0.1", True, "lower bound bumped"),
    (">1.0", PEP508, "2.0", MAJOR, True, ">=2.0", True, "lower bound bumped"),
    ("> 1.0", PEP508, "2.0", MAJOR, True, ">= 2.0", True, "lower bound bumped"),
    (">=2.0", PEP508, "2.0", MAJOR, True, ">=2.0", True, "lower bound kept"),
    (">=2.0", PEP508, "1.5", MAJOR, True, ">=2.0", False, "below lower bound >=2.0"),
    (">2.0", PEP508, "2.0", MAJOR, True, ">2.0", False, "below lower bound"),
    (">=1.0", PEP508, "2.0+local", MAJOR, True, ">=2.0", True, "lower bound bumped"),
    (">=1.0", PEP508, "2.0", PATCH, True, ">=2.0", True, "lower bound bumped"),
    (">=1.0", PEP508, "1.0+cpu", MAJOR, True, ">=1.0", True, "lower bound kept"),
    (">1.0", PEP508, "1.0.post1", MAJOR, True, ">=1.0.post1", True, "lower bound bumped"),
    (">1.0", PEP508, "1.0.post1", MAJOR, False, ">1.0", False, "excluded by >1.0"),
    # --- upper caps ----------------------------------------------------------------------
    (">=1,<2", PEP508, "2.3.0", MAJOR, False, ">=1,<3", True, "cap widened"),
    (">=1,<2", PEP508, "2.3.0", MINOR, False, ">=1,<2", False, "not widened beyond level minor"),
    (">=1,<2", PEP508, "2.3.0", MAJOR, True, ">=2.3.0,<3", True, "lower bound bumped"),
    (">=1,<2", PEP508, "2.3.0", MINOR, True, ">=1,<2", False, "beyond level minor"),
    (">=1,<2", PEP508, "1.5", MAJOR, False, ">=1,<2", True, "lower bound kept"),
    ("<2.5", PEP508, "2.7.1", MINOR, False, "<2.8", True, "cap widened"),
    ("<2.5", PEP508, "2.7.1", PATCH, False, "<2.5", False, "beyond level patch"),
    ("<2.5", PEP508, "3.0", MINOR, False, "<2.5", False, "beyond level minor"),
    ("<2.5", PEP508, "3.0", MAJOR, False, "<3.1", True, "cap widened"),
    ("<2.5.0", PEP508, "2.7.1", MINOR, False, "<2.8.0", True, "cap widened"),
    ("<3.0.0", PEP508, "3.1.0", MAJOR, False, "<4.0.0", True, "cap widened"),
    ("<3.0.0", PEP508, "3.1.0", MINOR, False, "<3.0.0", False, "beyond level minor"),
    ("<2.5.3", PEP508, "2.5.7", PATCH, False, "<2.5.8", True, "cap widened"),
    ("<2.5.3", PEP508, "2.6.0", PATCH, False, "<2.5.3", False, "beyond level patch"),
    ("<2", PEP508, "2.0rc1", MAJOR, False, "<3", True, "cap widened"),
    ("<2.0.0a0", PEP508, "2.3", MAJOR, False, "<3.0.0a0", True, "cap widened"),
    ("<2.0.dev0", PEP508, "2.3", MAJOR, False, "<3.0.dev0", True, "cap widened"),
    ("<1!2", PEP508, "1!2.3", MAJOR, False, "<1!3", True, "cap widened"),
    ("<2", PEP508, "1!2.3", MINOR, False, "<2", False, "beyond level minor"),
    ("<0", PEP508, "0.5", MINOR, False, "<1", True, "cap widened"),
    ("<=2.5", PEP508, "2.7.1", MAJOR, False, "<=2.7.1", True, "cap widened"),
    ("<=2.5", PEP508, "2.7.1", MINOR, False, "<=2.7.1", True, "cap widened"),
    ("<=2.5", PEP508, "2.7.1", PATCH, False, "<=2.5", False, "beyond level patch"),
    ("<=2.5", PEP508, "2.5.1", PATCH, False, "<=2.5.1", True, "cap widened"),
    ("<=2.5", PEP508, "2.7+local", MAJOR, False, "<=2.7", True, "cap widened"),
    ("<=2.5", PEP508, "2.3", MAJOR, False, "<=2.5", True, "already admitted"),
    ("<2,<3", PEP508, "3.2", MAJOR, False, "<4,<4", True, "cap widened"),
    # --- exclusions ----------------------------------------------------------------------
    (
        ">=1,<2,!=2.3.0",
        PEP508,
        "2.3.0",
        MAJOR,
        False,
        ">=1,<2,!=2.3.0",
        False,
        "excluded by !=2.3.0",
    ),
    ("!=2.3.0", PEP508, "2.3.0", MAJOR, True, "!=2.3.0", False, "excluded"),
    ("!=2.*", PEP508, "2.3.0", MAJOR, False, "!=2.*", False, "excluded by !=2.*"),
    ("!=2.3.0", PEP508, "2.4.0", MAJOR, False, "!=2.3.0", True, "already admitted"),
    (">=1,!=1.5,<2", PEP508, "2.1", MAJOR, False, ">=1,!=1.5,<3", True, "cap widened"),
    # --- prefix matches ------------------------------------------------------------------
    ("==1.2.*", PEP508, "1.5.0", MAJOR, False, "==1.5.*", True, "cap widened"),
    ("==1.2.*", PEP508, "1.5.0", MINOR, False, "==1.5.*", True, "cap widened"),
    ("==1.2.*", PEP508, "1.5.0", PATCH, False, "==1.2.*", False, "beyond level patch"),
    ("==1.2.*", PEP508, "2", MAJOR, False, "==2.0.*", True, "cap widened"),
    ("==1.*", PEP508, "2.3.4", MAJOR, False, "==2.*", True, "cap widened"),
    ("==1.*", PEP508, "2.3.4", MINOR, False, "==1.*", False, "beyond level minor"),
    ("==1.2.*", PEP508, "1.2.9", MAJOR, True, "==1.2.*", True, "already admitted"),
    ("==2.*", PEP508, "1.5", MAJOR, False, "==2.*", False, "below lower bound"),
    ("== 1.2.*", PEP508, "1.5.0", MAJOR, False, "== 1.5.*", True, "cap widened"),
    ("==1.*", PEP508, "2.0rc1", MAJOR, False, "==2.*", True, "cap widened"),
    # --- compatible releases -------------------------------------------------------------
    ("~=1.2", PEP508, "1.5.0", MAJOR, False, "~=1.2", True, "lower bound kept"),
    ("~=1.2", PEP508, "1.5.0", MAJOR, True, "~=1.5", True, "lower bound bumped"),
    ("~=1.2", PEP508, "1.5.3", MAJOR, True, "~=1.5", True, "lower bound bumped"),
    ("~=1.2", PEP508, "2.3.0", MAJOR, False, "~=2.3", True, "cap widened"),
    ("~=1.2", PEP508, "2.3.0", MINOR, False, "~=1.2", False, "beyond level minor"),
    ("~=1.2.3", PEP508, "1.5.0", MAJOR, False, "~=1.5.0", True, "cap widened"),
    ("~=1.2.3", PEP508, "1.5.2", MINOR, False, "~=1.5.2", True, "cap widened"),
    ("~=1.2.3", PEP508, "1.5", MINOR, False, "~=1.5.0", True, "cap widened"),
    ("~=1.2.3", PEP508, "1.5.0", PATCH, False, "~=1.2.3", False, "beyond level patch"),
    ("~=1.2.3", PEP508, "1.2.7", PATCH, True, "~=1.2.7", True, "lower bound bumped"),
    ("~=1.2", PEP508, "2.0rc1", MAJOR, False, "~=2.0rc1", True, "cap widened"),
    ("~=1.2", PEP508, "1.1", MAJOR, False, "~=1.2", False, "below lower bound"),
    ("~= 1.2", PEP508, "2.3.0", MAJOR, False, "~= 2.3", True, "cap widened"),
    ("~=1.2", PEP508, "1!2.3", MAJOR, False, "~=1!2.3", True, "cap widened"),
    # --- formatting kept -----------------------------------------------------------------
    (">= 1.0 ,< 2", PEP508, "2.3", MAJOR, False, ">= 1.0 ,< 3", True, "cap widened"),
    ("<2 , >=1.0", PEP508, "2.3", MAJOR, False, "<3 , >=1.0", True, "cap widened"),
    (">=1.0,  <2", PEP508, "2.3", MAJOR, True, ">=2.3,  <3", True, "cap widened"),
    (" >=1.0 , <2.0 ", PEP508, "2.3", MAJOR, False, " >=1.0 , <3.0 ", True, "cap widened"),
    # --- Poetry --------------------------------------------------------------------------
    ("^1.2", POETRY, "2.3.4", MAJOR, False, "^2.3", True, "cap widened"),
    ("^1.2", POETRY, "2.3.4", MINOR, False, "^1.2", False, "beyond level minor"),
    ("^1.2", POETRY, "1.5.3", MAJOR, False, "^1.2", True, "lower bound kept"),
    ("^1.2", POETRY, "1.5.3", MAJOR, True, "^1.5", True, "lower bound bumped"),
    ("^1", POETRY, "1.5.3", MAJOR, True, "^1", True, "lower bound kept"),
    ("^1", POETRY, "2.5.3", MAJOR, False, "^2", True, "cap widened"),
    ("^1.2.3", POETRY, "2.0", MAJOR, False, "^2.0.0", True, "cap widened"),
    ("^0.2.3", POETRY, "0.3.1", MINOR, False, "^0.3.1", True, "cap widened"),
    ("^0.2.3", POETRY, "0.3.1", PATCH, False, "^0.2.3", False, "beyond level patch"),
    ("^0.2", POETRY, "1.0.0", MAJOR, False, "^1.0", True, "cap widened"),
    ("^0.0.3", POETRY, "0.0.5", PATCH, False, "^0.0.5", True, "cap widened"),
    ("^1.2", POETRY, "2.0.0rc1", MAJOR, False, "^2.0rc1", True, "cap widened"),
    ("^ 1.2", POETRY, "2.3", MAJOR, False, "^ 2.3", True, "cap widened"),
    ("^1.2", POETRY, "1.1", MAJOR, False, "^1.2", False, "below lower bound"),
    ("~1.2.3", POETRY, "1.5.0", MAJOR, False, "~1.5.0", True, "cap widened"),
    ("~1.2.3", POETRY, "1.5.0", PATCH, False, "~1.2.3", False, "beyond level patch"),
    ("~1.2", POETRY, "1.5.3", MINOR, False, "~1.5", True, "cap widened"),
    ("~1", POETRY, "2.5", MAJOR, False, "~2", True, "cap widened"),
    ("~1.2.3", POETRY, "1.2.9", MAJOR, False, "~1.2.3", True, "lower bound kept"),
    ("~=1.2", POETRY, "2.3", MAJOR, False, "~=2.3", True, "cap widened"),
    ("~=1", POETRY, "2.3", MAJOR, False, "~=2.3", True, "cap widened"),
    ("1.2.3", POETRY, "1.5.0", MAJOR, False, "1.5.0", True, "pin bumped"),
    ("=1.2.3", POETRY, "1.5.0", MAJOR, False, "=1.5.0", True, "pin bumped"),
    ("==1.2.3", POETRY, "1.5.0", MAJOR, False, "==1.5.0", True, "pin bumped"),
    ("v1.2", POETRY, "1.3", MAJOR, False, "v1.3", True, "pin bumped"),
    ("1.2.*", POETRY, "1.5.0", MAJOR, False, "1.5.*", True, "cap widened"),
    ("1.2.x", POETRY, "1.5.0", MAJOR, False, "1.5.x", True, "cap widened"),
    ("1.*", POETRY, "2.5.0", MINOR, False, "1.*", False, "beyond level minor"),
    ("*", POETRY, "1.5.0", MAJOR, True, "*", True, "any version"),
    ("x", POETRY, "1.5.0", MAJOR, False, "x", True, "any version"),
    (">=1.0 <2.0", POETRY, "2.5", MAJOR, False, ">=1.0 <3.0", True, "cap widened"),
    (">=1.0,<2.0", POETRY, "2.5", MAJOR, False, ">=1.0,<3.0", True, "cap widened"),
    (">= 1.0, < 2.0", POETRY, "2.5", MAJOR, False, ">= 1.0, < 3.0", True, "cap widened"),
    (">=1.0,<2.0", POETRY, "2.5", MAJOR, True, ">=2.5,<3.0", True, "lower bound bumped"),
    (">1.0 <2.0", POETRY, "2.5", MAJOR, True, ">=2.5 <3.0", True, "lower bound bumped"),
    (">=1.0,<2.0,!=2.5", POETRY, "2.5", MAJOR, False, ">=1.0,<2.0,!=2.5", False, "excluded"),
    (">=1.0 <>2.5", POETRY, "2.5", MAJOR, False, ">=1.0 <>2.5", False, "excluded by <>2.5"),
    ("<=2.5", POETRY, "2.7.1", MINOR, False, "<=2.7.1", True, "cap widened"),
    ("^1.0 || ^2.0", POETRY, "2.5", MAJOR, False, "^1.0 || ^2.0", True, "alternative"),
    ("^1.0 || ^2.0", POETRY, "2.5", MAJOR, True, "^1.0 || ^2.0", True, "alternative"),
    ("^1.0 || ^2.0", POETRY, "3.5", MAJOR, False, "^1.0 || ^3.5", True, "cap widened"),
    ("^1.0 || ^2.0", POETRY, "3.5", MINOR, False, "^1.0 || ^2.0", False, "beyond level minor"),
    ("^1.0|^2.0", POETRY, "3.5", MAJOR, False, "^1.0|^3.5", True, "cap widened"),
    (">=1,<2 || >=3,<4", POETRY, "4.1", MAJOR, False, ">=1,<2 || >=3,<5", True, "cap widened"),
    ("1.2 || 1.3", POETRY, "1.4", MAJOR, False, "1.2 || 1.4", True, "pin bumped"),
    ("^1.2,", POETRY, "2.3", MAJOR, False, "^2.3,", True, "cap widened"),
    # --- Pipfile -------------------------------------------------------------------------
    ("*", PIPFILE, "3.5", MAJOR, True, "*", True, "any version"),
    (" * ", PIPFILE, "3.5", MAJOR, False, " * ", True, "any version"),
    ("1.2", PIPFILE, "3.5", MAJOR, False, "3.5", True, "pin bumped"),
    ("3.*", PIPFILE, "3.5", MAJOR, False, "3.*", True, "already admitted"),
    ("3.*", PIPFILE, "4.1", MAJOR, False, "4.*", True, "cap widened"),
    ("==1.2", PIPFILE, "3.5", MAJOR, False, "==3.5", True, "pin bumped"),
    (">=1.2,<2", PIPFILE, "2.5", MAJOR, False, ">=1.2,<3", True, "cap widened"),
    (">=1.2,<2", PIPFILE, "2.5", MINOR, False, ">=1.2,<2", False, "beyond level minor"),
    ("~=1.2", PIPFILE, "1.6", MAJOR, True, "~=1.6", True, "lower bound bumped"),
    ("1.2, <2", PIPFILE, "2.5", MAJOR, False, "2.5, <3", True, "pin bumped; cap widened"),
    # --- lock entries --------------------------------------------------------------------
    ("1.2.3", LOCKED, "3.5", MAJOR, False, "3.5", True, "pin bumped"),
    ("1.2.3", LOCKED, "3.5", PATCH, False, "3.5", True, "pin bumped"),
    ("==1.2.3", LOCKED, "3.5", MAJOR, False, "==3.5", True, "pin bumped"),
    ("1.2.3", LOCKED, "1.2.3", MAJOR, False, "1.2.3", True, "already admitted"),
    ("1.2.3", LOCKED, "1.3+cpu", MAJOR, False, "1.3+cpu", True, "pin bumped"),
    # --- left alone when not understood --------------------------------------------------
    (">=1.0 and <2", PEP508, "2.3", MAJOR, False, ">=1.0 and <2", False, "not understood"),
    ("^1.2", PEP508, "2.3", MAJOR, False, "^1.2", False, "not understood"),
    ("^^1.2", POETRY, "2.3", MAJOR, False, "^^1.2", False, "not understood"),
    ("latest", PIPFILE, "2.3", MAJOR, False, "latest", False, "not understood"),
    ("1.2.3-", LOCKED, "2.3", MAJOR, False, "1.2.3-", False, "not understood"),
]


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[f"{c[1].value}:{c[0]!r}->{c[2]}:{c[3].value}{':bump' if c[4] else ''}" for c in CASES],
)
def test_rewrite_table(case: Case) -> None:
    constraint, style, target, level, bump, text, admits, reason = case
    result = rewrite_constraint(
        constraint, style, Version(target), level=level, bump_lower_bounds=bump
    )
    assert result.text == text
    assert result.changed == (text != constraint)
    assert result.admits_target is admits
    assert reason in result.reason
    if "not understood" not in reason:
        assert _meaning_admits(result.text, style, Version(target)) is admits


def test_rewrite_is_a_frozen_value() -> None:
    result = rewrite_constraint("==1.0", PEP508, Version("1.1"))
    assert result == Rewrite("==1.1", changed=True, admits_target=True, reason="pin bumped")
    with pytest.raises(AttributeError):
        result.text = "==2"  # type: ignore[misc]


def test_default_level_is_major_and_lower_bounds_are_kept_by_default() -> None:
    result = rewrite_constraint(">=1.0,<2", PEP508, Version("5.0"))
    assert result.text == ">=1.0,<6"


def test_union_keeps_admitting_alternative_even_with_bumps() -> None:
    result = rewrite_constraint(">=1,<2 || >=3", POETRY, Version("1.5"), bump_lower_bounds=True)
    assert not result.changed
    assert result.admits_target


def test_no_half_edits_when_another_clause_blocks() -> None:
    # Widening the cap alone would change what the constraint means without admitting 2.3.0.
    result = rewrite_constraint(">=1,<2,!=2.3.0", PEP508, Version("2.3.0"), bump_lower_bounds=True)
    assert result.text == ">=1,<2,!=2.3.0"
    assert not result.changed


# --- properties ------------------------------------------------------------------------------

_RELEASE = st.lists(st.integers(0, 12), min_size=1, max_size=4)
_PRE = st.one_of(st.none(), st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 3)))


@st.composite
def versions(draw: st.DrawFn, *, local: bool = False, epoch: bool = True) -> str:
    """A PEP 440 version string, sometimes with a prerelease, post, dev, epoch or local part."""
    text = ".".join(str(part) for part in draw(_RELEASE))
    if epoch and draw(st.integers(0, 20)) == 0:
        text = f"1!{text}"
    pre = draw(_PRE)
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if draw(st.integers(0, 6)) == 0:
        text += f".post{draw(st.integers(0, 2))}"
    if draw(st.integers(0, 8)) == 0:
        text += f".dev{draw(st.integers(0, 2))}"
    if local and draw(st.integers(0, 8)) == 0:
        text += "+local"
    return text


_SPACE = st.sampled_from(["", "", "", " ", "  ", "\t"])
_OPS = ["==", "!=", ">=", "<=", ">", "<", "~=", "==="]


@st.composite
def clauses(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(_OPS))
    if op in ("==", "!=") and draw(st.booleans()):
        version = ".".join(str(part) for part in draw(_RELEASE)) + ".*"
    else:
        version = draw(versions(local=op in ("==", "!=", "===")))
    text = f"{draw(_SPACE)}{op}{draw(_SPACE)}{version}{draw(_SPACE)}"
    try:
        Specifier(text.strip())
    except InvalidSpecifier:
        assume(False)
    return text


@st.composite
def specifier_sets(draw: st.DrawFn) -> str:
    return ",".join(draw(st.lists(clauses(), min_size=1, max_size=4)))


targets = versions(local=True).map(Version)
levels = st.sampled_from(list(UpdateKind))


def _skeleton(text: str) -> str:
    """The constraint with every version replaced by ``V``: operators, spacing, separators."""
    return re.sub(r"[0-9vV][^\s,|]*", "V", text)


def _check_reason(result: Rewrite) -> None:
    """A reason is always given, and names an action only when the text changed."""
    assert result.reason
    acted = re.search(r"bumped|(?<!not )widened", result.reason) is not None
    assert acted == result.changed


def _meaning_admits(text: str, style: Style, target: Version) -> bool:
    stripped = text.strip()
    if not stripped or (style is PIPFILE and stripped == "*"):
        return True
    if style is POETRY:
        parsed = poetry_to_specifier(text)
        sets = parsed if isinstance(parsed, list) else [parsed]
        return any(spec.contains(target, prereleases=True) for spec in sets)
    if style in (PIPFILE, LOCKED) and stripped[:1].isdigit():
        text = f"=={stripped}"
    return SpecifierSet(text).contains(target, prereleases=True)


@settings(max_examples=400)
@given(specifier_sets(), targets, levels, st.booleans())
def test_pep440_results_parse_and_report_truthfully(
    constraint: str, target: Version, level: UpdateKind, bump: bool
) -> None:
    result = rewrite_constraint(constraint, PEP508, target, level=level, bump_lower_bounds=bump)
    new = SpecifierSet(result.text)  # always parses
    assert result.admits_target == new.contains(target, prereleases=True)
    assert result.changed == (result.text != constraint)
    assert result.reason
    _check_reason(result)
    if result.changed:
        assert result.admits_target  # all or nothing: a rewrite always reaches the target
    if SpecifierSet(constraint).contains(target, prereleases=True) and not bump:
        assert not result.changed


@given(specifier_sets(), targets, levels)
def test_spacing_and_order_outside_versions_are_kept(
    constraint: str, target: Version, level: UpdateKind
) -> None:
    result = rewrite_constraint(constraint, PEP508, target, level=level)
    assert _skeleton(result.text) == _skeleton(constraint)


@given(specifier_sets(), targets, levels)
def test_bumping_lower_bounds_only_turns_gt_into_ge(
    constraint: str, target: Version, level: UpdateKind
) -> None:
    result = rewrite_constraint(constraint, PEP508, target, level=level, bump_lower_bounds=True)

    def loose(text: str) -> str:
        return re.sub(r">=?", ">", _skeleton(text))

    assert loose(result.text) == loose(constraint)


@given(specifier_sets(), targets, levels, st.booleans())
def test_rewriting_twice_changes_nothing_more(
    constraint: str, target: Version, level: UpdateKind, bump: bool
) -> None:
    first = rewrite_constraint(constraint, PEP508, target, level=level, bump_lower_bounds=bump)
    again = rewrite_constraint(first.text, PEP508, target, level=level, bump_lower_bounds=bump)
    assert again.text == first.text
    assert not again.changed
    assert again.admits_target == first.admits_target


@st.composite
def pins(draw: st.DrawFn) -> str:
    """An exact pin with random spacing: ``==1.2``, `` === 1.2+local``."""
    op = draw(st.sampled_from(["==", "==="]))
    return f"{draw(_SPACE)}{op}{draw(_SPACE)}{draw(versions(local=True))}"


@given(pins(), targets, levels, st.lists(versions(local=False).map(Version), max_size=8))
def test_rewritten_pin_admits_only_the_target(
    constraint: str, target: Version, level: UpdateKind, others: list[Version]
) -> None:
    result = rewrite_constraint(constraint, PEP508, target, level=level)
    assert result.admits_target
    if not result.changed:
        return
    assert result.reason == "pin bumped"
    new = SpecifierSet(result.text)
    assert new.contains(target, prereleases=True)
    neighbours = [Version(f"{target.base_version}.1"), Version(f"{target.base_version}.post9")]
    for other in [*others, *neighbours]:
        if new.contains(other, prereleases=True):
            assert other == target or other.public == target.public  # "==1.2" ignores locals


_POETRY_OPS = ["", "", "^", "^", "~", "~=", ">=", ">", "<", "<=", "!=", "=", "=="]


@st.composite
def poetry_tokens(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(_POETRY_OPS))
    if op in ("", "=", "==", "!=") and draw(st.integers(0, 3)) == 0:
        version = ".".join(str(part) for part in draw(_RELEASE)) + draw(
            st.sampled_from([".*", ".x"])
        )
    else:
        version = draw(versions(epoch=False))
    return f"{op}{draw(st.sampled_from(['', '', ' ']))}{version}"


@st.composite
def poetry_constraints(draw: st.DrawFn) -> str:
    alternatives = []
    for _ in range(draw(st.integers(1, 3))):
        tokens = draw(st.lists(poetry_tokens(), min_size=1, max_size=3))
        separator = draw(st.sampled_from([",", ", ", " ", " , "]))
        alternatives.append(separator.join(tokens))
    text = draw(st.sampled_from([" || ", "||", " | "])).join(alternatives)
    try:
        poetry_to_specifier(text)
    except ValueError:
        assume(False)
    return text


@settings(max_examples=400)
@given(poetry_constraints(), targets, levels, st.booleans())
def test_poetry_results_parse_and_report_truthfully(
    constraint: str, target: Version, level: UpdateKind, bump: bool
) -> None:
    result = rewrite_constraint(constraint, POETRY, target, level=level, bump_lower_bounds=bump)
    poetry_to_specifier(result.text)  # always parses
    assert result.admits_target == _meaning_admits(result.text, POETRY, target)
    assert result.changed == (result.text != constraint)
    _check_reason(result)
    if result.changed:
        assert result.admits_target
    if _meaning_admits(constraint, POETRY, target) and (not bump or "|" in constraint):
        assert not result.changed
    if not bump:
        assert _skeleton(result.text) == _skeleton(constraint)
    # only the last alternative of a union is ever touched
    head, _, _ = constraint.rpartition("|")
    assert result.text.startswith(head)


@given(versions(local=True), targets, st.sampled_from([PIPFILE, LOCKED]), _SPACE)
def test_bare_versions_become_the_target(
    pinned: str, target: Version, style: Style, space: str
) -> None:
    constraint = f"{space}{pinned}{space}"
    result = rewrite_constraint(constraint, style, target, level=PATCH)
    assert result.admits_target
    assert result.text.strip() in (pinned, str(target))
    assert result.text.startswith(space)
    assert result.text.endswith(space)
    if Version(pinned) != target:
        assert result.text.strip() == str(target) or SpecifierSet(f"=={pinned}").contains(target)
