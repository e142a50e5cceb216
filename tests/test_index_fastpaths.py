"""The index parser's shortcuts agree with the general functions they stand in for.

``parse_json_page`` runs for every file of every page, so it avoids ``urljoin``, packaging's
wheel-name parser and the upload-time pattern where it safely can; these properties pin each
shortcut to the function it replaces, over generated and hand-picked awkward inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import string
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from greenbump import names
from greenbump import pages as pages_module
from greenbump.index import _local_path
from greenbump.pages import (
    _absolute,
    digest_json_page,
    digest_of,
    json_page_digest,
    latest_upload,
    parse_json_page,
    parse_upload_time,
    releases_of_files,
    upload_time_by_pattern,
    version_from_filename,
)

BASES = [
    "https://index.test/simple/demo/",
    "https://index.test/simple/demo",
    "http://127.0.0.1:8080/simple/demo/",
    "https://index.test/root/simple/demo/?x=1",
]
LINKS = [
    "/files/demo-1.0.tar.gz",
    "//other.test/files/demo-1.0.tar.gz",
    "../../files/demo-1.0.tar.gz",
    "./demo-1.0.tar.gz",
    "demo-1.0.tar.gz",
    "demo-1.0.tar.gz#sha256=abc",
    "sub/dir/demo-1.0.whl?token=1",
    "/files/a/./b/../demo-1.0.whl",
    "https://files.test/a/../demo-1.0.whl",
    "https://files.test/demo-1.0.whl#sha256=00",
    "..",
    ".",
    "a/..",
    "?q=1/2",
    "#frag/x",
    "",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("link", LINKS)
def test_absolute_matches_urljoin(base: str, link: str) -> None:
    assert _absolute(base, link) == urljoin(base, link)


segment = st.text(alphabet=string.ascii_letters + string.digits + "._-", max_size=8)
links = st.lists(st.sampled_from(["", ".", "..", "/", "?", "#", ":"]) | segment, max_size=6).map(
    "".join
)


@settings(max_examples=400)
@given(
    base=st.sampled_from(BASES), prefix=st.sampled_from(["", "/", "//h/", "https://h/"]), link=links
)
def test_absolute_matches_urljoin_on_generated_links(base: str, prefix: str, link: str) -> None:
    assert _absolute(base, prefix + link) == urljoin(base, prefix + link)


WHEELS = [
    "demo-1.0-py3-none-any.whl",
    "Demo_Pkg-2.0-py3-none-any.whl",
    "demo-1.0-1-py3-none-any.whl",
    "demo-1.0-x1-py3-none-any.whl",  # a build tag must start with a digit
    "demo-1.0-py3-none.whl",
    "demo-one-py3-none-any.whl",
    "demo-1.0-py2.py3-none-any.whl",
    "demo-1.0.post1.dev2-cp312-cp312-manylinux_2_17_x86_64.whl",
    "demo-1.0-py3-none-any-extra-more.whl",
    "de mo-1.0-py3-none-any.whl",
    "other-1.0-py3-none-any.whl",
]


@pytest.mark.parametrize("filename", WHEELS)
def test_wheel_versions_match_packaging(filename: str) -> None:
    project = canonicalize_name("demo")
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
        expected = version if name == project else None
    except (InvalidWheelFilename, ValueError):
        expected = None
    if filename.startswith("Demo_Pkg"):
        project = canonicalize_name("demo-pkg")
        expected = parse_wheel_filename(filename)[1]
    assert version_from_filename(filename, project) == expected


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1990, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
        ),
    ),
    style=st.sampled_from(["Z", "offset", "naive-space"]),
    digits=st.integers(min_value=0, max_value=9),
)
def test_upload_times_agree_with_the_pattern(moment: dt.datetime, style: str, digits: int) -> None:
    fraction = f"{moment.microsecond:06d}{'7' * max(0, digits - 6)}"[:digits]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "")
    if style == "Z":
        text = (
            moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            + (f".{fraction}" if digits else "")
            + "Z"
        )
    elif style == "offset":
        text += moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    else:
        text = text.replace("T", " ")
    parsed = parse_upload_time(text)
    assert parsed is not None and parsed.tzinfo is not None
    expected = upload_time_by_pattern(text)
    assert parsed == expected


def _upload_texts() -> st.SearchStrategy[str]:
    """Upload times as indexes write them, mostly PEP 700's form, plus odd and broken ones."""
    moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1))
    pep700 = moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    odd = st.one_of(
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ")),
        moments.map(lambda m: m.strftime("%Y-%m-%d %H:%M:%S.%fZ")),
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.%f+05:30")),
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace("T0", "T9", 1)),
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S,%fZ")),  # 3.11 reads the comma
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace("0", "\u0660", 1)),
        st.sampled_from(["9999-99-99T99:99:99.999999Z", "2024-01-02T03:04:05.12345xZ", "soon"]),
    )
    return st.one_of(pep700, pep700, odd)


@settings(max_examples=300)
@given(texts=st.lists(_upload_texts(), max_size=6))
def test_latest_upload_is_the_latest_parsed_time(texts: list[str]) -> None:
    """Parsing only the greatest text must give what parsing every text gives."""
    times = [m for m in map(parse_upload_time, texts) if m is not None]
    assert latest_upload(texts) == (max(times) if times else None)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-45T00:00:00Z", "2024-01-02", ""])
def test_malformed_upload_times_are_none(text: str) -> None:
    assert parse_upload_time(text) is None


