"""The local package index: real wheels and sdists, served over HTTP, installed by pip and uv."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timezone
from email.parser import Parser
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from localindex import (
    DEFAULT_CATALOGUE,
    HTML_V1,
    JSON_V1,
    Fault,
    LocalIndex,
    Release,
    Response,
    build,
    build_sdist,
    build_wheel,
    format_upload_time,
    normalize_name,
    uv_bin,
    version_key,
    write_releases,
)

MakeIndex = Callable[..., LocalIndex]
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")

# What a fresh environment gets for these requests from the default catalogue: alpha 2.1.0rc1
# is a prerelease, gamma 2.0.0 is yanked, delta 2.0.0 needs Python >= 3.99.
REQUESTS = ["alpha", "Zeta.Pkg[fast]", "delta"]
EXPECTED = {
    "alpha": "2.0.0",
    "beta": "2.0.0",
    "gamma": "1.5.0",
    "delta": "1.0.0",
    "zeta-pkg": "0.1.0",
}


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f"{cmd} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def installed(python: Path, cwd: Path, *names: str) -> dict[str, object]:
    """Versions of distributions and a few module attributes, as seen inside a venv."""
    script = (
        "import importlib, importlib.metadata as md, json, sys\n"
        "out = {n: md.version(n) for n in sys.argv[1:]}\n"
        "alpha = importlib.import_module('alpha')\n"
        "out['alpha.VALUE'] = alpha.VALUE\n"
        "out['alpha.greet'] = alpha.greet()\n"
        "print(json.dumps(out))\n"
    )
    return json.loads(run([str(python), "-c", script, *names], cwd).stdout)  # type: ignore[no-any-return]


def pip(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pip", *args], cwd)


def uv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([uv_bin(), *args], cwd)


def uv_venv(path: Path) -> Path:
    uv(path.parent, "venv", str(path), "--python", sys.executable, "--quiet")
    return path / "bin" / "python"


@pytest.fixture(scope="session")
def empty_uv_venv(tmp_path_factory: pytest.TempPathFactory, isolated_env: dict[str, str]) -> Path:
    """A venv nothing is ever installed into: uv resolves against it with ``--dry-run``."""
    path = tmp_path_factory.mktemp("empty-venv") / "venv"
    subprocess.run(
        [uv_bin(), "venv", str(path), "--python", sys.executable, "--quiet"],
        env=isolated_env,
        check=True,
        cwd=path.parent,
    )
    return path / "bin" / "python"


def pip_resolve(index_url: str, cwd: Path, *reqs: str) -> dict[str, str]:
    report = pip(
        cwd,
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        "-",
        "--no-cache-dir",
        "--index-url",
        index_url,
        *reqs,
    ).stdout
    return {
        normalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report)["install"]
    }


def uv_resolve(index_url: str, python: Path, cwd: Path, *reqs: str) -> dict[str, str]:
    out = uv(
        cwd, "pip", "install", "--dry-run", "--python", str(python), "--index-url", index_url, *reqs
    ).stderr
    found = re.findall(r"^ \+ (\S+)==(\S+)$", out, re.MULTILINE)
    return {normalize_name(name): version for name, version in found}


# -- installers against the index ---------------------------------------------------------


def test_pip_installs_from_the_index(local_index: LocalIndex, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    python = tmp_path / "v" / "bin" / "python"
    common = ["--python", str(python), "install", "--no-cache-dir", "--index-url"]
    pip(tmp_path, *common, local_index.index_url, *REQUESTS)
    state = installed(python, tmp_path, *EXPECTED)
    assert state == {**EXPECTED, "alpha.VALUE": 2, "alpha.greet": "hi"}

    # Pinned: a downgrade changes behaviour, and a yanked release is allowed by ==.
    pip(tmp_path, *common, local_index.index_url, "alpha==1.0.0", "gamma==2.0.0")
    state = installed(python, tmp_path, "alpha", "gamma")
    assert state == {"alpha": "1.0.0", "gamma": "2.0.0", "alpha.VALUE": 1, "alpha.greet": "hello"}


def test_uv_installs_from_the_index(local_index: LocalIndex, tmp_path: Path) -> None:
    python = uv_venv(tmp_path / "v")
    common = ["pip", "install", "--python", str(python), "--index-url", local_index.index_url]
    uv(tmp_path, *common, *REQUESTS, "source-only")  # source-only has only an sdist
    state = installed(python, tmp_path, *EXPECTED, "source-only")
    assert state == {**EXPECTED, "source-only": "1.0.0", "alpha.VALUE": 2, "alpha.greet": "hi"}
    assert run([str(python), "-c", "import alpha; print(alpha.BETA)"], tmp_path).stdout == "2.0.0\n"

    uv(tmp_path, *common, "alpha==1.0.0", "gamma==2.0.0")
    state = installed(python, tmp_path, "alpha", "gamma")
    assert state == {"alpha": "1.0.0", "gamma": "2.0.0", "alpha.VALUE": 1, "alpha.greet": "hello"}


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_html_only_index_gives_the_same_resolution(
    installer: str, make_index: MakeIndex, empty_uv_venv: Path, tmp_path: Path
) -> None:
    index = make_index(DEFAULT_CATALOGUE, serve_json=False)
    if installer == "pip":
        found = pip_resolve(index.index_url, tmp_path, *REQUESTS)
    else:
        found = uv_resolve(index.index_url, empty_uv_venv, tmp_path, *REQUESTS)
    assert found == EXPECTED
    pages = [r for r in index.requests if r.path.startswith("/simple/")]
    assert pages
    assert all(r.status == 200 for r in pages)


def test_uv_sees_a_new_release_through_its_shared_cache(
    make_index: MakeIndex, empty_uv_venv: Path, tmp_path: Path
) -> None:
    index = make_index([Release("fresh", "1.0.0")])
    assert uv_resolve(index.index_url, empty_uv_venv, tmp_path, "fresh") == {"fresh": "1.0.0"}
    index.add(Release("fresh", "1.1.0"))
    assert uv_resolve(index.index_url, empty_uv_venv, tmp_path, "fresh") == {"fresh": "1.1.0"}
    revalidations = [r for r in index.requests if r.path == "/simple/fresh/"]
    assert len(revalidations) == 2
    assert revalidations[1].header("if-none-match") is not None


def test_uv_with_basic_auth(make_index: MakeIndex, empty_uv_venv: Path, tmp_path: Path) -> None:
    index = make_index([Release("private", "3.0.0")], auth=("user", "s3cret/:"))
    assert index.fetch("/simple/private/").status == 401
    assert index.fetch("/simple/private/").headers["WWW-Authenticate"] == 'Basic realm="localindex"'
    wrong = base64.b64encode(b"user:nope").decode()
    assert index.fetch("/simple/private/", {"Authorization": f"Basic {wrong}"}).status == 401
    right = base64.b64encode(b"user:s3cret/:").decode()
    assert index.fetch("/simple/private/", {"Authorization": f"Basic {right}"}).status == 200
    assert index.fetch("/simple/private/", authenticate=True).status == 200
    wheel = index.file_path("private-3.0.0-py3-none-any.whl")
    assert index.fetch(wheel).status == 401
    assert index.fetch(wheel, authenticate=True).status == 200
    found = uv_resolve(index.auth_index_url, empty_uv_venv, tmp_path, "private")
    assert found == {"private": "3.0.0"}


# -- the pages ------------------------------------------------------------------------------


def test_json_project_page(local_index: LocalIndex) -> None:
    page = local_index.fetch("/simple/gamma/", {"Accept": PIP_ACCEPT})
    assert page.status == 200
    assert page.headers["Content-Type"] == JSON_V1
    doc = page.json()
    assert doc["meta"]["api-version"] == "1.1"
    assert doc["name"] == "gamma"
    assert doc["versions"] == ["1.0.0", "1.5.0", "2.0.0"]
    by_name = {f["filename"]: f for f in doc["files"]}
    assert list(by_name) == [
        "gamma-1.0.0-py3-none-any.whl",
        "gamma-1.5.0-py3-none-any.whl",
        "gamma-2.0.0-py3-none-any.whl",
    ]
    assert by_name["gamma-2.0.0-py3-none-any.whl"]["yanked"] == "broken build"
    assert by_name["gamma-1.5.0-py3-none-any.whl"]["yanked"] is False
    assert by_name["gamma-1.0.0-py3-none-any.whl"]["upload-time"] == "2021-01-06T00:00:00.000000Z"
    for entry in doc["files"]:
        assert UPLOAD_TIME.match(entry["upload-time"])
        data = local_index.fetch(entry["url"]).body
        assert hashlib.sha256(data).hexdigest() == entry["hashes"]["sha256"]
        assert len(data) == entry["size"]
        metadata = local_index.fetch(entry["url"] + ".metadata").body
        assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
        assert entry["dist-info-metadata"] == entry["core-metadata"]
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            version = entry["filename"].split("-")[1]
            assert wheel.read(f"gamma-{version}.dist-info/METADATA") == metadata


def test_json_page_requires_python_and_sdists(local_index: LocalIndex) -> None:
    delta = local_index.fetch("/simple/delta/", {"Accept": JSON_V1}).json()
    assert [f["requires-python"] for f in delta["files"]] == [None, ">=3.99"]
    beta = local_index.fetch("/simple/beta/", {"Accept": JSON_V1}).json()
    sdist = next(f for f in beta["files"] if f["filename"].endswith(".tar.gz"))
    assert sdist["filename"] == "beta-2.0.0.tar.gz"
    assert sdist["core-metadata"] is False
    assert local_index.fetch(sdist["url"] + ".metadata").status == 404
    with tarfile.open(fileobj=io.BytesIO(local_index.fetch(sdist["url"]).body)) as archive:
        names = archive.getnames()
        assert "beta-2.0.0/PKG-INFO" in names
        assert "beta-2.0.0/pyproject.toml" in names
        assert "beta-2.0.0/beta.py" in names


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.anchors.append((self._open, data))
            self._open = None


def anchors(body: bytes) -> list[tuple[dict[str, str | None], str]]:
    parser = _Anchors()
    parser.feed(body.decode())
    return parser.anchors


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [(HTML_V1, HTML_V1), ("text/html", "text/html; charset=utf-8"), (None, "text/html")],
)
def test_html_project_page(local_index: LocalIndex, accept: str | None, content_type: str) -> None:
    page = local_index.fetch("/simple/delta/", {"Accept": accept} if accept else {})
    assert page.status == 200
    assert page.headers["Content-Type"].startswith(content_type)
    assert 'data-requires-python="&gt;=3.99"' in page.text
    links = anchors(page.body)
    assert [text for _, text in links] == [
        "delta-1.0.0-py3-none-any.whl",
        "delta-2.0.0-py3-none-any.whl",
    ]
    old, new = (attrs for attrs, _ in links)
    assert "data-requires-python" not in old
    assert new["data-requires-python"] == ">=3.99"
    for attrs, _ in links:
        href = attrs["href"]
        assert href is not None
        url, _, fragment = href.partition("#sha256=")
        data = local_index.fetch(url).body
        assert hashlib.sha256(data).hexdigest() == fragment
        metadata = local_index.fetch(url + ".metadata").body
        expected = f"sha256={hashlib.sha256(metadata).hexdigest()}"
        assert attrs["data-core-metadata"] == attrs["data-dist-info-metadata"] == expected
    gamma = anchors(local_index.fetch("/simple/gamma/", {"Accept": HTML_V1}).body)
    assert [attrs.get("data-yanked") for attrs, _ in gamma] == [None, None, "broken build"]


def test_root_page(local_index: LocalIndex) -> None:
    doc = local_index.fetch("/simple/", {"Accept": JSON_V1}).json()
    assert doc["meta"]["api-version"] == "1.1"
    names = [p["name"] for p in doc["projects"]]
    assert set(names) == {"alpha", "beta", "gamma", "delta", "Zeta.Pkg", "source-only"}
    links = anchors(local_index.fetch("/simple/", {"Accept": "text/html"}).body)
    assert ({"href": "/simple/zeta-pkg/"}, "Zeta.Pkg") in links


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PIP_ACCEPT, JSON_V1),
        (f"{HTML_V1}, {JSON_V1}; q=0.5", HTML_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
        ("*/*", "text/html; charset=utf-8"),
        ("text/*", "text/html; charset=utf-8"),
        ("application/json", None),
        (f"{JSON_V1}; q=0", None),
    ],
)
def test_content_negotiation(local_index: LocalIndex, accept: str, expected: str | None) -> None:
    page = local_index.fetch("/simple/alpha/", {"Accept": accept})
    if expected is None:
        assert page.status == 406
    else:
        assert page.status == 200
        assert page.headers["Content-Type"] == expected
        assert page.headers["Vary"].startswith("Accept")


def test_format_query_parameter(local_index: LocalIndex) -> None:
    for value in (JSON_V1, quote(JSON_V1, safe="")):
        page = local_index.fetch(f"/simple/alpha/?format={value}", {"Accept": "text/html"})
        assert page.headers["Content-Type"] == JSON_V1
    assert local_index.fetch("/simple/alpha/?format=text/plain").status == 406


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Zeta.Pkg/", "/simple/zeta-pkg/"),
        ("/simple/zeta_pkg/", "/simple/zeta-pkg/"),
        ("/simple/ZETA--pkg", "/simple/zeta-pkg/"),
        ("/simple/alpha", "/simple/alpha/"),
        ("/simple", "/simple/"),
        ("/simple/Alpha/?format=x", "/simple/alpha/?format=x"),
    ],
)
def test_normalizing_redirects(local_index: LocalIndex, path: str, location: str) -> None:
    page = local_index.fetch(path)
    assert page.status == 301
    assert page.headers["Location"] == location


def test_unknown_paths_are_404(local_index: LocalIndex) -> None:
    assert local_index.fetch("/simple/nothing-here/").status == 404
    assert local_index.fetch("/files/alpha/0/alpha-9.whl").status == 404
    assert local_index.fetch("/simple/alpha/", method="POST").status == 405


def test_head_has_headers_but_no_body(local_index: LocalIndex) -> None:
    get = local_index.fetch("/simple/alpha/", {"Accept": JSON_V1})
    head = local_index.fetch("/simple/alpha/", {"Accept": JSON_V1}, method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))
    assert head.headers["ETag"] == get.headers["ETag"]


# -- caching headers ------------------------------------------------------------------------


def test_revalidation_with_etag_and_last_modified(make_index: MakeIndex) -> None:
    index = make_index([Release("alpha", "1.0.0")])
    first = index.fetch("/simple/alpha/", {"Accept": JSON_V1})
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "max-age=0, must-revalidate"
    again = index.fetch("/simple/alpha/", {"Accept": JSON_V1, "If-None-Match": etag})
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    by_date = index.fetch("/simple/alpha/", {"Accept": JSON_V1, "If-Modified-Since": modified})
    assert by_date.status == 304
    # The HTML representation has its own ETag.
    html_page = index.fetch("/simple/alpha/", {"Accept": HTML_V1, "If-None-Match": etag})
    assert html_page.status == 200
    assert html_page.headers["ETag"] != etag

    index.add(Release("alpha", "1.1.0"))
    changed = index.fetch("/simple/alpha/", {"Accept": JSON_V1, "If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert [f["filename"] for f in changed.json()["files"]][-1] == "alpha-1.1.0-py3-none-any.whl"
    by_date = index.fetch("/simple/alpha/", {"Accept": JSON_V1, "If-Modified-Since": modified})
    assert by_date.status == 200

    url = changed.json()["files"][0]["url"]
    file = index.fetch(url)
    assert file.headers["Cache-Control"] == "max-age=31536000, immutable"
    assert file.headers["Last-Modified"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert index.fetch(url, {"If-None-Match": file.headers["ETag"]}).status == 304
    assert index.fetch(url, {"If-Modified-Since": file.headers["Last-Modified"]}).status == 304


def test_cache_headers_can_be_turned_off(make_index: MakeIndex) -> None:
    index = make_index([Release("alpha", "1.0.0")], cache_headers=False, cache_control=None)
    page = index.fetch("/simple/alpha/", {"Accept": JSON_V1})
    assert page.status == 200
    for header in ("ETag", "Last-Modified", "Cache-Control"):
        assert header not in page.headers
    conditional = {"If-None-Match": "*", "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}
    assert index.fetch("/simple/alpha/", conditional).status == 200


# -- log, faults, catalogue changes ---------------------------------------------------------


def test_request_log_and_counters(make_index: MakeIndex) -> None:
    index = make_index([Release("alpha", "1.0.0")])
    index.fetch("/simple/alpha/", {"Accept": JSON_V1, "X-Probe": "1"})
    index.fetch("/simple/alpha/")
    index.fetch("/simple/Alpha/")
    assert index.count("/simple/alpha/") == 2
    assert index.count(prefix="/simple/") == 3
    assert index.count(method="HEAD") == 0
    assert index.counter["/simple/Alpha/"] == 1
    first = index.requests[0]
    assert (first.method, first.path, first.status) == ("GET", "/simple/alpha/", 200)
    assert first.header("X-Probe") == "1"
    assert [r.status for r in index.requests] == [200, 200, 301]
    index.clear_log()
    assert index.requests == []


def test_faults(make_index: MakeIndex) -> None:
    index = make_index([Release("alpha", "1.0.0")])
    flaky = index.fail("/simple/alpha/", 503, times=1)
    assert index.fetch("/simple/alpha/").status == 503
    assert index.fetch("/simple/alpha/").status == 200
    assert flaky.hits == 1

    index.add_fault(Fault(re.compile(r"\.metadata$"), status=500, body=b"boom"))
    url = index.fetch("/simple/alpha/", {"Accept": JSON_V1}).json()["files"][0]["url"]
    failed = index.fetch(url + ".metadata")
    assert (failed.status, failed.body) == (500, b"boom")
    assert index.fetch(url).status == 200

    index.clear_faults()
    index.slow("/simple/alpha/", 0.2, times=1)
    start = time.monotonic()
    assert index.fetch("/simple/alpha/").status == 200
    assert time.monotonic() - start >= 0.2

    def teapot(record: object) -> Response | None:
        return Response(418, b"tea") if "tea" in str(record) else None

    index.add_fault(Fault(respond=teapot))
    assert index.fetch("/simple/alpha/?tea=1").status == 418
    assert index.fetch("/simple/alpha/").status == 200

    index.add_fault(Fault("/simple/alpha/", disconnect=True, times=1))
    with pytest.raises(http.client.RemoteDisconnected):
        index.fetch("/simple/alpha/")
    assert index.requests[-1].status == 0
    assert index.fetch("/simple/alpha/").status == 200


def test_add_remove_and_yank_while_running(make_index: MakeIndex, tmp_path: Path) -> None:
    index = make_index([Release("alpha", "1.0.0")], directory=tmp_path / "links")
    index.add(Release("alpha", "1.1.0", sdist=True), Release("Other_Thing", "0.1"))
    doc = index.fetch("/simple/alpha/", {"Accept": JSON_V1}).json()
    assert doc["versions"] == ["1.0.0", "1.1.0"]
    assert index.fetch("/simple/other-thing/").status == 200
    assert sorted(p.name for p in (tmp_path / "links").iterdir()) == [
        "alpha-1.0.0-py3-none-any.whl",
        "alpha-1.1.0-py3-none-any.whl",
        "alpha-1.1.0.tar.gz",
        "other_thing-0.1-py3-none-any.whl",
    ]
    index.yank("alpha", "1.1.0", "oops")
    doc = index.fetch("/simple/alpha/", {"Accept": JSON_V1}).json()
    assert [f["yanked"] for f in doc["files"]] == [False, "oops", "oops"]
    index.yank("alpha", "1.0.0")
    assert index.fetch("/simple/alpha/", {"Accept": JSON_V1}).json()["files"][0]["yanked"] is True
    old_url = index.file_path("alpha-1.1.0-py3-none-any.whl")
    index.remove("alpha", "1.1.0")
    assert index.fetch(old_url).status == 404
    assert index.fetch("/simple/alpha/", {"Accept": JSON_V1}).json()["versions"] == ["1.0.0"]
    index.remove("other-thing")
    assert index.fetch("/simple/other-thing/").status == 404


def test_stop_closes_idle_keep_alive_connections(make_index: MakeIndex) -> None:
    index = make_index([Release("alpha", "1.0.0")])
    conn = http.client.HTTPConnection("127.0.0.1", index.port, timeout=10)
    try:
        conn.request("GET", "/simple/alpha/")
        conn.getresponse().read()
        start = time.monotonic()
        index.stop()
        assert time.monotonic() - start < 2
    finally:
        conn.close()


# -- the builder ----------------------------------------------------------------------------


def test_wheel_contents() -> None:
    release = Release(
        "My.Package",
        "1.2.0",
        requires=["beta>=1", "colorama; sys_platform == 'win32'"],
        requires_python=">=3.9",
        extras={"fast": ["gamma", "delta; python_version < '3.12'"]},
        module="VALUE = 2\n",
        files={"my_package_data/config.json": "{}", "blob.bin": b"\x00\x01"},
    )
    wheel = build_wheel(release)
    assert wheel.filename == "my_package-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    info = "my_package-1.2.0.dist-info"
    assert contents["my_package.py"] == b"VALUE = 2\n"
    assert contents["my_package_data/config.json"] == b"{}"
    assert contents[f"{info}/top_level.txt"] == b"my_package\n"
    assert b"Tag: py3-none-any" in contents[f"{info}/WHEEL"]
    metadata = Parser().parsestr(contents[f"{info}/METADATA"].decode())
    assert metadata["Metadata-Version"] == "2.1"
    assert metadata["Name"] == "My.Package"
    assert metadata["Requires-Python"] == ">=3.9"
    assert metadata.get_all("Provides-Extra") == ["fast"]
    assert metadata.get_all("Requires-Dist") == [
        "beta>=1",
        "colorama; sys_platform == 'win32'",
        'gamma ; extra == "fast"',
        "delta ; (python_version < '3.12') and extra == \"fast\"",
    ]
    assert wheel.metadata == contents[f"{info}/METADATA"]
    record = contents[f"{info}/RECORD"].decode().splitlines()
    assert f"{info}/RECORD,," in record
    assert len(record) == len(contents)
    for line in record:
        path, digest, size = line.rsplit(",", 2)
        if path == f"{info}/RECORD":
            continue
        expected = base64.urlsafe_b64encode(hashlib.sha256(contents[path]).digest()).rstrip(b"=")
        assert digest == f"sha256={expected.decode()}"
        assert int(size) == len(contents[path])


def test_sdist_contents() -> None:
    sdist = build_sdist(Release("My.Package", "1.2.0", requires=["beta"], sdist=True))
    assert sdist.filename == "my_package-1.2.0.tar.gz"
    assert sdist.metadata is None
    with tarfile.open(fileobj=io.BytesIO(sdist.data)) as archive:
        names = archive.getnames()
        pkg_info = archive.extractfile("my_package-1.2.0/PKG-INFO")
        assert pkg_info is not None
        assert b"Requires-Dist: beta" in pkg_info.read()
    assert "my_package-1.2.0/pyproject.toml" in names
    assert "my_package-1.2.0/my_package.py" in names


def test_builds_are_deterministic_and_cached(tmp_path: Path) -> None:
    one = Release("alpha", "1.0.0", module="X = 1\n")
    assert build_wheel(one) is build_wheel(Release("alpha", "1.0.0", module="X = 1\n"))
    assert build_wheel(one).sha256 != build_wheel(Release("alpha", "1.0.0")).sha256
    # Index-only fields do not change the file.
    yanked = Release("alpha", "1.0.0", module="X = 1\n", yanked=True, uploaded=datetime(2024, 1, 1))
    assert build_wheel(yanked) is build_wheel(one)

    many = [
        Release(f"pkg-{i}", f"1.{j}.0", requires=["beta>=1"], sdist=j == 0)
        for i in range(100)
        for j in range(3)
    ]
    start = time.perf_counter()
    paths = write_releases(many, tmp_path)
    assert time.perf_counter() - start < 5
    assert len(paths) == 400
    start = time.perf_counter()
    for release in many:
        build(release)
    assert time.perf_counter() - start < 0.5


def test_release_fields() -> None:
    release = Release("Zeta.Pkg", "1.0", uploaded=datetime(2024, 5, 6, 7, 8, 9))
    assert release.uploaded == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert format_upload_time(release.uploaded) == "2024-05-06T07:08:09.000000Z"
    assert (release.project, release.dist_name, release.module_name) == (
        "zeta-pkg",
        "zeta_pkg",
        "zeta_pkg",
    )
    assert release.yanked_reason is None
    assert Release("a", "1", yanked=True).yanked_reason == ""
    assert Release("a", "1", yanked="why").yanked_reason == "why"
    with pytest.raises(ValueError, match="project name"):
        Release("-bad", "1")
    with pytest.raises(ValueError, match="neither"):
        Release("a", "1", wheel=False)
    with pytest.raises(ValueError, match="relative"):
        Release("a", "1", files={"../x": ""})
    with pytest.raises(TypeError):
        Release("a", "1", requires="beta")


def test_version_key_orders_like_pep_440() -> None:
    versions = ["1.0.post1", "1.0", "1.0rc1", "1.0.dev0", "1.0a1", "0.9", "2!0.1", "1.0.1", "1.1"]
    assert sorted(versions, key=version_key) == [
        "0.9",
        "1.0.dev0",
        "1.0a1",
        "1.0rc1",
        "1.0",
        "1.0.post1",
        "1.0.1",
        "1.1",
        "2!0.1",
    ]


# -- isolation -----------------------------------------------------------------------------


def test_environment_is_isolated(tmp_path: Path, uv_cache_dir: Path) -> None:
    assert {k for k in os.environ if k.startswith(("PIP_", "UV_"))} == {
        "PIP_CONFIG_FILE",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_NO_INPUT",
        "PIP_NO_COLOR",
        "UV_CACHE_DIR",
        "UV_PYTHON_DOWNLOADS",
    }
    assert os.environ["PIP_CONFIG_FILE"] == os.devnull
    assert os.environ["UV_CACHE_DIR"] == str(uv_cache_dir)
    assert os.environ["NO_COLOR"] == "1"
    assert "VIRTUAL_ENV" not in os.environ
    assert Path.home() != Path("/root")
    assert not any(Path.home().joinpath(".config").iterdir())
    # pip reads no configuration file: every setting it reports comes from our variables.
    listed = pip(tmp_path, "config", "list").stdout.splitlines()
    assert listed
    assert all(line.startswith(":env:") for line in listed)
