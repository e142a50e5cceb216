"""The index client: PEP 691 / PEP 503 parsing, the HTTP cache, retries, credentials, redaction.

HTTP tests run against servers on 127.0.0.1 only. Besides the project's local index, this file
has a small scripted server (:class:`Scripted`) whose every answer a test chooses, for what a
real index rarely does on purpose: garbage bodies, truncated responses, redirects to another
host, authentication challenges, outages.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import greenbump.index as index_module
import greenbump.pages as pages_module
from greenbump.candidates import Filters, find_candidates
from greenbump.errors import ExternalError, InputError
from greenbump.index import (
    ACCEPT,
    HttpCache,
    IndexClient,
    ProjectNotFound,
    fetch_projects,
)
from greenbump.indexconfig import IndexConfig, IndexUrl, resolve_index_config
from greenbump.pages import (
    DistFile,
    ProjectPage,
    Release,
    parse_html_page,
    parse_json_page,
    parse_upload_time,
    version_from_filename,
)
from greenbump.parseworker import LARGE_PAGE
from greenbump.redact import looks_like_token, redact_text, redact_url
from localindex import DEFAULT_CATALOGUE, Fault, LocalIndex, uv_bin
from localindex import Release as LocalRelease

T = TypeVar("T")
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def run(work: Callable[[], T]) -> T:
    return work()


# --- a scripted HTTP server -------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False  # announce more bytes than sent, then close
    delay: float = 0.0


Route = Callable[["Request"], Reply]


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class Scripted:
    """A loopback HTTP server answering each path with a scripted :class:`Reply`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route | list[Reply] | Reply] = {}
        self.log: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                with script._lock:
                    script.log.append(request)
                    script.in_flight += 1
                    script.max_in_flight = max(script.max_in_flight, script.in_flight)
                try:
                    reply = script._reply(request)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self.send_response(reply.status)
                    length = len(reply.body) + (100 if reply.truncate else 0)
                    headers = {"Content-Length": str(length), **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if reply.truncate:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(reply.body)
                finally:
                    with script._lock:
                        script.in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = host
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _reply(self, request: Request) -> Reply:
        path = request.path.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if isinstance(route, Reply):
            return route
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route(request)

    def url(self, path: str = "/simple", userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path.split("?", 1)[0] == path]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def config_for(
    *urls: str, strategy: str = "first-index", find_links: tuple[str, ...] = ()
) -> IndexConfig:
    """A config whose primary index is the last URL and extras the others (search order)."""
    entries = [IndexUrl(url, "test") for url in urls]
    return IndexConfig(
        index=entries[-1] if entries else None,
        extra=tuple(entries[:-1]),
        find_links=tuple(IndexUrl(u, "test") for u in find_links),
        strategy=strategy,
    )


def config_from(url: str, tmp_path: Path, **env: str) -> IndexConfig:
    """A config resolved the way greenbump does it, from an index URL with credentials."""
    home = tmp_path / "cfg-home"
    home.mkdir(exist_ok=True)
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **env}
    return resolve_index_config(tmp_path, env=environ, index_url=url)


def json_page(name: str, files: list[dict[str, Any]], api: str = "1.1") -> bytes:
    return json.dumps({"meta": {"api-version": api}, "name": name, "files": files}).encode()


def wheel(name: str, version: str, **extra: Any) -> dict[str, Any]:
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    return {
        "filename": filename,
        "url": f"../../files/{filename}",
        "hashes": {"sha256": "ab" * 32},
        **extra,
    }


DEMO_FILES = [
    wheel("demo", "1.0", **{"upload-time": "2024-01-02T03:04:05.123456Z", "size": 1234}),
    {
        "filename": "demo-1.0.tar.gz",
        "url": "https://files.test/demo-1.0.tar.gz",
        "hashes": {"sha256": "cd" * 32},
        "upload-time": "2024-01-03T00:00:00Z",
        "requires-python": ">=3.8",
    },
    wheel("demo", "2.0", **{"requires-python": ">=3.10", "upload-time": "2024-05-01T00:00:00Z"}),
    wheel("demo", "2.1", yanked="broken build", **{"upload-time": "2024-06-01T00:00:00Z"}),
    wheel("demo", "2.2rc1", yanked=True),
]


def json_reply(body: bytes, **headers: str) -> Reply:
    return Reply(200, body, {"Content-Type": JSON_TYPE, **headers})


# --- parsing (no network) ---------------------------------------------------------------------


def test_upload_times_parse_to_aware_utc() -> None:
    utc = dt.timezone.utc
    assert parse_upload_time("2024-01-02T03:04:05.123456Z") == dt.datetime(
        2024, 1, 2, 3, 4, 5, 123456, tzinfo=utc
    )
    assert parse_upload_time("2024-01-02T03:04:05Z") == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)
    assert parse_upload_time("2024-01-02T03:04:05.1234567891+01:00") == dt.datetime(
        2024, 1, 2, 2, 4, 5, 123456, tzinfo=utc
    )
    assert parse_upload_time("2024-01-02 03:04:05") == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)
    assert parse_upload_time("yesterday") is None
    assert parse_upload_time("2024-13-45T00:00:00Z") is None


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("demo-1.0-py3-none-any.whl", "1.0"),
        ("Demo_Pkg-2.0.post1-1-cp311-cp311-manylinux_2_28_x86_64.whl", None),  # other project
        ("demo-1.0.tar.gz", "1.0"),
        ("demo-1.0rc1.zip", "1.0rc1"),
        ("demo-0.9.tar.bz2", "0.9"),
        ("demo-0.8.tgz", "0.8"),
        ("demo-0.7-py2.7.egg", None),
        ("demo-1.0.exe", None),
        ("demo-not-a-version.tar.gz", None),
        ("demonstration-1.0.tar.gz", None),
        ("broken.whl", None),
    ],
)
def test_versions_from_filenames(filename: str, expected: str | None) -> None:
    found = version_from_filename(filename, canonicalize_name("demo"))
    assert found == (Version(expected) if expected else None)


def test_versions_from_filenames_with_dashed_names() -> None:
    name = canonicalize_name("Demo.Pkg")
    assert version_from_filename("Demo_Pkg-2.0-py3-none-any.whl", name) == Version("2.0")
    assert version_from_filename("demo-pkg-2.0.tar.gz", name) == Version("2.0")
    assert version_from_filename("Demo.Pkg-1.5.tar.bz2", name) == Version("1.5")


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>demo</title></head>
<body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=aaaa"
   data-requires-python="&gt;=3.8,&lt;4">demo-1.0-py3-none-any.whl</a><br>
