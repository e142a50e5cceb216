"""One module per CLI command: ``add_parser(sub)`` registers it, ``run(args) -> int`` runs it.

Parsers are built on every invocation, so command modules keep their imports light; a command
whose work needs heavy modules (httpx, rich, the whole pipeline) keeps that work in a
``*_run`` module that :func:`lazy_run` imports only when the command actually runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def lazy_run(module: str) -> Callable[[argparse.Namespace], int]:
    """A ``run`` that imports ``module`` on first use and calls its ``run(args)``."""

    def run(args: argparse.Namespace) -> int:
        code: int = importlib.import_module(module).run(args)
        return code

    return run
