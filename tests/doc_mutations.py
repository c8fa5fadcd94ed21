"""Mutations of parsed JSON documents for decoder and schema tests: each helper returns a
function that changes a document in place at a dot-separated path (ints index lists), e.g.
``setv("readings.0.seq", "041")``.

Importable from any test (``pythonpath = ["tests"]``): ``from doc_mutations import setv``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["Doc", "at", "delete", "duplicate", "edit", "setv", "swap"]

Doc = dict[str, Any]


def at(doc: Doc, path: str) -> tuple[Any, str | int]:
    """The container and key that ``path`` (dot-separated, ints for list indices) names."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = doc
    for part in parents:
        node = node[part]
    return node, last


def setv(path: str, value: Any) -> Callable[[Doc], None]:
    """Set the value at ``path``."""
    def mutate(doc: Doc) -> None:
        node, key = at(doc, path)
        node[key] = value
    return mutate


def delete(path: str) -> Callable[[Doc], None]:
    """Remove the field or item at ``path``."""
    def mutate(doc: Doc) -> None:
        node, key = at(doc, path)
        del node[key]
    return mutate


def edit(path: str, change: Callable[[Any], Any]) -> Callable[[Doc], None]:
    """Replace the value at ``path`` by ``change(value)``."""
    def mutate(doc: Doc) -> None:
        node, key = at(doc, path)
        node[key] = change(node[key])
    return mutate


def swap(path: str, i: int, j: int) -> Callable[[Doc], None]:
    """Swap items ``i`` and ``j`` of the list at ``path``."""
    def mutate(doc: Doc) -> None:
        node, key = at(doc, path)
        items = node[key]
        items[i], items[j] = items[j], items[i]
    return mutate


def duplicate(path: str, index: int) -> Callable[[Doc], None]:
    """Insert a copy of item ``index`` of the list at ``path`` right before it."""
    def mutate(doc: Doc) -> None:
        node, key = at(doc, path)
        node[key].insert(index, copy.deepcopy(node[key][index]))
    return mutate
