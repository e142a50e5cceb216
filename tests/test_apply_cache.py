"""The apply stage's parse cache: what it remembers is what a fresh parse would read.

Each manifest gets one upgrade after another, once with a shared :class:`ParsedFiles` and once
parsing every file again per package (the old way); the texts, changed files and notes must
be the same, and after every step the remembered declarations of each package must equal a
fresh parse's.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from packaging.version import Version

import greenbump.apply
from greenbump.apply import ParsedFiles, apply_upgrade
from greenbump.candidates import UpdateKind
from greenbump.indexconfig import IndexConfig
from greenbump.model import DependencyFile, FileKind
from greenbump.project import load_project
from greenbump.readers import parse
from greenbump.textio import read_text

MANIFESTS = {
    "requirements": {
        "requirements.txt": (
            "# pins\r\n"
            "alpha==1.0.0  # keep\r\n"
            "beta[extra]>=1.0,<2 ; python_version >= '3.8'\n"
            "gamma==1.0.0 ; sys_platform == 'win32'\n"
            "gamma==1.0.1 ; sys_platform != 'win32'\n"
            "delta~=1.0\n"
            "-r more.txt\n"
        ),
        "more.txt": "epsilon==1.0\nalpha==1.0.0\n",
    },
    "pep621": {
        "pyproject.toml": (
            "[project]\n"
            'name = "app"\n'
            'version = "0"\n'
            'dependencies = ["alpha==1.0.0", "beta>=1.0,<2"]\n'
            "[project.optional-dependencies]\n"
            "dev = [\n"
            '    "gamma==1.0.0",\n'
            '    "delta ~= 1.0",  # comment\n'
            "]\n"
            "[dependency-groups]\n"
            'test = ["epsilon<2"]\n'
        ),
    },
    "poetry": {
        "pyproject.toml": (
            "[tool.poetry]\n"
            'name = "app"\n'
            "[tool.poetry.dependencies]\n"
            'python = "^3.9"\n'
            'alpha = "^1.0"\n'
            'beta = { version = ">=1.0,<2", extras = ["x"] }\n'
            "[tool.poetry.group.dev.dependencies]\n"
            'gamma = "1.0.0"\n'
            'delta = "~1.0"\n'
        ),
    },
    "setup.cfg": {
        "setup.cfg": (
            "[options]\n"
            "install_requires =\n"
            "    alpha==1.0.0\n"
            "    beta>=1.0,<2\n"
            "[options.extras_require]\n"
            "dev =\n"
            "    gamma==1.0.0\n"
        ),
    },
    "pipfile": {
        "Pipfile": (
            '[packages]\nalpha = "==1.0.0"\nbeta = {version = ">=1.0,<2"}\n'
            '[dev-packages]\ngamma = "*"\ndelta = "==1.0"\n'
        ),
    },
}
UPGRADES = [
    ("alpha", "10.0.0"),  # longer: later spans move
    ("gamma", "1.2.0"),
    ("beta", "3.1.0"),
    ("delta", "1.4.2"),
    ("epsilon", "2.0.0"),
]


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_bytes(text.encode())
    return root


def _apply_all(
    root: Path, cache: ParsedFiles | None, *, check: bool = True
) -> list[tuple[object, ...]]:
    project = load_project(root)
    steps: list[tuple[object, ...]] = []
    for name, version in UPGRADES:
        applied = apply_upgrade(
            root,
            project.files,
            name,
            Version(version),
            page=None,
            index=IndexConfig(None),
            level=UpdateKind.MAJOR,
            bump_lower_bounds=True,
            parsed=cache,
        )
        texts = {f.path: (root / f.path).read_bytes() for f in project.files}
        steps.append((applied.files, applied.notes, texts))
        if cache is not None and check:
            for original in project.files:
                fresh = parse(read_text(root / original.path), original.path, original.kind)
                for key in {str(d.key) for d in fresh.declarations}:
                    remembered = cache.read(root, original, key)
                    assert remembered.text == fresh.text
                    assert [d for d in remembered.declarations if d.key == key] == [
                        d for d in fresh.declarations if d.key == key
                    ], (original.path, key)
    return steps


@pytest.mark.parametrize("kind", sorted(MANIFESTS))
def test_cached_parses_apply_exactly_like_fresh_ones(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[PurePosixPath] = []

    def counted(text: str, path: PurePosixPath, file_kind: FileKind) -> DependencyFile:
        parses.append(path)
        return parse(text, path, file_kind)

    monkeypatch.setattr(greenbump.apply, "parse", counted)
    fresh = _apply_all(_tree(_mkdir(tmp_path / "fresh"), MANIFESTS[kind]), None)
    uncached = len(parses)
    cached = _apply_all(_tree(_mkdir(tmp_path / "cached"), MANIFESTS[kind]), ParsedFiles())
    assert cached == fresh
    assert any(files for files, _, _ in fresh)  # the manifests really changed
    parses.clear()
    _apply_all(_tree(_mkdir(tmp_path / "counted"), MANIFESTS[kind]), ParsedFiles(), check=False)
    if kind != "pep621":  # there, two of the packages share a line
        assert len(parses) == len(MANIFESTS[kind]) < uncached, parses  # each file once


def test_a_file_changed_behind_the_cache_is_parsed_again(tmp_path: Path) -> None:
    root = _tree(_mkdir(tmp_path / "app"), {"requirements.txt": "alpha==1\nbeta==1\n"})
    project = load_project(root)
    cache = ParsedFiles()
    (original,) = project.files
    assert cache.read(root, original, "alpha") is cache.read(root, original, "beta")
    (root / "requirements.txt").write_text("# moved\nalpha==1\nbeta==1\n")
    beta = cache.read(root, original, "beta")
    assert [d.line for d in beta.declarations] == [2, 3]
    assert beta.path == PurePosixPath("requirements.txt")


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path