<a href="https://files.test/demo-1.1.tar.gz" data-yanked>demo-1.1.tar.gz</a>
<a href="https://files.test/demo-1.2.tar.gz" data-yanked="bad &amp; broken">demo-1.2.tar.gz</a>
<a href="https://user:pw@files.test/demo-1.3.tar.gz">demo-1.3.tar.gz</a>
<a>no href</a>
<a href="other-1.0.tar.gz">other-1.0.tar.gz</a>
</body></html>
"""


def test_html_page_parsing() -> None:
    files = parse_html_page(
        HTML_PAGE, "https://index.test/simple/demo/", "https://index.test/simple"
    )
    by_name = {f.filename: f for f in files}
    first = by_name["demo-1.0-py3-none-any.whl"]
    assert first.url == "https://index.test/files/demo-1.0-py3-none-any.whl"
    assert first.hashes == {"sha256": "aaaa"}
    assert first.requires_python == SpecifierSet(">=3.8,<4")
    assert not first.yanked
    assert by_name["demo-1.1.tar.gz"].yanked
    assert by_name["demo-1.1.tar.gz"].yanked_reason is None
    assert by_name["demo-1.2.tar.gz"].yanked_reason == "bad & broken"
    assert by_name["demo-1.3.tar.gz"].url == "https://files.test/demo-1.3.tar.gz"  # no userinfo
    assert by_name["other-1.0.tar.gz"].url == "https://index.test/simple/demo/other-1.0.tar.gz"
    assert len(files) == 5


def test_html_base_tag_and_unclosed_anchor() -> None:
    page = '<base href="https://mirror.test/pkgs/"><a href="demo-1.0.tar.gz">demo-1.0.tar.gz'
    (only,) = parse_html_page(page, "https://index.test/simple/demo/", "x")
    assert only.url == "https://mirror.test/pkgs/demo-1.0.tar.gz"


def test_json_page_parsing() -> None:
    files = parse_json_page(
        json.loads(json_page("demo", DEMO_FILES)), "https://index.test/simple/demo/", "origin"
    )
    first = files[0]
    assert first.url == "https://index.test/files/demo-1.0-py3-none-any.whl"
    assert first.size == 1234
    assert first.upload_time == dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)
    assert files[1].requires_python == SpecifierSet(">=3.8")
    assert files[3].yanked and files[3].yanked_reason == "broken build"
    assert files[4].yanked and files[4].yanked_reason is None
    assert {f.index for f in files} == {"origin"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not an object"),
        ({"meta": {"api-version": "2.0"}, "files": []}, "unsupported simple API version"),
        ({"meta": {}, "files": []}, "unsupported simple API version"),
        ({"meta": {"api-version": "1.0"}}, "'files'"),
        ({"meta": {"api-version": "1.0"}, "files": ["x"]}, "not an object"),
        ({"meta": {"api-version": "1.0"}, "files": [{"filename": "a"}]}, "lacks"),
        (
            {
                "meta": {"api-version": "1.0"},
                "files": [{"filename": "a", "url": "b", "hashes": []}],
            },
            "hashes",
        ),
        (
            {"meta": {"api-version": "1.0"}, "files": [{"filename": "a", "url": "b", "yanked": 1}]},
            "yanked",
        ),
    ],
)
def test_json_garbage_is_rejected(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_json_page(document, "https://index.test/simple/demo/", "origin")


def test_release_aggregation() -> None:
    utc = dt.timezone.utc
    early = dt.datetime(2024, 1, 1, tzinfo=utc)
    late = dt.datetime(2024, 2, 1, tzinfo=utc)
    files = [
        DistFile("demo-1.0.tar.gz", "u1", yanked=True, yanked_reason="oops", upload_time=early),
        DistFile(
            "demo-1.0-py3-none-any.whl",
            "u2",
            upload_time=late,
            requires_python=SpecifierSet(">=3.9"),
        ),
    ]
    partly = Release.from_files(Version("1.0"), files)
    assert not partly.yanked  # PEP 592: only when every file is yanked
    assert partly.yanked_reason is None
    assert partly.upload_time == late
    assert partly.requires_python == SpecifierSet(">=3.9")
    fully = Release.from_files(Version("1.0"), files[:1])
    assert fully.yanked and fully.yanked_reason == "oops"


# --- redaction --------------------------------------------------------------------------------


def test_redact_url() -> None:
    assert (
        redact_url("https://alice:s3cret@host.test/simple") == "https://alice:****@host.test/simple"
    )
    assert (
        redact_url("https://ghp_abcdefghijklmnopqrstu123@host.test/x") == "https://****@host.test/x"
    )
    assert (
        redact_url("https://__token__:pypi-AgEIcHlwaS5vcmc@host.test/")
        == "https://__token__:****@host.test/"
    )
    assert (
        redact_url("https://host.test/s?token=abc&page=2#x")
        == "https://host.test/s?token=****&page=2#x"
    )
    assert redact_url("https://u:p@ss@host.test:8080/p") == "https://u:****@host.test:8080/p"
    assert redact_url("https://alice@host.test/") == "https://alice@host.test/"
    assert redact_url("file:///srv/index") == "file:///srv/index"
    assert redact_url("not a url") == "not a url"


def test_token_detection() -> None:
    assert looks_like_token("ghp_16C7e42F292c6912E7710c838347Ae178B4a")
    assert looks_like_token("3f9a8c7d6e5b4a3f2e1d0c9b8a7f6e5d")
    assert looks_like_token("glpat-abcdefghij")
    for name in ("alice", "__token__", "oauth2accesstoken", "ci-bot", "john.smith", "aws"):
        assert not looks_like_token(name)


def test_redact_text() -> None:
    text = (
        "uv failed: git+https://bob:pw123@host.test/x.git and 'https://k:v@h2.test/s'; key hunter22"
    )
    shown = redact_text(text, ["hunter22", "ab"])
    assert "pw123" not in shown
    assert ":v@" not in shown
    assert "hunter22" not in shown
    assert "bob:****@host.test" in shown
    assert "key ****" in shown
    assert "ab" in redact_text("abc", ["ab"])  # too short to be a secret worth mangling text for
    assert redact_text("p%40ss and p@ss!", ["p@ss!"]) == "p%40ss and ****"


# --- HTTP: content negotiation and parsing ----------------------------------------------------


def test_json_page_over_http(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))

    def go() -> ProjectPage:
        with IndexClient(config_for(scripted.url()), tmp_path / "cache") as client:
            return client.fetch_project("Demo")

    page = run(go)
    assert page.name == "demo"
    assert page.versions == tuple(Version(v) for v in ("1.0", "2.0", "2.1", "2.2rc1"))
    one = page.release("1.0")
    assert one is not None
    assert len(one.files) == 2
    assert one.upload_time == dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)  # latest file
    assert one.files[0].hashes == {"sha256": "ab" * 32}
    assert one.files[0].url == scripted.url("/files/demo-1.0-py3-none-any.whl")
    assert page.release("2.0").requires_python == SpecifierSet(">=3.10")  # type: ignore[union-attr]
    assert page.release("2.1").yanked_reason == "broken build"  # type: ignore[union-attr]
    assert page.release("2.2rc1").yanked  # type: ignore[union-attr]
    (request,) = scripted.log
    assert request.headers["accept"] == ACCEPT
    assert request.path == "/simple/demo/"


def test_html_answer_to_a_json_request(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = Reply(
        200, HTML_PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"}
    )
    page = fetch_projects(config_for(scripted.url()), ["demo"], cache_dir=tmp_path)[0]["demo"]
    assert isinstance(page, ProjectPage)
    assert [str(v) for v in page.versions] == ["1.0", "1.1", "1.2", "1.3"]
    assert page.release("1.0").requires_python == SpecifierSet(">=3.8,<4")  # type: ignore[union-attr]
    assert page.release("1.2").yanked_reason == "bad & broken"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (json_reply(b'{"meta": {"api-version": "1.0"}, "files": ['), "invalid JSON"),
        (json_reply(json_page("demo", [], api="2.0")), "unsupported simple API version"),
        (Reply(200, b"\x89PNG....", {"Content-Type": "image/png"}), "content type 'image/png'"),
        (Reply(200, b"hello", {}), "content type 'none'"),
        (Reply(418, b"teapot", {"Content-Type": "text/plain"}), "HTTP 418"),
    ],
)
def test_garbage_is_an_external_error(
    scripted: Scripted, tmp_path: Path, reply: Reply, message: str
) -> None:
    scripted.routes["/simple/demo/"] = reply
    with pytest.raises(ExternalError, match=message) as caught:
        fetch_projects(config_for(scripted.url()), ["demo"], cache_dir=tmp_path)
    assert caught.value.exit_code == 3


def test_truncated_body_is_an_external_error(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = Reply(
        200, json_page("demo", DEMO_FILES), {"Content-Type": JSON_TYPE}, truncate=True
    )

    def go() -> None:
        with IndexClient(config_for(scripted.url()), tmp_path, tries=2, backoff=0.01) as client:
            client.fetch_project("demo")

    with pytest.raises(ExternalError, match="unreachable"):
        run(go)
    assert len(scripted.hits("/simple/demo/")) == 2


# --- HTTP: unknown projects and index strategies ----------------------------------------------


def test_unknown_project_on_every_index(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    config = config_for(scripted.url("/extra"), scripted.url("/simple"))
    pages, stats = fetch_projects(config, ["demo", "nope", "NoPe"], cache_dir=tmp_path)
    assert set(pages) == {"demo", "nope"}
    missing = pages["nope"]
    assert isinstance(missing, ProjectNotFound)
    assert isinstance(missing, InputError)
    assert missing.name == "nope"
    assert missing.searched == (scripted.url("/extra"), scripted.url("/simple"))
    assert "unknown package 'nope'" in str(missing)
    assert stats.requests == 4  # demo: extra 404 + primary; nope: both


def test_first_index_stops_at_the_first_index_that_has_the_project(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.routes["/extra/demo/"] = json_reply(json_page("demo", [wheel("demo", "0.1")]))
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    config = config_for(scripted.url("/extra"), scripted.url("/simple"))
    pages, _ = fetch_projects(config, ["demo"], cache_dir=tmp_path)
    page = pages["demo"]
    assert isinstance(page, ProjectPage)
    assert page.versions == (Version("0.1"),)
    assert page.sources == (scripted.url("/extra"),)
    assert scripted.hits("/simple/demo/") == []


def test_best_match_merges_indexes_and_the_first_keeps_shared_versions(
    scripted: Scripted, tmp_path: Path
) -> None:
    first = wheel("demo", "1.0")
    first["url"] = "https://first.test/demo-1.0-py3-none-any.whl"
    scripted.routes["/extra/demo/"] = json_reply(json_page("demo", [wheel("demo", "0.1"), first]))
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    config = config_for(
        scripted.url("/extra"), scripted.url("/simple"), strategy="unsafe-best-match"
    )
    page = fetch_projects(config, ["demo"], cache_dir=tmp_path)[0]["demo"]
    assert isinstance(page, ProjectPage)
    assert [str(v) for v in page.versions] == ["0.1", "1.0", "2.0", "2.1", "2.2rc1"]
    shared = page.release("1.0")
    assert shared is not None
    assert [f.url for f in shared.files] == ["https://first.test/demo-1.0-py3-none-any.whl"]


def test_fetch_many_bounds_concurrency(scripted: Scripted, tmp_path: Path) -> None:
    names = [f"pkg{i}" for i in range(8)]
    for name in names:
        reply = json_reply(json_page(name, [wheel(name, "1.0")]))
        reply.delay = 0.05
        scripted.routes[f"/simple/{name}/"] = reply

    def go() -> dict[str, Any]:
        with IndexClient(config_for(scripted.url()), tmp_path) as client:
            return dict(client.fetch_many(names, concurrency=3))

    pages = run(go)
    assert set(pages) == set(names)
    assert all(isinstance(p, ProjectPage) for p in pages.values())
    assert 1 < scripted.max_in_flight <= 3


# --- HTTP: cache --------------------------------------------------------------------------------


def test_etag_revalidates_with_304(scripted: Scripted, tmp_path: Path) -> None:
    body = json_page("demo", DEMO_FILES)

    def route(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return json_reply(body, ETag='"v1"')

    scripted.routes["/simple/demo/"] = route
    config = config_for(scripted.url())
    first, stats1 = fetch_projects(config, ["demo"], cache_dir=tmp_path)
    second, stats2 = fetch_projects(config, ["demo"], cache_dir=tmp_path)
    assert first == second
    requests = scripted.hits("/simple/demo/")
    assert len(requests) == 2
    assert "if-none-match" not in requests[0].headers
    assert requests[1].headers["if-none-match"] == '"v1"'
    assert (stats1.downloaded, stats2.revalidated, stats2.downloaded) == (1, 1, 0)


def test_last_modified_revalidates_with_304(scripted: Scripted, tmp_path: Path) -> None:
    stamp = "Tue, 02 Jan 2024 03:04:05 GMT"

    def route(request: Request) -> Reply:
        if request.headers.get("if-modified-since") == stamp:
            return Reply(304)
        return json_reply(json_page("demo", DEMO_FILES), **{"Last-Modified": stamp})

    scripted.routes["/simple/demo/"] = route
    config = config_for(scripted.url())
    fetch_projects(config, ["demo"], cache_dir=tmp_path)
    pages, stats = fetch_projects(config, ["demo"], cache_dir=tmp_path, refresh=True)
    assert isinstance(pages["demo"], ProjectPage)
    assert stats.revalidated == 1
    assert scripted.hits("/simple/demo/")[1].headers["if-modified-since"] == stamp


def test_no_validators_kept_for_ttl_then_refetched(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    config = config_for(scripted.url())
    fetch_projects(config, ["demo"], cache_dir=tmp_path, ttl=300)
    _, stats = fetch_projects(config, ["demo"], cache_dir=tmp_path, ttl=300)
    assert (stats.requests, stats.cache_hits) == (0, 1)
    assert len(scripted.hits("/simple/demo/")) == 1
    _, stats = fetch_projects(config, ["demo"], cache_dir=tmp_path, ttl=300, refresh=True)
    assert stats.requests == 1
    assert "if-none-match" not in scripted.log[-1].headers
    time.sleep(0.05)
    _, stats = fetch_projects(config, ["demo"], cache_dir=tmp_path, ttl=0.01)
    assert (stats.requests, stats.cache_hits) == (1, 0)
    assert len(scripted.hits("/simple/demo/")) == 3


def test_cache_control_max_age_and_no_store(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/fresh/"] = json_reply(
        json_page("fresh", [wheel("fresh", "1.0")]), ETag='"x"', **{"Cache-Control": "max-age=600"}
    )
    scripted.routes["/simple/private/"] = json_reply(
        json_page("private", [wheel("private", "1.0")]), **{"Cache-Control": "no-store"}
    )
    config = config_for(scripted.url())
    fetch_projects(config, ["fresh", "private"], cache_dir=tmp_path)
    _, stats = fetch_projects(config, ["fresh", "private"], cache_dir=tmp_path)
    assert (stats.cache_hits, stats.requests) == (1, 1)
    assert len(scripted.hits("/simple/fresh/")) == 1
    assert len(scripted.hits("/simple/private/")) == 2
    assert len(list(tmp_path.glob("*.entry"))) == 1


def test_corrupt_cache_entry_is_refetched(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    config = config_for(scripted.url())
    fetch_projects(config, ["demo"], cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.entry")
    entry.write_bytes(b"{not json\n")
    pages, stats = fetch_projects(config, ["demo"], cache_dir=tmp_path)
    assert isinstance(pages["demo"], ProjectPage)
    assert stats.downloaded == 1
    assert not list(tmp_path.glob(".tmp-*"))


def test_cache_key_ignores_credentials(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path)
    with_secret = cache.path("https://alice:pw@host.test/simple/demo/", ACCEPT)
    assert with_secret == cache.path("https://alice:other@host.test/simple/demo/", ACCEPT)
    assert "alice" not in with_secret.name and "pw" not in with_secret.name


# --- HTTP: failures and retries ---------------------------------------------------------------


def test_retries_on_500_then_success(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = [
        Reply(500, b"oops"),
        Reply(503, b"busy", {"Retry-After": "0"}),
        json_reply(json_page("demo", DEMO_FILES)),
    ]

    def go() -> tuple[ProjectPage, Any]:
        with IndexClient(config_for(scripted.url()), tmp_path, backoff=0.01) as client:
            return client.fetch_project("demo"), client.stats

    page, stats = run(go)
    assert page.versions
    assert stats.retries == 2
    assert [r.status for r in stats.records] == [500, 503, 200]
    assert all(r.seconds >= 0 for r in stats.records)


def test_persistent_5xx_is_one_external_error(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = Reply(502, b"bad gateway")

    def go() -> None:
        with IndexClient(config_for(scripted.url()), tmp_path, backoff=0.01) as client:
            client.fetch_project("demo")

    with pytest.raises(ExternalError, match=r"unreachable: HTTP 502 \(after 3 tries\)"):
        run(go)
    assert len(scripted.hits("/simple/demo/")) == 3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_index_is_redacted(tmp_path: Path) -> None:
    port = closed_port()
    url = f"http://alice:top-secret-pw@127.0.0.1:{port}/simple"
    config = config_from(url, tmp_path)

    def go() -> None:
        with IndexClient(config, tmp_path / "cache", backoff=0.01) as client:
            client.fetch_project("demo")

    with pytest.raises(ExternalError) as caught:
        run(go)
    message = str(caught.value)
    assert f"index http://alice:****@127.0.0.1:{port}/simple" in message
    assert "unreachable" in message
    assert "top-secret-pw" not in message
    assert caught.value.exit_code == 3


# --- HTTP: credentials and redirects ------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def auth_route(user: str, password: str, body: bytes) -> Route:
    def route(request: Request) -> Reply:
        if request.headers.get("authorization") != basic(user, password):
            return Reply(401, b"login", {"WWW-Authenticate": 'Basic realm="idx"'})
        return json_reply(body, ETag='"e"')

    return route


def test_url_credentials_are_sent_but_never_stored_or_shown(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.routes["/simple/demo/"] = auth_route(
        "alice", "url-pw-1", json_page("demo", DEMO_FILES)
    )
    config = config_from(scripted.url(userinfo="alice:url-pw-1"), tmp_path)
    cache = tmp_path / "cache"
    pages, stats = fetch_projects(config, ["demo"], cache_dir=cache)
    assert isinstance(pages["demo"], ProjectPage)
    for entry in cache.iterdir():
        assert "url-pw-1" not in entry.name
        assert b"url-pw-1" not in entry.read_bytes()
    assert "url-pw-1" not in repr(stats)
    assert all("url-pw-1" not in r.url for r in stats.records)


def test_wrong_credentials_are_an_external_error(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = auth_route("alice", "right", json_page("demo", DEMO_FILES))
    config = config_from(scripted.url(userinfo="alice:wrong-pw-2"), tmp_path)
    with pytest.raises(ExternalError, match="HTTP 401") as caught:
        fetch_projects(config, ["demo"], cache_dir=tmp_path / "cache")
    assert "wrong-pw-2" not in str(caught.value)
    assert "credentials were sent" in str(caught.value)


def test_netrc_basic_auth(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = auth_route(
        "nina", "netrc-pw-3", json_page("demo", DEMO_FILES)
    )
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login nina password netrc-pw-3\n", encoding="utf-8")
    config = config_from(scripted.url(), tmp_path, NETRC=str(netrc_file))
    pages, _ = fetch_projects(config, ["demo"], cache_dir=tmp_path / "cache")
    assert isinstance(pages["demo"], ProjectPage)
    assert scripted.log[-1].headers["authorization"] == basic("nina", "netrc-pw-3")


def test_redirect_within_the_host_is_followed_with_credentials(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.routes["/simple/demo/"] = Reply(301, b"", {"Location": "/moved/demo/"})
    scripted.routes["/moved/demo/"] = auth_route(
        "olga", "redir-pw-4", json_page("demo", DEMO_FILES)
    )
    config = config_from(scripted.url(userinfo="olga:redir-pw-4"), tmp_path)
    page = fetch_projects(config, ["demo"], cache_dir=tmp_path / "cache")[0]["demo"]
    assert isinstance(page, ProjectPage)
    # relative file URLs resolve against the page they were found on
    assert page.releases[0].files[0].url == scripted.url("/files/demo-1.0-py3-none-any.whl")


def test_redirect_to_another_host_is_refused(scripted: Scripted, tmp_path: Path) -> None:
    other = Scripted("localhost")
    other.thread.start()
    try:
        other.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
        scripted.routes["/simple/demo/"] = Reply(302, b"", {"Location": other.url("/simple/demo/")})
        config = config_from(scripted.url(userinfo="pat:redir-pw-5"), tmp_path)
        with pytest.raises(ExternalError, match="another host") as caught:
            fetch_projects(config, ["demo"], cache_dir=tmp_path / "cache")
        assert "redir-pw-5" not in str(caught.value)
        assert other.log == []
    finally:
        other.server.shutdown()
        other.server.server_close()


# --- local indexes ------------------------------------------------------------------------------


def test_file_index_and_find_links_directory(tmp_path: Path) -> None:
    root = tmp_path / "simple"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "index.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "Bare_Dir").mkdir()
    (root / "Bare_Dir" / "bare_dir-3.0-py3-none-any.whl").write_bytes(b"")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "demo-9.0-py3-none-any.whl").write_bytes(b"zip")
    (wheels / "flatonly-0.5.tar.gz").write_bytes(b"")
    config = config_for(root.as_uri(), find_links=(wheels.as_uri(),))
    pages, stats = fetch_projects(
        config, ["demo", "bare-dir", "flatonly", "nowhere"], cache_dir=False
    )
    demo = pages["demo"]
    assert isinstance(demo, ProjectPage)
    assert [str(v) for v in demo.versions] == ["1.0", "1.1", "1.2", "1.3", "9.0"]
    assert demo.sources == (root.as_uri(), wheels.as_uri())
    assert demo.release("9.0").files[0].size == 3  # type: ignore[union-attr]
    bare = pages["bare-dir"]
    assert isinstance(bare, ProjectPage) and bare.versions == (Version("3.0"),)
    flat = pages["flatonly"]
    assert isinstance(flat, ProjectPage) and flat.versions == (Version("0.5"),)
    assert isinstance(pages["nowhere"], ProjectNotFound)
    assert stats.requests == 0


def test_find_links_page_over_http_is_fetched_once(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/wheels/"] = Reply(
        200,
        b'<a href="a-1.0.tar.gz">a-1.0.tar.gz</a><a href="b-2.0.tar.gz">b-2.0.tar.gz</a>',
        {"Content-Type": "text/html"},
    )
    config = config_for(find_links=(scripted.url("/wheels/"),))
    pages, _ = fetch_projects(config, ["a", "b"], cache_dir=tmp_path)
    assert [str(p.versions[0]) for p in pages.values() if isinstance(p, ProjectPage)] == [
        "1.0",
        "2.0",
    ]
    assert len(scripted.hits("/wheels/")) == 1
    assert pages["a"].releases[0].files[0].url == scripted.url("/wheels/a-1.0.tar.gz")  # type: ignore[union-attr]


# --- against the project's local index (tests/localindex) --------------------------------------


def _fetch(index_url: str, names: list[str], cache: Path | bool, **kwargs: Any) -> Any:
    return fetch_projects(config_for(index_url), names, cache_dir=cache, **kwargs)


def _check_catalogue(pages: dict[str, Any], local: LocalIndex) -> None:
    """What both page formats must say about the default catalogue."""
    alpha = pages["alpha"]
    assert isinstance(alpha, ProjectPage)
    assert [str(v) for v in alpha.versions] == ["1.0.0", "1.1.0", "2.0.0", "2.1.0rc1"]
    gamma = pages["gamma"]
    newest = gamma.release("2.0.0")
    assert newest.yanked and newest.yanked_reason == "broken build"
    assert not gamma.release("1.5.0").yanked
    delta = pages["delta"]
    assert delta.release("2.0.0").requires_python == SpecifierSet(">=3.99")
    assert delta.release("1.0.0").requires_python is None
    zeta = pages["zeta-pkg"]
    assert zeta.versions == (Version("0.1.0"),)
    source_only = pages["source-only"]
    (sdist,) = source_only.release("1.0.0").files
    assert sdist.filename.endswith(".tar.gz")
    beta = pages["beta"].release("2.0.0")
    assert sorted(f.filename for f in beta.files) == sorted(
        a.filename for a in local.artifacts("beta", "2.0.0")
    )
    for artifact in local.artifacts("beta", "2.0.0"):
        (dist,) = [f for f in beta.files if f.filename == artifact.filename]
        assert dist.hashes["sha256"] == artifact.sha256
        assert dist.url == local.file_url(artifact.filename)
    assert isinstance(pages["not-there"], ProjectNotFound)


NAMES = ["alpha", "gamma", "delta", "Zeta.Pkg", "source-only", "beta", "not-there"]


def test_local_index_json(local_index: LocalIndex, tmp_path: Path) -> None:
    pages, stats = _fetch(local_index.index_url, NAMES, tmp_path)
    _check_catalogue(pages, local_index)
    alpha = pages["alpha"]
    assert alpha.release("1.1.0").upload_time == dt.datetime(2021, 1, 31, tzinfo=dt.timezone.utc)
    beta_files = pages["beta"].release("2.0.0").files
    assert all(f.size and f.size > 0 for f in beta_files)
    assert stats.downloaded == 6


def test_local_index_html(make_index: Callable[..., LocalIndex], tmp_path: Path) -> None:
    local = make_index(DEFAULT_CATALOGUE, serve_json=False)
    pages, _ = _fetch(local.index_url, NAMES, tmp_path)
    _check_catalogue(pages, local)
    assert pages["alpha"].release("1.1.0").upload_time is None  # HTML has no upload times
    served = [r for r in local.requests if r.path == "/simple/alpha/"]
    assert served[0].header("accept") == ACCEPT


def test_local_index_revalidates_with_304(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    local = make_index(DEFAULT_CATALOGUE)
    first, _ = _fetch(local.index_url, ["alpha"], tmp_path)
    second, stats = _fetch(local.index_url, ["alpha"], tmp_path)
    assert first == second
    records = [r for r in local.requests if r.path == "/simple/alpha/"]
    assert [r.status for r in records] == [200, 304]
    assert records[1].header("if-none-match")
    assert (stats.revalidated, stats.downloaded) == (1, 0)
    # a change on the server is seen at the next run
    local.yank("alpha", "1.1.0", "oops")
    third, _ = _fetch(local.index_url, ["alpha"], tmp_path)
    assert third["alpha"].release("1.1.0").yanked_reason == "oops"


def test_local_index_without_validators_uses_ttl(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    local = make_index(DEFAULT_CATALOGUE, cache_headers=False, cache_control=None)
    _fetch(local.index_url, ["alpha"], tmp_path, ttl=300)
    _, stats = _fetch(local.index_url, ["alpha"], tmp_path, ttl=300)
    assert stats.cache_hits == 1
    assert local.count("/simple/alpha/") == 1
    _fetch(local.index_url, ["alpha"], tmp_path, ttl=300, refresh=True)
    assert local.count("/simple/alpha/") == 2
    time.sleep(0.05)
    _fetch(local.index_url, ["alpha"], tmp_path, ttl=0.01)
    assert local.count("/simple/alpha/") == 3


def test_local_index_retries_500(make_index: Callable[..., LocalIndex], tmp_path: Path) -> None:
    local = make_index(DEFAULT_CATALOGUE)
    local.fail("/simple/beta/", 500, times=2)

    def go() -> tuple[ProjectPage, Any]:
        with IndexClient(config_for(local.index_url), tmp_path, backoff=0.01) as client:
            return client.fetch_project("beta"), client.stats

    page, stats = run(go)
    assert Version("2.0.0") in page.versions
    assert [r.status for r in local.requests if r.path == "/simple/beta/"] == [500, 500, 200]
    assert stats.retries == 2


def test_local_index_basic_auth_from_netrc(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    local = make_index(DEFAULT_CATALOGUE, auth=("reader", "netrc-secret-9"))
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(
        "machine 127.0.0.1 login reader password netrc-secret-9\n", encoding="utf-8"
    )
    config = config_from(local.index_url, tmp_path, NETRC=str(netrc_file))
    cache = tmp_path / "cache"
    pages, _ = fetch_projects(config, ["alpha"], cache_dir=cache)
    assert isinstance(pages["alpha"], ProjectPage)
    anonymous = config_from(local.index_url, tmp_path)
    with pytest.raises(ExternalError, match="no credentials were found"):
        fetch_projects(anonymous, ["alpha"], cache_dir=False)
    for entry in cache.iterdir():
        assert b"netrc-secret-9" not in entry.read_bytes()


def test_local_index_credentials_in_url(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    local = make_index(DEFAULT_CATALOGUE, auth=("reader", "url-secret-8"))
    config = config_from(local.auth_index_url, tmp_path)
    cache = tmp_path / "cache"
    pages, stats = fetch_projects(config, ["alpha"], cache_dir=cache)
    assert isinstance(pages["alpha"], ProjectPage)
    assert all("url-secret-8" not in p.name for p in cache.iterdir())
    assert "url-secret-8" not in repr(stats) + repr(pages)
    local.fail("/simple/beta/", 503)
    with pytest.raises(ExternalError) as caught:
        fetch_projects(config, ["beta"], cache_dir=cache, backoff=0.01)
    assert "url-secret-8" not in str(caught.value)
    assert "reader:****@127.0.0.1" in str(caught.value)


def test_local_find_links_directory(make_index: Callable[..., LocalIndex], tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_index([LocalRelease("flatpkg", "3.1.0", sdist=True)], directory=wheels)
    config = config_for(find_links=(wheels.as_uri(),))
    page = fetch_projects(config, ["flatpkg"], cache_dir=False)[0]["flatpkg"]
    assert isinstance(page, ProjectPage)
    assert page.versions == (Version("3.1.0"),)
    assert len(page.releases[0].files) == 2


def test_uv_resolves_with_the_same_configuration(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    """What check sees is what uv resolves against: same indexes, credentials via env only."""
    local = make_index(DEFAULT_CATALOGUE, auth=("resolver", "uv-secret-7"))
    config = config_from(local.auth_index_url, tmp_path)
    page = fetch_projects(config, ["alpha"], cache_dir=False)[0]["alpha"]
    assert isinstance(page, ProjectPage)
    requirements = tmp_path / "req.in"
    requirements.write_text("alpha<2.1\n", encoding="utf-8")
    args = [
        uv_bin(),
        "pip",
        "compile",
        "--no-cache",
        "--quiet",
        str(requirements),
        *config.uv_args(),
    ]
    assert "uv-secret-7" not in " ".join(args)
    done = subprocess.run(args, capture_output=True, text=True, env=config.uv_env(), check=False)
    assert done.returncode == 0, redact_text(done.stderr, config.secrets())
    newest = max(v for v in page.versions if v < Version("2.1") and not v.is_prerelease)
    assert f"alpha=={newest}" in done.stdout
    assert "uv-secret-7" not in done.stdout + done.stderr
    assert any(r.header("authorization") for r in local.requests)


def test_unreadable_ca_bundle_is_an_input_error(local_index: LocalIndex, tmp_path: Path) -> None:
    config = IndexConfig(
        index=IndexUrl(local_index.index_url, "test"), cert=str(tmp_path / "missing-ca.pem")
    )
    with pytest.raises(InputError, match=r"missing-ca\.pem"):
        fetch_projects(config, ["alpha"], cache_dir=False)


def test_an_outage_stops_the_other_lookups(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    """Once one page has used up its retries, the rest give up instead of retrying too."""
    names = [f"pkg{i}" for i in range(60)]
    index = make_index([LocalRelease(name, "1.0") for name in names])
    index.add_fault(Fault(re.compile(r"^/simple/"), status=503))
    config = IndexConfig(index=IndexUrl(index.index_url, "test"))
    with pytest.raises(ExternalError, match="HTTP 503"):
        fetch_projects(config, names, cache_dir=tmp_path, concurrency=4, tries=3, backoff=0.05)
    asked = index.count(prefix="/simple/")
    assert 3 <= asked <= 4 * (3 + 1)  # each worker's tries (and one more start), not 60 x 3


# --- digests: revalidated pages are not parsed again; files are built on demand ----------------


PLATFORM_FILES = [
    *DEMO_FILES,
    {
        "filename": "demo-3.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "url": "/files/demo-3.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "hashes": {"sha256": "ef" * 32},
        "upload-time": "2024-07-01T00:00:00Z",
    },
]


def etag_route(body: bytes, etag: str = '"v1"') -> Route:
    def route(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return json_reply(body, ETag=etag)

    return route


def fetch_demo(
    scripted: Scripted, cache: Path | bool, name: str = "demo"
) -> tuple[ProjectPage, IndexClient]:
    client = IndexClient(config_for(scripted.url()), cache)
    with client:
        return client.fetch_project(name), client


def eager_release(page: ProjectPage, version: str) -> Release:
    """The release as the whole-page parser and :meth:`Release.from_files` make it."""
    release = page.release(version)
    assert release is not None
    return Release.from_files(release.version, release.files)


def test_a_revalidated_page_is_answered_from_its_digest(scripted: Scripted, tmp_path: Path) -> None:
    scripted.routes["/simple/demo/"] = etag_route(json_page("demo", PLATFORM_FILES))
    first, _ = fetch_demo(scripted, tmp_path)
    (entry,) = tmp_path.glob("*.entry")
    header = entry.read_bytes().partition(b"\n")[0]
    assert json.loads(header)["digest"]  # stored with the page
    second, client = fetch_demo(scripted, tmp_path)
    assert client.stats.revalidated == 1
    assert second == first
    for release in second.releases:  # every field the rules use survives the digest
        assert release == eager_release(first, str(release.version))
    assert second.release("3.0").wheel_tags == frozenset({("cp311", "cp311")})  # type: ignore[union-attr]
    assert second.release("1.0").upload_time == dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)  # type: ignore[union-attr]
    # Files come from the cached body, read when asked for (no request made for them).
    files = second.release("1.0").files  # type: ignore[union-attr]
    assert [f.url for f in files] == [
        scripted.url("/files/demo-1.0-py3-none-any.whl"),
        "https://files.test/demo-1.0.tar.gz",
    ]
    assert len(scripted.hits("/simple/demo/")) == 2
    # The body is not parsed on revalidation: garbage there goes unnoticed until files are asked.
    entry.write_bytes(header + b"\n" + b"{garbage")
    third, _ = fetch_demo(scripted, tmp_path)
    assert third == first
    with pytest.raises(ExternalError, match="invalid JSON"):
        third.release("1.0").files  # type: ignore[union-attr]  # noqa: B018


def test_entries_without_a_digest_gain_one(scripted: Scripted, tmp_path: Path) -> None:
    """A cache written by an older greenbump (or another digest version) is digested anew."""
    scripted.routes["/simple/demo/"] = etag_route(json_page("demo", DEMO_FILES))
    first, _ = fetch_demo(scripted, tmp_path)
    (entry,) = tmp_path.glob("*.entry")
    header, _, body = entry.read_bytes().partition(b"\n")
    meta = json.loads(header)
    meta.pop("digest")
    meta["digest_version"] = 0
    entry.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    second, client = fetch_demo(scripted, tmp_path)
    assert (second, client.stats.revalidated) == (first, 1)
    rewritten = json.loads(entry.read_bytes().partition(b"\n")[0])
    assert rewritten["digest"] and rewritten["digest_version"] != 0


def test_a_damaged_digest_is_replaced_by_the_page_itself(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.routes["/simple/demo/"] = etag_route(json_page("demo", DEMO_FILES))
    first, _ = fetch_demo(scripted, tmp_path)
    (entry,) = tmp_path.glob("*.entry")
    header, _, body = entry.read_bytes().partition(b"\n")
    meta = json.loads(header)
    row = ["1.0", False, None, None, "2024-01-03T00:00:00+00:00", None]
    damages = (
        [["not a version", False, None, None, None, None]],
        [[1, 2]],
        {"x": 1},
        [["v1.0", *row[1:]]],  # a version, but not as a digest writes it (normal form)
        [[*row[:4], "2024-01-03T00:00:00Z", None]],  # not isoformat's UTC form
        [[*row[:4], "yesterday", None]],
        [[*row[:5], [["cp311"]]]],  # wheel tags are pairs
        [[*row[:1], "no", *row[2:]]],
    )
    for damage in damages:
        meta["digest"] = damage
        entry.write_bytes(json.dumps(meta).encode() + b"\n" + body)
        again, _ = fetch_demo(scripted, tmp_path)
        assert again == first


def test_a_digest_makes_only_the_releases_read(
    scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of 1,500 releases answered from its digest: a check's candidates come from the
    newest few, so only those are made (parsing every version was a quarter of a warm run);
    the rest are made when read, equal to what the page itself gives."""
    files = [wheel("big", f"1.{n}") for n in range(1500)]
    scripted.routes["/simple/big/"] = etag_route(json_page("big", files))
    first, _ = fetch_demo(scripted, tmp_path, "big")
    expected = tuple(first.releases)  # every release made now, before the count starts
    made: list[str] = []
    make = pages_module._release_of_row

    def counted(row: list[Any], source: Any) -> Release:
        made.append(row[0])
        return make(row, source)

    monkeypatch.setattr(pages_module, "_release_of_row", counted)
    second, client = fetch_demo(scripted, tmp_path, "big")
    assert client.stats.revalidated == 1 and made == []
    found = find_candidates(second.releases, Version("1.1497"), [], Filters(python=Version("3.12")))
    assert found.latest is not None and str(found.latest.version) == "1.1499"
    assert made == ["1.1499", "1.1498", "1.1497"]
    assert second.release("1.1498") is second.releases[-2]  # made once, then kept
    assert second.releases == expected and len(made) == 1500  # comparing reads every one


