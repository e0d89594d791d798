"""Attio's record and entry filters, and sorts, evaluated in memory.

Supported: shorthand equality (``{"email_addresses": "ada@example.com"}``),
operators (``$eq``, ``$in``, ``$contains``, ``$starts_with``,
``$ends_with``, ``$not_empty``, ``$lt``, ``$lte``, ``$gt``, ``$gte``),
a value field (``{"name": {"first_name": {"$eq": "Ada"}}}``) and the logical
``$and``, ``$or`` and ``$not``.  Anything else is Attio's ``filter_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from attio_automate.testing.fake import values
from attio_automate.testing.fake.model import JSON, Container, FakeAttioError, Valued

V = TypeVar("V", bound=Valued)

#: Renders a stored value into its read form (choices expanded).
Render = Callable[[JSON], JSON]
#: Follows an attribute of an item (a record reference, or an entry's
#: ``parent_record``) to the items it points at, each with its container
#: and renderer.
Follow = Callable[[Valued, Container, str], list[tuple[Valued, Container, Render]]]
#: The keys that filter by an item's own id.
_IDS = ("record_id", "entry_id")

_OPERATORS = {
    "$eq",
    "$in",
    "$contains",
    "$starts_with",
    "$ends_with",
    "$not_empty",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
}


def filter_error(message: str) -> FakeAttioError:
    return FakeAttioError(400, "filter_error", message)


def primary(value: JSON) -> Any:
    """The scalar a shorthand filter and a sort compare a read value by:
    statuses and options by title."""
    found = values.main_field(value)
    return found.get("title") if isinstance(found, dict) else found


def matches(
    item: Valued,
    container: Container,
    condition: Any,
    render: Render,
    follow: Follow | None = None,
) -> bool:
    """Whether ``item`` satisfies the filter ``condition`` (``follow`` lets
    ``path`` filters reach the records an item points at)."""
    if not isinstance(condition, dict):
        raise filter_error("A filter must be an object.")
    if "path" in condition:
        return _path_matches(item, container, condition, follow)
    for key, sub in condition.items():
        if key == "$and" or key == "$or":
            if not isinstance(sub, list):
                raise filter_error(f"{key} takes a list of filters.")
            results = (matches(item, container, part, render, follow) for part in sub)
            if not (all(results) if key == "$and" else any(results)):
                return False
        elif key == "$not":
            if matches(item, container, sub, render, follow):
                return False
        elif key in _IDS:
            # The item's own id: shorthand, $eq or $in.
            if not _attribute_matches([{"attribute_type": "text", "value": item.id}], sub):
                return False
        elif key.startswith("$"):
            raise filter_error(f'Unknown filter operator "{key}".')
        else:
            attribute = container.attribute(key)
            if attribute is None:
                raise filter_error(f'Unknown attribute slug "{key}" in filter.')
            values = [render(v) for v in item.current(attribute.id)]
            if not _attribute_matches(values, sub):
                return False
    return True


def _path_matches(
    item: Valued, container: Container, condition: JSON, follow: Follow | None
) -> bool:
    """``{"path": [[slug, attribute], ...], "constraints": {...}}``: follow
    each attribute from the item, then hold the constraints against the last
    attribute's values on whatever was reached."""
    path, constraints = condition.get("path"), condition.get("constraints")
    steps = path if isinstance(path, list) else []
    if (
        not steps
        or not all(
            isinstance(step, list) and len(step) == 2 and all(isinstance(p, str) for p in step)
            for step in steps
        )
        or not isinstance(constraints, dict)
        or set(condition) != {"path", "constraints"}
    ):
        raise filter_error(
            'A path filter is {"path": [[slug, attribute], ...], "constraints": {...}}.'
        )
    if follow is None:
        raise filter_error("path filters are not supported here.")
    reached: list[tuple[Valued, Container, Render]] = [(item, container, lambda v: v)]
    for slug, attribute in steps[:-1]:
        reached = [
            found
            for current, where, _ in reached
            if _named(where, slug)
            for found in follow(current, where, attribute)
        ]
    slug, attribute_slug = steps[-1]
    for current, where, render in reached:
        if not _named(where, slug):
            continue
        attribute = where.attribute(attribute_slug)
        if attribute is None:
            raise filter_error(f'Unknown attribute slug "{attribute_slug}" in path.')
        values = [render(v) for v in current.current(attribute.id)]
        if _attribute_matches(values, constraints):
            return True
    return False