@pytest.mark.parametrize(
    "filename",
    [
        "demo-1.0.tar.gz",
        "Demo-2.0.post1.zip",
        "demo-one.tar.gz",  # not a version: the legacy fallback finds none either
        "demo_pkg-1.0.tar.gz",
        "other-1.0.tar.gz",
        "demo.tar.gz",
    ],
)
def test_sdist_versions_match_packaging(filename: str) -> None:
    project = canonicalize_name("demo")
    try:
        name, version = parse_sdist_filename(filename)
        expected = version if name == project else None
    except (InvalidSdistFilename, ValueError):
        expected = None
    assert version_from_filename(filename, project) == expected


@settings(max_examples=300)
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.~ Éß", max_size=20))
def test_project_names_normalize_as_packaging_does(name: str) -> None:
    assert names.canonicalize_name(name) == canonicalize_name(name)


@pytest.mark.skipif(os.name != "posix", reason="the shortcut is POSIX's url2pathname")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s), max_size=4))
def test_local_paths_match_url2pathname(segments: list[str]) -> None:
    from urllib.request import url2pathname

    path = Path("/", *segments)
    url = path.as_uri()
    assert _local_path(url) == Path(url2pathname(urlsplit(url).path)) == path


# Entries of one project page: wheels of a release share a name-version prefix (the fast path
# reads it once per release), with build tags, odd or foreign names, sdists, yanks and
# requires-python values mixed in, and malformed entries the page must be refused for.
_PAGE_FILES = st.sampled_from(
    [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "Demo-1.0-cp312-cp312-win_amd64.whl",
        "demo-1.0.0-cp39-abi3-macosx_11_0_arm64.whl",
        "demo-1.0-1-py3-none-any.whl",
        "demo-1.0-x1-py3-none-any.whl",
        "demo-2.0rc1-py2.py3-none-any.whl",
        "demo-nope-py3-none-any.whl",
        "de mo-1.0-py3-none-any.whl",
        "other-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
        "demo-2.0rc1.zip",
        "demo-0.9.tar.bz2",
        "demo-1.0.exe",
        "demo-1.0",
        "demo-1.0.whl",
        "demo-1.0-1-cp311-cp311-linux_x86_64.whl",
        "demo-1.0-py3-none-any-extra.whl",
    ]
)
_PAGE_ENTRY = st.fixed_dictionaries(
    {"filename": _PAGE_FILES, "url": st.just("files/x")},
    optional={
        "hashes": st.sampled_from(
            [{}, {"sha256": "00"}, {"SHA256": "11", "md5": "22"}, {"sha256": 'a"b\\'}]
        ),
        "yanked": st.sampled_from([False, True, "", "broken"]),
        "requires-python": st.sampled_from([None, "", ">=3.8", ">= 3.8", ">=3.10", "nonsense"]),
        "upload-time": st.sampled_from(
            [
                "2024-01-02T03:04:05.123456Z",
                "2024-01-02T03:04:05.000000Z",
                "2024-01-02T03:04:07.654321Z",
                "2024-01-02T03:04:06Z",
                "2024-02-30T03:04:05.123456Z",
                "2024-01-02T03:04:05,123456Z",
                "2024-01-02T03:04:05.123+01:00",
                "yesterday",
            ]
        ),
    },
)
_BAD_ENTRY = st.sampled_from(
    [
        [],
        {"filename": 1, "url": "x"},
        {"filename": "demo-1.0.tar.gz"},
        {"filename": "demo-1.0.tar.gz", "url": "x", "hashes": None},
        {"filename": "demo-1.0.tar.gz", "url": "x", "hashes": {"sha256": 1}},
        {"filename": "demo-1.0.tar.gz", "url": "x", "yanked": 0},
    ]
)


# Times of pages that write every one as PEP 700 does (such pages take a shortcut).
_PEP700_TIMES = st.sampled_from(
    [
        "2024-01-02T03:04:05.123456Z",
        "2024-01-02T03:04:05.000000Z",
        "2023-12-31T23:59:59.999999Z",
        "2024-02-30T03:04:05.123456Z",
        "2024-01-02T03:04:05,123456Z",
        "2024-01-02T03:04:0x.123456Z",
        "2024-01-02T03:04:0\u0665.123456Z",
        "2024-01-02T03:04:06.1234567",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    entries=st.lists(_PAGE_ENTRY, max_size=12),
    bad=st.one_of(st.none(), st.tuples(st.integers(0, 12), _BAD_ENTRY)),
    times=st.one_of(st.none(), st.lists(_PEP700_TIMES, min_size=12, max_size=12)),
)
def test_json_page_digests_match_the_general_path(
    entries: list[dict[str, object]], bad: tuple[int, object] | None, times: list[str] | None
) -> None:
    if times is not None:
        entries = [
            {**entry, "upload-time": time} for entry, time in zip(entries, times, strict=False)
        ]
    files: list[object] = list(entries)
    if bad is not None:
        files.insert(bad[0], bad[1])
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": files}
    project = canonicalize_name("demo")

    def outcome(compute: object) -> object:
        try:
            return digest_of(sorted(compute(), key=lambda r: r.version))  # type: ignore[operator]
        except ValueError as exc:
            return str(exc)

    def rows(compute: object) -> object:
        try:
            return compute()  # type: ignore[operator]
        except ValueError as exc:
            return str(exc)

    fast = rows(lambda: json_page_digest(page, project))
    body = json.dumps(page).encode()
    pages_module.prepare_json_decoding()  # small pages use msgspec once it is loaded
    decoded = rows(lambda: digest_json_page(body, project))
    general = outcome(
        lambda: releases_of_files(
            project, parse_json_page(page, "https://index.test/simple/demo/", "origin")
        )
    )
    assert fast == general
    assert decoded == general  # msgspec's path, or json's for the pages it refuses
    if bad is None:
        pages_module._page_decoder().decode(body)  # valid pages take the fast path
    if bad is not None:
        assert isinstance(fast, str)  # the malformed entry is named, not skipped
