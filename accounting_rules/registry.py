"""The methodologies shipped with the package: ``accounting_rules/data/<id>/v<version>.json``.

Files are read once and cached; :class:`~accounting_rules.model.Methodology` values are immutable,
so callers share them. The directory name must equal the file's ``id`` and the file name its
``version``, so a file cannot be published under another identity by being moved.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from .datafile import component_refs, materialise, methodology_from_document, read_document
from .errors import DataFileError, UnknownMethodology
from .model import Methodology

__all__ = ["latest_version", "load_document", "load_methodology", "methodologies"]

_FILE = re.compile(r"v([1-9][0-9]{0,8})\.json\Z", re.ASCII)


def _data() -> Traversable:
    return resources.files("accounting_rules").joinpath("data")


@cache
def methodologies() -> tuple[tuple[str, int], ...]:
    """Every shipped (id, version), sorted by id then version."""
    found: list[tuple[str, int]] = []
    for directory in _data().iterdir():
        if not directory.is_dir() or directory.name.startswith((".", "_")):
            continue
        for entry in directory.iterdir():
            match = _FILE.match(entry.name)
            if match is not None:
                found.append((directory.name, int(match.group(1))))
    return tuple(sorted(found))


def latest_version(methodology_id: str) -> int:
    """The highest shipped version of ``methodology_id``."""
    versions = [version for known, version in methodologies() if known == methodology_id]
    if not versions:
        raise UnknownMethodology(methodology_id, None)
    return max(versions)


@cache
def _file(methodology_id: str, version: int) -> dict[str, Any]:
    """One data file as parsed, not materialised."""
    if (methodology_id, version) not in methodologies():
        raise UnknownMethodology(methodology_id, version)
    where = f"{methodology_id}/v{version}.json"
    raw = _data().joinpath(methodology_id, f"v{version}.json").read_bytes()
    document = read_document(raw, where)
    if (document["id"], document["version"]) != (methodology_id, version):
        raise DataFileError(f"{where} $.id", f"the file says {document['id']} "
                                             f"v{document['version']}")
    return document


@cache
def _materialised(methodology_id: str, version: int) -> dict[str, Any]:
    document = _file(methodology_id, version)
    where = f"{methodology_id}/v{version}.json"
    components = []
    for ref_id, ref_version in component_refs(document, where):
        if (ref_id, ref_version) not in methodologies():
            raise DataFileError(f"{where} $.composedOf", f"no component {ref_id} v{ref_version}")
        components.append(_file(ref_id, ref_version))  # materialise() refuses a composite
    return materialise(document, components, where)


def load_document(methodology_id: str, version: int) -> dict[str, Any]:
    """The materialised document of one version: what the spec hash covers (a fresh copy)."""
    return copy.deepcopy(_materialised(methodology_id, version))


@cache
def load_methodology(methodology_id: str, version: int | None = None) -> Methodology:
    """One shipped methodology version; the latest when ``version`` is ``None``."""
    if version is None:
        version = latest_version(methodology_id)
    document = _materialised(methodology_id, version)
    return methodology_from_document(document, f"{methodology_id}/v{version}.json")
