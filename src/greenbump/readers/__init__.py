"""Readers turn a dependency file's text into a :class:`~greenbump.model.DependencyFile`.

Each reader is a pure function ``(text, path) -> DependencyFile`` that raises
:class:`~greenbump.errors.InputError` with the file and line of anything it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from greenbump.model import DependencyFile, FileKind

Reader = Callable[[str, PurePosixPath], DependencyFile]


def reader_for(kind: FileKind) -> Reader:
    """The reader function for ``kind`` (imported lazily: most runs need only one or two)."""
    if kind in (FileKind.REQUIREMENTS, FileKind.PIP_COMPILE):
        from greenbump.readers.requirements import parse_requirements

        return parse_requirements
    if kind is FileKind.PYPROJECT:
        from greenbump.readers.pyproject import parse_pyproject

        return parse_pyproject
    if kind is FileKind.SETUP_CFG:
        from greenbump.readers.setupcfg import parse_setup_cfg

        return parse_setup_cfg
    if kind is FileKind.PIPFILE:
        from greenbump.readers.pipfile import parse_pipfile

        return parse_pipfile
    from greenbump.readers import locks

    return {
        FileKind.UV_LOCK: locks.parse_uv_lock,
        FileKind.POETRY_LOCK: locks.parse_poetry_lock,
        FileKind.PIPFILE_LOCK: locks.parse_pipfile_lock,
        FileKind.PDM_LOCK: locks.parse_pdm_lock,
        FileKind.PYLOCK: locks.parse_pylock,
    }[kind]


def parse(text: str, path: PurePosixPath, kind: FileKind) -> DependencyFile:
    """Parse ``text`` (the content of ``path``) as a file of ``kind``."""
    return reader_for(kind)(text, path)