def floored_files(count: int) -> list[dict[str, Any]]:
    """``count`` releases, every fifth needing Python 3.12 and every seventh yanked."""
    return [
        wheel(
            "big",
            f"1.{n}",
            yanked="bad" if n % 7 == 3 else False,
            **{
                "requires-python": ">=3.12" if n % 5 == 1 else ">=3.8",
                "upload-time": f"2024-02-{1 + n % 28:02d}T00:00:00.{n:06d}Z",
            },
        )
        for n in range(count)
    ]


@pytest.mark.parametrize(("count", "workers"), [(40, 0), (1500, 2)])
def test_a_floor_leaves_older_releases_named_until_one_is_read(
    scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, workers: int
) -> None:
    """Releases below the version a project has now are only named in the digest (in place
    and in the parse workers); reading one fills every row in from the page, equal to what a
    digest without a floor gives, in this run and from the cache in the next."""
    body = json_page("big", floored_files(count))
    assert (len(body) > LARGE_PAGE) == bool(workers)
    scripted.routes["/simple/big/"] = etag_route(body)
    completions: list[str] = []
    complete = index_module._PageFiles.digest

    def counted(files: Any) -> list[Any]:
        completions.append("page")
        return complete(files)

    monkeypatch.setattr(index_module._PageFiles, "digest", counted)
    config = config_for(scripted.url())
    with IndexClient(config, tmp_path / "full", parse_workers=workers) as client:
        full = client.fetch_project("big")
    current = Version(f"1.{count - 10}")
    with IndexClient(config, tmp_path / "floored", parse_workers=workers) as client:
        floored = client.fetch_project("big", floor=current)
    (entry,) = (tmp_path / "floored").glob("*.entry")
    rows = json.loads(entry.read_bytes().partition(b"\n")[0])["digest"]
    assert [len(row) for row in rows] == [1] * (count - 11) + [6] * 11  # one below the floor
    assert floored.versions == full.versions and completions == []
    filters = Filters(python=Version("3.11"))
    found = find_candidates(floored.releases, current, [], filters)
    assert found == find_candidates(full.releases, current, [], filters)
    assert [str(r.version) for r in floored.newer(current)][:2] == [
        f"1.{count - 9}",
        f"1.{count - 8}",
    ]
    assert completions == []  # a check reads nothing below the floor
    old = floored.release("1.1")
    assert old is not None and old.requires_python == SpecifierSet(">=3.12")
    assert completions == ["page"] and floored == full  # filled in once, every row equal
    again, client = fetch_demo(scripted, tmp_path / "floored", "big")  # from the cache
    assert client.stats.revalidated == 1
    assert again.release("1.3").yanked_reason == "bad"  # type: ignore[union-attr]
    assert again == full and completions == ["page", "page"]