def _named(container: Container, slug: str) -> bool:
    if container.slug != slug and container.id != slug:
        raise filter_error(f'The path names "{slug}" where it reaches "{container.slug}".')
    return True


def _attribute_matches(values: Sequence[JSON], condition: Any) -> bool:
    if not isinstance(condition, dict):
        return any(_equal(primary(v), condition) for v in values)
    operators = [k for k in condition if k.startswith("$")]
    if operators:
        return all(_apply(op, condition[op], [primary(v) for v in values]) for op in operators)
    # A value field: {"first_name": {"$eq": "Ada"}} or {"title": "Lead"}.
    for field_name, sub in condition.items():
        scalars = [_field(v, field_name) for v in values]
        if isinstance(sub, dict):
            if not all(_apply(op, arg, scalars) for op, arg in sub.items()):
                return False
        elif not any(_equal(s, sub) for s in scalars):
            return False
    return True


def _field(value: JSON, name: str) -> Any:
    found = value.get(name)
    if isinstance(found, dict):
        # status/option objects compare by title
        return found.get("title")
    return found


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _apply(operator: str, argument: Any, scalars: Sequence[Any]) -> bool:
    if operator not in _OPERATORS:
        raise filter_error(f'Unknown filter operator "{operator}".')
    if operator == "$not_empty":
        return bool(scalars) == bool(argument)
    if operator == "$in":
        if not isinstance(argument, list):
            raise filter_error("$in takes a list.")
        return any(_equal(s, a) for s in scalars for a in argument)
    if operator == "$eq":
        return any(_equal(s, argument) for s in scalars)
    strings = [s.casefold() for s in scalars if isinstance(s, str)]
    if operator in ("$contains", "$starts_with", "$ends_with"):
        if not isinstance(argument, str):
            raise filter_error(f"{operator} takes a string.")
        needle = argument.casefold()
        if operator == "$contains":
            return any(needle in s for s in strings)
        if operator == "$starts_with":
            return any(s.startswith(needle) for s in strings)
        return any(s.endswith(needle) for s in strings)
    try:
        if operator == "$lt":
            return any(s < argument for s in scalars if s is not None)
        if operator == "$lte":
            return any(s <= argument for s in scalars if s is not None)
        if operator == "$gt":
            return any(s > argument for s in scalars if s is not None)
        return any(s >= argument for s in scalars if s is not None)
    except TypeError:
        raise filter_error(f"{operator} cannot compare {argument!r}.") from None


def sort_items(items: list[V], container: Container, sorts: Any, render: Render) -> list[V]:
    """``items`` ordered by Attio's ``sorts`` (stable, empty values last)."""
    if sorts is None:
        return items
    if not isinstance(sorts, list):
        raise filter_error("sorts must be a list.")
    ordered = list(items)
    for sort in reversed(sorts):
        if not isinstance(sort, dict) or "attribute" not in sort:
            raise filter_error("Each sort needs an attribute and a direction.")
        attribute = container.attribute(str(sort["attribute"]))
        if attribute is None:
            raise filter_error(f'Unknown attribute slug "{sort["attribute"]}" in sorts.')
        descending = sort.get("direction") == "desc"
        field_name = sort.get("field")

        def key(item: Valued, attribute_id: str = attribute.id, field: Any = field_name) -> Any:
            values = [render(v) for v in item.current(attribute_id)]
            if not values:
                return (1, "")
            scalar = _field(values[0], field) if field else primary(values[0])
            return (0, scalar if not isinstance(scalar, str) else scalar.casefold())

        present = [i for i in ordered if key(i)[0] == 0]
        empty = [i for i in ordered if key(i)[0] == 1]
        present.sort(key=key, reverse=descending)
        ordered = present + empty
    return ordered
