"""YAML advisory documents (the PyPA database's format), apart so JSON-only runs skip PyYAML.

Importing PyYAML costs about 30 ms, a tenth of a warm ``greenbump check``; OSV's own exports
and the OSV API are JSON, so only a run over a YAML database pays for it.

Only the node tree is composed and every tag is left unresolved: advisories never use tags,
and resolving them would turn ``1.10`` into the float 1.1, a different version.
"""

from __future__ import annotations

import yaml

from greenbump.advisories.records import AdvisoryFormatError

try:
    from yaml import CBaseLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml: same behaviour, slower
    from yaml import BaseLoader as _BaseLoader  # type: ignore[assignment]


class _NodeLoader(_BaseLoader):
    """Composes the node tree only; every tag is left unresolved since we never use tags."""

    def resolve(self, kind: object, value: object, implicit: object) -> str:
        del kind, value, implicit
        return "?"


def _plain(node: yaml.Node) -> object:
    """A composed node as lists, dicts and strings (what the base constructor would build)."""
    scalar = yaml.ScalarNode
    if type(node) is scalar:
        return node.value
    if type(node) is yaml.SequenceNode:
        return [n.value if type(n) is scalar else _plain(n) for n in node.value]
    return {_plain(k): (v.value if type(v) is scalar else _plain(v)) for k, v in node.value}


def load_yaml(data: bytes) -> object:
    """One YAML document as lists, dicts and strings; :class:`AdvisoryFormatError` if unusable."""
    try:
        loader = _NodeLoader(data)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        return None if node is None else _plain(node)
    except RecursionError:  # an alias that contains itself, or absurd nesting
        raise AdvisoryFormatError("not a usable YAML document: too deep") from None
    except TypeError as exc:  # a mapping used as a key
        raise AdvisoryFormatError(f"not a usable YAML document: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "syntax error"
        raise AdvisoryFormatError(f"not valid YAML{where}: {what}") from None
    except (ValueError, yaml.YAMLError) as exc:  # e.g. bytes that are not UTF-8
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise AdvisoryFormatError(f"not valid YAML: {first}") from None