def test_a_page_that_changed_in_the_cache_fills_in_by_version(
    scripted: Scripted, tmp_path: Path
) -> None:
    """Another run revalidates the page while this one holds its floored digest and gets a
    new release: the older releases are still filled in, by version, and this run's list of
    releases stays the one it read."""
    scripted.routes["/simple/big/"] = etag_route(json_page("big", floored_files(40)))
    config = config_for(scripted.url())
    with IndexClient(config, tmp_path) as client:
        floored = client.fetch_project("big", floor=Version("1.30"))
    scripted.routes["/simple/big/"] = etag_route(json_page("big", floored_files(41)), '"v2"')
    with IndexClient(config, tmp_path) as other:
        assert len(other.fetch_project("big").versions) == 41
    old = floored.release("1.3")
    assert old is not None and old.yanked_reason == "bad"
    assert floored.release("1.1").requires_python == SpecifierSet(">=3.12")  # type: ignore[union-attr]
    assert len(floored.versions) == 40 and len(floored.releases) == 40


def test_a_release_gone_from_a_changed_page_is_a_clear_error(
    scripted: Scripted, tmp_path: Path
) -> None:
    """If the newer page no longer lists a release this run named, nothing is made up: the
    run stops with the index's error (exit 3), naming the project and the release."""
    scripted.routes["/simple/big/"] = etag_route(json_page("big", floored_files(40)))
    config = config_for(scripted.url())
    with IndexClient(config, tmp_path) as client:
        floored = client.fetch_project("big", floor=Version("1.30"))
    scripted.routes["/simple/big/"] = etag_route(
        json_page("big", floored_files(40)[:3] + floored_files(40)[4:]), '"v2"'
    )
    with IndexClient(config, tmp_path) as other:
        other.fetch_project("big")
    with pytest.raises(ExternalError, match=r"page of big changed .*release 1\.3 is no longer"):
        floored.release("1.2")
    assert floored.versions[3] == Version("1.3")  # the list read first stands


