"""greenbump's local package index for tests: synthetic releases, real files, a real server.

See README.md beside this file.
"""

from localindex.build import (
    Artifact,
    build,
    build_sdist,
    build_wheel,
    core_metadata,
    write_release,
    write_releases,
)
from localindex.catalogue import DEFAULT_CATALOGUE
from localindex.env import isolated_environ, uv_bin
from localindex.release import DEFAULT_UPLOADED, Release, escape_name, normalize_name
from localindex.server import (
    HTML_V1,
    JSON_V1,
    TEXT_HTML,
    Fault,
    FetchResult,
    LocalIndex,
    RequestRecord,
    Response,
    format_upload_time,
    version_key,
)

__all__ = [
    "DEFAULT_CATALOGUE",
    "DEFAULT_UPLOADED",
    "HTML_V1",
    "JSON_V1",
    "TEXT_HTML",
    "Artifact",
    "Fault",
    "FetchResult",
    "LocalIndex",
    "Release",
    "RequestRecord",
    "Response",
    "build",
    "build_sdist",
    "build_wheel",
    "core_metadata",
    "escape_name",
    "format_upload_time",
    "isolated_environ",
    "normalize_name",
    "uv_bin",
    "version_key",
    "write_release",
    "write_releases",
]
