"""YAML with positions: every value and key remembers its line and column.

Errors in rules files must point at ``FILE:LINE:COL``; PyYAML's composed
node tree knows where each node starts, so it is converted by hand.

Bounded: a rules or configuration file is small and written by hand, so
aliases (``*name``, which a few hundred bytes can turn into gigabytes) are
refused, and so is nesting deeper than :data:`MAX_DEPTH`, each with the
position where it happens, before anything is built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Located:
    """Parsed data plus the position (1-based line, column) of each path."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where ``path`` is (its key when ``key``); else its nearest ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


class YamlError(Exception):
    """Text that is not YAML, or YAML the runner does not take."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{line}:{column}: {message}")


#: Deeper nesting than any rules or configuration file needs.
MAX_DEPTH = 64


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, composing no aliases and no deep nesting."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self._next_mark()
            raise YamlError(
                "aliases (*name) are not allowed: write the value out", *_position(mark)
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self._next_mark()
                raise YamlError(f"nested deeper than {MAX_DEPTH} levels", *_position(mark))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> Any:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        return event.start_mark


def _position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def load(text: str) -> Located:
    """Parse one YAML document, keeping positions."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None)
        located = Located(None)
        located.data = _convert(loader, node, (), located)
        return located
    except yaml.MarkedYAMLError as exc:
        line, column = _position(exc.problem_mark or exc.context_mark)
        raise YamlError(f"invalid YAML: {exc.problem or exc.context}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 1, 1) from None
    finally:
        loader.dispose()


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Located) -> Any:
    out.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("keys must be plain strings", *where)
            # The key's text as written: YAML 1.1 would read `on:` as True.
            key = str(key_node.value)
            if key in result:
                raise YamlError(f"duplicate key {key!r}", *where)
            out.keys[(*path, key)] = where
            result[key] = _convert(loader, value_node, (*path, key), out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