def test_a_digest_longer_than_the_first_read_is_read_whole(
    scripted: Scripted, tmp_path: Path
) -> None:
    """A revalidated page's entry is read up to its header line: 64 KiB at first, more when
    the digest is longer (1,500 releases in full), the body left on disk."""
    scripted.routes["/simple/big/"] = etag_route(json_page("big", floored_files(1500)))
    first, _ = fetch_demo(scripted, tmp_path, "big")
    (entry,) = tmp_path.glob("*.entry")
    assert len(entry.read_bytes().partition(b"\n")[0]) > 64 * 1024
    second, client = fetch_demo(scripted, tmp_path, "big")
    assert (client.stats.revalidated, client.stats.downloaded) == (1, 0)
    assert second == first


@pytest.mark.parametrize("count", [12_000, 30_000])
def test_a_cached_page_larger_than_one_read_gives_all_its_files(
    scripted: Scripted, tmp_path: Path, count: int
) -> None:
    """Files come from the cached body, read 1 MiB first and then 4 MiB at a time: pages of
    2.8 MB and 7 MB (as large as a big project's) give every file of their first and last
    release."""
    files = [
        wheel("big", f"1.{n}", **{"upload-time": "2024-02-01T00:00:00.000000Z"})
        for n in range(count)
    ]
    body = json_page("big", files)
    assert len(body) > 2**20
    scripted.routes["/simple/big/"] = etag_route(body)
    fetch_demo(scripted, tmp_path, "big")
    page, client = fetch_demo(scripted, tmp_path, "big")  # answered from the digest
    assert client.stats.revalidated == 1
    for version in ("1.0", f"1.{count - 1}"):
        release = page.release(version)
        assert release is not None
        assert [f.filename for f in release.files] == [f"big-{version}-py3-none-any.whl"]


