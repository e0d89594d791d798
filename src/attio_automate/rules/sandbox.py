"""The sandbox rules render in: Jinja2's, with every way to ask for a huge
amount of memory or time bounded.

A rules file is edited live and rendered on the event loop, so one template
must not be able to build a gigabyte string or loop for minutes:

- ``*`` (repetition), ``**`` and ``%`` (printf widths) are intercepted and
  refused when their result would pass :data:`MAX_SIZE`;
- ``range`` shares one budget of :data:`MAX_ITERATIONS` items per rendering,
  so nested loops cannot multiply;
- ``str`` methods and filters that pad or replace (``center``, ``ljust``,
  ``indent``, ``wordwrap``, ``replace``, ``format``...) are checked before they
  build anything;
- ``lipsum`` and ``namespace`` are gone (text generation, and accumulation
  across loop turns), and so are macros and ``call`` blocks (recursion);
- a rendering's output stops at :data:`MAX_SIZE` characters.

The same bounds hold when ``rules check`` compiles a template (Jinja folds
constant expressions at compile time, through the same filters).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

#: Longest string or sequence a template may build (characters or items).
MAX_SIZE = 100_000
#: Items ``range`` may produce across one rendering.
MAX_ITERATIONS = 100_000
#: Largest integer ``**`` may produce, in bits.
MAX_POWER_BITS = 4096

_BUDGET: ContextVar[list[int] | None] = ContextVar("attio_automate_range_budget", default=None)
_WIDTH = re.compile(r"%[-+ #0]*(\d+)(?:\.(\d+))?")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"{what} would pass the template size limit of {MAX_SIZE}")


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, count in ((left, right), (right, left)):
        size = _size(sequence)
        if size is not None and isinstance(count, int) and size * count > MAX_SIZE:
            raise _refuse(f"repeating {size} items {count} times")


def _check_power(base: Any, exponent: Any) -> None:
    if not isinstance(base, int | float) or not isinstance(exponent, int | float):
        return
    integers = isinstance(base, int) and isinstance(exponent, int)
    if (
        integers
        and abs(base) > 1
        and exponent > 0
        and exponent * math.log2(abs(base)) > MAX_POWER_BITS
    ):
        raise SecurityError(f"{base} ** {exponent} is too large a number")


def _check_widths(text: str) -> None:
    for match in _WIDTH.finditer(text):
        if any(g and int(g) > MAX_SIZE for g in match.groups()):
            raise _refuse(f"a field width of {match.group(0)!r}")


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = len(text) + 1 if not old else len(text) // len(old)
        if len(text) + times * len(new) > MAX_SIZE:
            raise _refuse("replacing")


def _bounded_range(*args: int) -> range:
    result = range(*args)
    budget = _BUDGET.get()
    if budget is None:
        if len(result) > MAX_ITERATIONS:
            raise SecurityError(f"range of {len(result)} items is too long")
        return result
    budget[0] -= len(result)
    if budget[0] < 0:
        raise SecurityError(f"ranges of more than {MAX_ITERATIONS} items in one template")
    return result


def _padding_filter(original: Callable[..., Any], width_at: int) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        width = args[width_at] if len(args) > width_at else kwargs.get("width")
        if isinstance(width, int) and width > MAX_SIZE:
            raise _refuse(f"a width of {width}")
        if isinstance(width, str) and len(width) > MAX_SIZE:
            raise _refuse("an indent")
        return original(*args, **kwargs)

    return bounded


def _replace_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        _check_replace(str(s), old, new)
        return original(eval_ctx, s, old, new, count)

    # Jinja passes the evaluation context to filters marked like the original.
    bounded.jinja_pass_arg = getattr(original, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return bounded


def _format_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_widths(str(value))
        return original(value, *args, **kwargs)

    return bounded


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja2's sandbox with the bounds above."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in ("lipsum", "namespace", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["range"] = _bounded_range
        self.filters["center"] = _padding_filter(self.filters["center"], 1)
        self.filters["indent"] = _padding_filter(self.filters["indent"], 1)
        self.filters["wordwrap"] = _padding_filter(self.filters["wordwrap"], 2)
        self.filters["replace"] = _replace_filter(self.filters["replace"])
        self.filters["format"] = _format_filter(self.filters["format"])

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name in _PADDING_METHODS and any(
                isinstance(a, int) and a > MAX_SIZE for a in (*args, *kwargs.values())
            ):
                raise _refuse(f"str.{name}")
            if name == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            if name in ("format", "format_map"):
                _check_widths(owner)
        return super().call(__context, __obj, *args, **kwargs)


def forbidden_nodes(ast: nodes.Template) -> str | None:
    """What a template uses that rules may not (macros, call blocks), if anything."""
    for node_type, what in ((nodes.Macro, "macros"), (nodes.CallBlock, "call blocks")):
        if next(ast.find_all(node_type), None) is not None:
            return f"{what} are not allowed in rules"
    return None


def rendering(chunks: Iterator[str]) -> str:
    """Join a template's output, stopping at :data:`MAX_SIZE` characters."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_SIZE:
            raise _refuse("the template's output")
        parts.append(chunk)
    return "".join(parts)


class iteration_budget:
    """Give the renderings inside the block one shared ``range`` budget."""

    def __enter__(self) -> None:
        self._token = _BUDGET.set([MAX_ITERATIONS])

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)
