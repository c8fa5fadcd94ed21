"""Methodology data files (``trustmrv-methodology/1``): strict parsing, composition, spec hash.

One JSON file per methodology version, ``accounting_rules/data/<id>/v<version>.json``::

    {"format": "trustmrv-methodology/1", "id": "cn.heat.purchased", "version": 1,
     "title": "...", "specification": ["line", "line", ...],
     "sources": [{"source", "unit", "scope", "kind", "target", "parameters",
                  "numerator", "denominator", "description"}, ...],
     "factors": [{"key", "source", "parameter", "validFrom", "validUntil", "value", "decimals",
                  "unit", "published", "citation": {"publication", "document", "table", "year",
                                                    "verification", "url"?}}, ...]}

Parsed strictly (:mod:`mrv_core.strict_json`: no floats, no duplicate keys, no unknown
fields). Integers of ``uint256`` range (``value``, ``numerator``, ``denominator``) are canonical
decimal strings; ``version``, ``scope``, ``decimals`` and ``year`` are small JSON numbers. Dates are
ISO-8601 with an explicit offset (``2022-01-01T00:00:00+08:00``: data years run in Beijing time)
and become Unix seconds; ``"validUntil": null`` is open-ended (2^64 - 1). Every ``value`` must equal
its ``published`` figure converted exactly into ``unit``
(:func:`accounting_rules.units.to_fraction`), so a typo in either is caught on load.

A **composite** has ``"composedOf": [{"id", "version"}, ...]`` instead of ``sources`` and
``factors``. The loader materialises it: ``sources`` and ``factors`` become the components' own
entries, concatenated in ``composedOf`` order, and each ``composedOf`` entry gains the
component's ``specHash``. Components are plain (not composite) files.

**The spec hash** of a version is ``keccak256`` of the canonical JSON of its materialised document
(for a plain file, the file's own content): ``json.dumps(document, sort_keys=True,
separators=(",", ":"), ensure_ascii=False).encode("utf-8")``. Every key is ASCII, so sorting is
unambiguous in any language. The hash therefore covers the specification text, every source, and
every factor with its published figure and citation; a composite's covers its components'
content and their spec hashes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mrv_core.codec import UINT64_MAX, UINT256_MAX, format_hex, parse_int
from mrv_core.errors import FormatError, InvalidInteger
from mrv_core.hashing import keccak256
from mrv_core.strict_json import expect_object, loads_strict

from .errors import DataFileError, DefinitionError, PublishedMismatch, UnitError
from .model import OPEN_ENDED, Citation, FactorRow, Methodology, SourceKind, SourceSpec
from .units import to_fraction

__all__ = [
    "FORMAT",
    "MAX_FILE_BYTES",
    "canonical_json",
    "component_refs",
    "materialise",
    "methodology_from_document",
    "parse_timestamp",
    "read_document",
    "spec_hash",
]

FORMAT = "trustmrv-methodology/1"
MAX_FILE_BYTES = 1 << 20

_TOP = ("format", "id", "version", "title", "specification")
_SOURCE = ("source", "unit", "scope", "kind", "target", "parameters", "numerator", "denominator",
           "description")
_FACTOR = ("key", "source", "parameter", "validFrom", "validUntil", "value", "decimals", "unit",
           "published", "citation")
_CITATION = ("publication", "document", "table", "year", "verification")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}\Z", re.ASCII)
_KINDS = {kind.label: kind for kind in SourceKind}


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a document: sorted keys, no spaces, UTF-8 (not ``\\u`` escapes)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def spec_hash(document: Mapping[str, Any]) -> bytes:
    """keccak256 of :func:`canonical_json` of a materialised document."""
    return keccak256(canonical_json(document))


def read_document(raw: bytes, where: str) -> dict[str, Any]:
    """Parse one data file strictly and check its top-level shape (plain or composite)."""
    try:
        document = loads_strict(raw, max_bytes=MAX_FILE_BYTES)
        composite = isinstance(document, dict) and "composedOf" in document
        body = ("composedOf",) if composite else ("sources", "factors")
        top = expect_object(document, "$", (*_TOP, *body))
    except FormatError as exc:
        raise DataFileError(f"{where} {exc.where}", exc.problem) from None
    if top["format"] != FORMAT:
        raise DataFileError(f"{where} $.format", f"expected {FORMAT!r}, got {top['format']!r:.40}")
    for name in ("id", "title"):
        if not isinstance(top[name], str):
            raise DataFileError(f"{where} $.{name}", "expected a string")
    if not _small_int(top["version"]):
        raise DataFileError(f"{where} $.version", "expected a positive integer")
    spec = top["specification"]
    if not isinstance(spec, list) or not spec or not all(isinstance(line, str) for line in spec):
        raise DataFileError(f"{where} $.specification", "expected a non-empty array of lines")
    for name in body:
        if not isinstance(top[name], list) or (name != "factors" and not top[name]):
            raise DataFileError(f"{where} $.{name}", "expected a non-empty array")
    return top


def component_refs(document: Mapping[str, Any], where: str) -> list[tuple[str, int]]:
    """The (id, version) pairs a composite names, in order (empty for a plain document)."""
    refs: list[tuple[str, int]] = []
    for index, entry in enumerate(document.get("composedOf", ())):
        at = f"{where} $.composedOf[{index}]"
        try:
            ref = expect_object(entry, at, ("id", "version"))
        except FormatError as exc:
            raise DataFileError(exc.where, exc.problem) from None
        if not isinstance(ref["id"], str) or not _small_int(ref["version"]):
            raise DataFileError(at, "expected a string id and a positive integer version")
        if (ref["id"], ref["version"]) in refs:
            raise DataFileError(at, "component named twice")
        refs.append((ref["id"], ref["version"]))
    return refs


def materialise(document: Mapping[str, Any], components: Sequence[Mapping[str, Any]],
                where: str) -> dict[str, Any]:
    """A composite with its components' sources and factors filled in (a plain document as is).

    ``components`` are the materialised documents named by ``composedOf``, in its order.
    """
    if "composedOf" not in document:
        return dict(document)
    refs = component_refs(document, where)
    if len(refs) != len(components):
        raise DataFileError(f"{where} $.composedOf", "components missing")
    result = {key: value for key, value in document.items() if key != "composedOf"}
    result["composedOf"] = []
    result["sources"] = []
    result["factors"] = []
    for (ref_id, ref_version), component in zip(refs, components, strict=True):
        if "composedOf" in component or (component["id"], component["version"]) != (ref_id,
                                                                                   ref_version):
            raise DataFileError(f"{where} $.composedOf", f"component {ref_id} v{ref_version} "
                                                          "must be a plain methodology")
        result["composedOf"].append({"id": ref_id, "version": ref_version,
                                     "specHash": format_hex(spec_hash(component))})
        result["sources"].extend(component["sources"])
        result["factors"].extend(component["factors"])
    return result


def methodology_from_document(document: Mapping[str, Any], where: str) -> Methodology:
    """The :class:`Methodology` of a materialised document, its spec hash computed here."""
    sources = tuple(_source(entry, f"{where} $.sources[{i}]")
                    for i, entry in enumerate(document["sources"]))
    factors = tuple(_factor(entry, f"{where} $.factors[{i}]")
                    for i, entry in enumerate(document["factors"]))
    composed = tuple((ref["id"], ref["version"]) for ref in document.get("composedOf", ()))
    try:
        return Methodology(
            id=document["id"], version=document["version"], title=document["title"],
            specification="\n".join(document["specification"]), sources=sources,
            factors=factors, spec_hash=spec_hash(document), composed_of=composed,
        )
    except DefinitionError as exc:
        exc.add_note(f"in {where}")
        raise


def parse_timestamp(text: object, where: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS+HH:MM`` (offset required) as Unix seconds."""
    if not isinstance(text, str) or _TIMESTAMP.match(text) is None:
        raise DataFileError(where, f"expected YYYY-MM-DDTHH:MM:SS+HH:MM, got {text!r:.40}")
    try:
        seconds = int(datetime.fromisoformat(text).timestamp())
    except ValueError as exc:
        raise DataFileError(where, f"invalid date {text!r}: {exc}") from None
    if not 0 <= seconds < UINT64_MAX:
        raise DataFileError(where, f"{text} is before 1970")
    return seconds