def test_pages_to_be_merged_are_digested_whole(scripted: Scripted, tmp_path: Path) -> None:
    """Merging several indexes' listings reads every release: no floor then."""
    scripted.routes["/extra/big/"] = json_reply(json_page("big", floored_files(20)))
    scripted.routes["/simple/big/"] = json_reply(json_page("big", floored_files(30)))
    config = config_for(
        scripted.url("/extra"), scripted.url("/simple"), strategy="unsafe-best-match"
    )
    with IndexClient(config, tmp_path) as client:
        page = client.fetch_project("big", floor=Version("1.25"))
    assert len(page.versions) == 30
    for entry in tmp_path.glob("*.entry"):
        rows = json.loads(entry.read_bytes().partition(b"\n")[0])["digest"]
        assert rows and all(len(row) == 6 for row in rows)


def test_files_without_a_cache_or_with_no_store(scripted: Scripted, tmp_path: Path) -> None:
    """A page that was never written to the cache keeps its body for the files."""
    scripted.routes["/simple/demo/"] = json_reply(json_page("demo", DEMO_FILES))
    scripted.routes["/simple/private/"] = json_reply(
        json_page("private", [wheel("private", "1.0")]), **{"Cache-Control": "no-store"}
    )
    uncached, _ = fetch_demo(scripted, False)
    private, _ = fetch_demo(scripted, tmp_path, "private")
    assert [f.filename for f in uncached.release("2.0").files] == ["demo-2.0-py3-none-any.whl"]  # type: ignore[union-attr]
    assert private.release("1.0").files[0].hashes == {"sha256": "ab" * 32}  # type: ignore[union-attr]
    assert not list(tmp_path.glob("*.entry"))
    assert len(scripted.log) == 2  # the files needed no second request


def test_files_after_the_cache_was_cleared_are_fetched_again(
    scripted: Scripted, tmp_path: Path
) -> None:
    scripted.routes["/simple/demo/"] = etag_route(json_page("demo", DEMO_FILES))
    page, _ = fetch_demo(scripted, tmp_path)
    for entry in tmp_path.glob("*.entry"):
        entry.unlink()
    release = page.release("2.0")
    assert release is not None
    assert [f.filename for f in release.files] == ["demo-2.0-py3-none-any.whl"]
    assert len(scripted.hits("/simple/demo/")) == 2


def test_wheel_tags_expand_compressed_tag_sets() -> None:
    files = [
        DistFile("demo-1.0-cp38.cp39-cp38.abi3-manylinux1_x86_64.whl", "u1"),
        DistFile("demo-1.0-cp38.cp39-cp38.abi3-win_amd64.whl", "u2"),
        DistFile("demo-1.0-cp311-cp311-win_amd64.whl", "u3", yanked=True),  # not considered
    ]
    release = Release.from_files(Version("1.0"), files)
    assert release.wheel_tags == {
        ("cp38", "cp38"),
        ("cp38", "abi3"),
        ("cp39", "cp38"),
        ("cp39", "abi3"),
    }
    with_sdist = Release.from_files(Version("1.0"), [*files, DistFile("demo-1.0.tar.gz", "u4")])
    assert with_sdist.wheel_tags is None  # an sdist installs anywhere (or fails anywhere)