def _source(entry: object, where: str) -> SourceSpec:
    fields = _object(entry, where, _SOURCE)
    kind = _KINDS.get(fields["kind"]) if isinstance(fields["kind"], str) else None
    if kind is None:
        raise DataFileError(f"{where}.kind", f"expected one of {', '.join(_KINDS)}")
    parameters = fields["parameters"]
    if not isinstance(parameters, list):
        raise DataFileError(f"{where}.parameters", "expected an array")
    try:
        return SourceSpec(
            source=fields["source"], unit=fields["unit"], scope=fields["scope"], kind=kind,
            target=fields["target"], parameters=tuple(parameters),
            numerator=_uint256(fields["numerator"], f"{where}.numerator"),
            denominator=_uint256(fields["denominator"], f"{where}.denominator"),
            description=fields["description"],
        )
    except DefinitionError as exc:
        exc.add_note(f"at {where}")
        raise


def _factor(entry: object, where: str) -> FactorRow:
    fields = _object(entry, where, _FACTOR)
    cited = _object(fields["citation"], f"{where}.citation", _CITATION, ("url",))
    until = fields["validUntil"]
    try:
        row = FactorRow(
            key=fields["key"], source=fields["source"], parameter=fields["parameter"],
            valid_from=parse_timestamp(fields["validFrom"], f"{where}.validFrom"),
            valid_until=(OPEN_ENDED if until is None
                         else parse_timestamp(until, f"{where}.validUntil")),
            value=_uint256(fields["value"], f"{where}.value"), decimals=fields["decimals"],
            unit=fields["unit"], published=fields["published"],
            citation=Citation(publication=cited["publication"], document=cited["document"],
                              table=cited["table"], year=cited["year"],
                              verification=cited["verification"], url=cited.get("url")),
        )
    except DefinitionError as exc:
        exc.add_note(f"at {where}")
        raise
    try:
        published = to_fraction(row.published, row.unit)
    except UnitError as exc:
        raise DataFileError(f"{where}.published", str(exc)) from None
    if published * 10**row.decimals != row.value:
        raise PublishedMismatch(f"{where}.value", f"{row.value} (decimals {row.decimals}) is not "
                                                  f"{row.published!r} in {row.unit} "
                                                  f"({published} {row.unit})")
    return row


def _object(value: object, where: str, required: Sequence[str],
            optional: Sequence[str] = ()) -> dict[str, Any]:
    try:
        return expect_object(value, where, required, optional)
    except FormatError as exc:
        raise DataFileError(exc.where, exc.problem) from None


def _uint256(text: object, where: str) -> int:
    try:
        return parse_int(text, 0, UINT256_MAX, field=where)
    except InvalidInteger as exc:
        raise DataFileError(where, str(exc)) from None


def _small_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**32