def test_large_pages_digested_by_worker_processes_match_in_place_parsing(
    scripted: Scripted, tmp_path: Path
) -> None:
    """Pages above LARGE_PAGE go to the parse workers; nothing a user sees may differ."""
    files = [
        wheel("big", f"1.{n}", **{"upload-time": f"2024-02-{1 + n % 28:02d}T00:00:00.000000Z"})
        for n in range(1500)
    ] + [wheel("big", "9.0", yanked="bad", **{"requires-python": ">=3.12"})]
    body = json_page("big", files)
    assert len(body) > LARGE_PAGE
    scripted.routes["/simple/big/"] = json_reply(body)
    scripted.routes["/simple/broken/"] = json_reply(b"{" + b" " * LARGE_PAGE)
    config = config_for(scripted.url())
    with IndexClient(config, tmp_path / "here") as client:
        here = client.fetch_project("big")
    with IndexClient(config, tmp_path / "there", parse_workers=2) as client:
        there = client.fetch_project("big")
        with pytest.raises(ExternalError, match="invalid JSON"):
            client.fetch_project("broken")
    assert there == here
    assert len(there.releases) == 1501
    last = there.release("9.0")
    assert last is not None and last.yanked_reason == "bad"
    assert [f.url for f in last.files] == [scripted.url("/files/big-9.0-py3-none-any.whl")]
