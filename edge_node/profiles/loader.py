"""Read meter profile files (TOML) into :class:`~edge_node.profiles.model.Profile` values.

A profile file describes one meter model; the shipped ones are in ``edge_node/profiles/data/``
(``load_profile("eastron.sdm630")``), and an operator may keep their own anywhere
(``load_profile_file(path)``).

A meter names its profile by a *reference* (the node's ``profile`` key, the simulator's
``--meter UNIT:PROFILE``), one rule for both (:func:`load_profile_reference`): a reference
with a ``/`` in it is a profile file's path ending in ``.toml`` (``"./profiles/my-meter.toml"``,
relative to the node's configuration file, or to the current directory for the simulator);
any other is a shipped profile's id (``"eastron.sdm630"``). Ids never hold a ``/``, so the two
never meet; ``"my-meter.toml"`` without a ``/`` is refused with that hint. A file's ``id`` must
equal its name without ``.toml`` and must not be a shipped profile's id (one id, one register
map; the node's configuration also refuses two files with one id). The format, key by key
(every other key is refused)::

    id = "eastron.sdm630"                 # the file's name without .toml
    manufacturer = "Eastron"
    model = "SDM630 Modbus V2"
    phases = 3                            # optional, 1 or 3 (default 3)
    max_registers_per_read = 60           # 1..125 (Modbus caps a read at 125 registers)
    note = "..."                          # optional
    [sources]                             # key -> title and address of a manual or reference
    M1 = "volkszaehler/mbmd meters/rs485/sdm.go"
    [serial]                              # optional: the factory serial settings
    baudrate = 9600
    parity = "N"                          # N, E or O
    stopbits = 1
    unit_id = 1                           # 1..247
    confirmed = false
    [[points]]
    name = "energy_import"                # unique in the file
    quantity = "energy.active.import:Wh"  # registered in mrv_core.quantities
    function = 4                          # 3 (holding) or 4 (input registers)
    address = 0x0048                      # 0-based PDU address, 0..65535 (the last word too)
    type = "float32"                      # (u)int16/32/64, float32/64
    word_order = "high_first"             # or low_first; required for multi-word types
    scale = "1000"                        # raw x scale = value in the quantity's unit:
                                          # an exact decimal ("0.1") or fraction ("1/10") string
    counter_width = 32                    # only for integer cumulative points: wraps at 2^width
    not_available = [[0xFFFF, 0xFFFF]]    # optional: raw "no value" patterns, in wire order
    ratio = "ct*pt"                       # optional: secondary-side register, x CT, PT or both
    source = "M1, S1"                     # keys of [sources]
    confirmed = true                      # optional (default true); false where sources differ
    note = "..."                          # optional

Errors: :class:`~edge_node.errors.ProfileError` naming the file, the key (``points[2].scale``)
and the problem, for TOML syntax, unknown or missing keys, wrong types and broken rules.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from mrv_core.errors import UnknownQuantity
from mrv_core.files import UnreadableFile, read_regular_file
from mrv_core.quantities import QuantityKind, quantity_by_code

from ..config_file import toml_text
from ..errors import ProfileError
from .model import DataType, Function, Point, Profile, Ratio, SerialDefaults, WordOrder

__all__ = ["check_profile_reference", "check_scale", "is_profile_file", "largest_raw",
           "list_profiles", "load_profile", "load_profile_file", "load_profile_reference",
           "parse_profile", "parse_scale"]

#: A profile file larger than this is refused (the largest shipped one is under 8 KiB).
MAX_PROFILE_BYTES = 1 << 20
#: Modbus caps one FC03/FC04 read at 125 registers (Modbus application protocol v1.1b3, 6.3).
MODBUS_MAX_READ = 125

_ID = re.compile(r"[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
_FRACTION = re.compile(r"([1-9][0-9]*)/([1-9][0-9]*)")

_TOP = {"id": True, "manufacturer": True, "model": True, "max_registers_per_read": True,
        "sources": True, "points": True, "serial": False, "phases": False, "note": False}
_SERIAL = {"baudrate": True, "parity": True, "stopbits": True, "unit_id": True,
           "confirmed": True}
_POINT = {"name": True, "quantity": True, "function": True, "address": True, "type": True,
          "scale": True, "source": True, "word_order": False, "counter_width": False,
          "not_available": False, "ratio": False, "confirmed": False, "note": False}

T = TypeVar("T")


def parse_scale(text: object) -> Fraction:
    """An exact positive scale from ``"1000"``, ``"0.01"`` or ``"1/10"``; raises ``ValueError``
    for anything else (floats are refused: ``0.1`` has no exact binary form). A point's scale is
    then bounded by its type (:func:`check_scale`: ``largest raw x scale <= 2**255 - 1``)."""
    if not isinstance(text, str):
        raise TypeError(f"scale must be a string, got {type(text).__name__}")
    if _DECIMAL.fullmatch(text) or _FRACTION.fullmatch(text):
        value = Fraction(text)
        if value > 0:
            return value
    raise ValueError(f"expected a positive exact decimal ('0.01') or fraction ('1/10'), "
                     f"got {text!r}")


#: A decoded value is signed as an int256 (``mrv_core.records``): ``|value| <= 2**255 - 1``.
_VALUE_MAX = 2**255 - 1
#: The largest finite float32, ``(2 - 2**-23) x 2**127`` (IEEE 754 binary32).
_FLOAT32_MAX = (2**24 - 1) * 2**104


def largest_raw(data_type: DataType) -> int | None:
    """The largest magnitude a raw value of ``data_type`` decodes to: ``2**bits - 1``
    unsigned, ``2**(bits - 1)`` two's complement, the largest finite float32; ``None`` for
    float64, whose finite range (to about 1.8e308) exceeds int256 at any usable scale (its
    out-of-range values are refused per sample at signing, as failed polls of class
    ``other``: ``edge_node.node``)."""
    if data_type is DataType.FLOAT64:
        return None
    if data_type is DataType.FLOAT32:
        return _FLOAT32_MAX
    return (1 << (data_type.bits - 1)) if data_type.signed else (1 << data_type.bits) - 1


def check_scale(scale: Fraction, data_type: DataType) -> None:
    """Raise ``ValueError`` when the largest raw value of ``data_type`` times ``scale`` does
    not fit int256: ``largest_raw(data_type) x scale <= 2**255 - 1`` is required (uint64 at
    most about 3.1e57, float32 about 1.7e38). A meter's CT/PT ratio can still push a value
    past it; such samples become gaps of class ``other`` (``edge_node.node``)."""
    largest = largest_raw(data_type)
    if largest is not None and largest * scale > _VALUE_MAX:
        bound = Fraction(_VALUE_MAX, largest)
        raise ValueError(f"scale {scale} is too large for {data_type.value}: the largest raw "
                         f"value {largest} x scale must be at most 2**255 - 1 (int256), so "
                         f"scale <= {float(bound):.6g}")


class _Table:
    """One TOML table being read: typed getters whose errors name file and key."""

    def __init__(self, file: str, where: str, data: object, keys: dict[str, bool]) -> None:
        self.file, self.where = file, where
        if not isinstance(data, dict):
            raise ProfileError(file, where, f"expected a table, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        for key in data:
            if key not in keys:
                raise ProfileError(file, self.key(key),
                                   f"unknown key; allowed: {', '.join(sorted(keys))}")
        for key, required in keys.items():
            if required and key not in data:
                raise ProfileError(file, self.key(key), "missing")

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(self.file, self.key(key), problem)

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        value = self.data.get(key, default)
        # bool is an int in Python; TOML keeps them apart, so do we.
        if type(value) is not kind:
            raise self.fail(key, f"expected {kind.__name__}, got {type(value).__name__} "
                                 f"{value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key, str, default)
        if not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        value = self.get(key, int, default)
        if not low <= value <= high:
            raise self.fail(key, f"expected {low}..{high}, got {value}")
        return value

    def choice(self, key: str, convert: Callable[[Any], T], allowed: str,
               default: object = None) -> T:
        value = self.data.get(key, default)
        try:
            return convert(value)
        except (ValueError, TypeError, KeyError):
            raise self.fail(key, f"expected one of {allowed}, got {value!r}") from None


def _serial(file: str, data: object) -> SerialDefaults:
    t = _Table(file, "serial", data, _SERIAL)
    return SerialDefaults(
        baudrate=t.integer("baudrate", 300, 1_000_000),
        parity=t.choice("parity", lambda v: {"N": "N", "E": "E", "O": "O"}[v], "N, E, O"),
        stopbits=t.integer("stopbits", 1, 2),
        unit_id=t.integer("unit_id", 1, 247),
        confirmed=t.get("confirmed", bool))


def _point(file: str, index: int, data: object, sources: dict[str, str]) -> Point:
    t = _Table(file, f"points[{index}]", data, _POINT)
    name = t.text("name")
    if not _NAME.fullmatch(name):
        raise t.fail("name", f"expected lower_snake_case, got {name!r}")
    try:
        quantity = quantity_by_code(t.text("quantity"))
    except UnknownQuantity as exc:
        raise t.fail("quantity", str(exc)) from None
    function = t.choice("function", lambda v: Function(t.get("function", int)), "3, 4")
    data_type = t.choice("type", DataType, ", ".join(d.value for d in DataType))
    address = t.integer("address", 0, 65535)
    if address + data_type.words > 65536:
        raise t.fail("address", f"{data_type.value} at {address} runs past register 65535")
    if data_type.words > 1 and "word_order" not in t.data:
        raise t.fail("word_order", f"missing (required for {data_type.value})")
    word_order = t.choice("word_order", WordOrder, "high_first, low_first",
                          WordOrder.HIGH_FIRST.value)
    scale = t.choice("scale", parse_scale, "an exact positive decimal or fraction string "
                                           "('0.01', '1/10'; a TOML number is not exact)")
    try:
        check_scale(scale, data_type)
    except ValueError as exc:
        raise t.fail("scale", str(exc)) from None
    cumulative = quantity.kind is QuantityKind.CUMULATIVE
    width: int | None = None
    if "counter_width" in t.data:
        if not cumulative or data_type.is_float:
            raise t.fail("counter_width", "only integer points of a cumulative quantity "
                                          f"wrap; this is {data_type.value} {quantity.code}")
        top = data_type.bits - (1 if data_type.signed else 0)
        width = t.integer("counter_width", 1, top)
    elif cumulative and not data_type.is_float:
        raise t.fail("counter_width", f"missing (required for the integer counter "
                                      f"{quantity.code})")
    unavailable = []
    for n, pattern in enumerate(t.get("not_available", list, [])):
        key = f"not_available[{n}]"
        if (not isinstance(pattern, list) or len(pattern) != data_type.words
                or not all(type(w) is int and 0 <= w <= 0xFFFF for w in pattern)):
            raise t.fail(key, f"expected {data_type.words} register values 0..65535, "
                              f"got {pattern!r}")
        unavailable.append(tuple(pattern))
    ratio = t.choice("ratio", Ratio, "ct*pt, ct, pt", Ratio.NONE.value)
    source = t.text("source")
    for key in (k.strip() for k in source.split(",")):
        if key not in sources:
            raise t.fail("source", f"{key!r} is not a key of [sources] "
                                   f"({', '.join(sorted(sources))})")
    return Point(name=name, quantity=quantity.code, function=function, address=address,
                 data_type=data_type, word_order=word_order, scale=scale, counter_width=width,
                 not_available=tuple(unavailable), ct_pt=ratio is not Ratio.NONE,
                 ratio=ratio, source=source, confirmed=t.get("confirmed", bool, True),
                 note=t.get("note", str, ""))


def _check_layout(file: str, points: list[Point]) -> None:
    """Point names are unique and no two points of one function share a register."""
    seen: dict[str, int] = {}
    for index, point in enumerate(points):
        if point.name in seen:
            raise ProfileError(file, f"points[{index}].name",
                               f"{point.name!r} already names points[{seen[point.name]}]")
        seen[point.name] = index
    for index, point in enumerate(points):
        for other in points[:index]:
            if (other.function == point.function and point.address < other.end
                    and other.address < point.end):
                raise ProfileError(file, f"points[{index}].address",
                                   f"registers {point.address}..{point.end - 1} overlap "
                                   f"{other.name} ({other.address}..{other.end - 1})")


def parse_profile(text: str, file: str, expected_id: str | None = None) -> Profile:
    """Parse a profile file's text; ``file`` names it in errors; ``expected_id`` (the file's
    stem) must equal its ``id`` when given."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(file, "", f"not valid TOML: {exc}") from None
    t = _Table(file, "", data, _TOP)
    profile_id = t.text("id")
    if not _ID.fullmatch(profile_id):
        raise t.fail("id", f"expected dotted lowercase words (vendor.model), got {profile_id!r}")
    if expected_id is not None and profile_id != expected_id:
        raise t.fail("id", f"expected {expected_id!r} (the file's name), got {profile_id!r}")
    raw_sources = t.data["sources"]
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise t.fail("sources", "expected a table naming at least one source")
    sources = _Table(file, "sources", raw_sources, dict.fromkeys(raw_sources, True))
    source_map = {key: sources.text(key) for key in raw_sources}
    raw_points = t.get("points", list)
    if not raw_points:
        raise t.fail("points", "must hold at least one point")
    points = [_point(file, n, p, source_map) for n, p in enumerate(raw_points)]
    _check_layout(file, points)
    serial = _serial(file, t.data["serial"]) if "serial" in t.data else None
    return Profile(id=profile_id, manufacturer=t.text("manufacturer"), model=t.text("model"),
                   sources=source_map,
                   max_registers_per_read=t.integer("max_registers_per_read", 1,
                                                    MODBUS_MAX_READ),
                   serial=serial, points=tuple(points), note=t.get("note", str, ""),
                   phases=_phases(t))


def _phases(t: _Table) -> int:
    phases = t.get("phases", int, 3)
    if phases not in (1, 3):
        raise t.fail("phases", f"expected 1 or 3, got {phases}")
    return phases


def load_profile_file(path: Path) -> Profile:
    """Load a profile from any ``.toml`` file; its ``id`` must equal the file's stem. The file
    must be a regular file of at most :data:`MAX_PROFILE_BYTES` (a FIFO or device is refused
    unread, :func:`mrv_core.files.read_regular_file`)."""
    try:
        text = toml_text(read_regular_file(path, MAX_PROFILE_BYTES))
    except UnreadableFile as exc:
        raise ProfileError(str(path), "", exc.reason) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(str(path), "", f"not UTF-8: {exc.reason} at byte {exc.start}") \
            from None
    return parse_profile(text, str(path), expected_id=path.stem)


def _data() -> Any:
    return resources.files(__package__).joinpath("data")


@cache
def list_profiles() -> tuple[str, ...]:
    """The ids of the shipped profiles, sorted."""
    return tuple(sorted(entry.name.removesuffix(".toml") for entry in _data().iterdir()
                        if entry.name.endswith(".toml")))


@cache
def load_profile(profile_id: str) -> Profile:
    """The shipped profile ``profile_id``; raises :class:`ProfileError` naming the known ids."""
    if profile_id not in list_profiles():
        raise ProfileError(f"{profile_id}.toml", "",
                           f"no shipped profile {profile_id!r}; known: "
                           f"{', '.join(list_profiles())}")
    entry = _data().joinpath(f"{profile_id}.toml")
    return parse_profile(entry.read_text(encoding="utf-8"), f"profiles/data/{entry.name}",
                         expected_id=profile_id)


def is_profile_file(reference: str) -> bool:
    """Whether a meter's profile reference names a file (it holds a ``/``) rather than a
    shipped profile's id (module docstring)."""
    return "/" in reference


def check_profile_reference(reference: str) -> str:
    """``reference`` when it is well formed: a shipped id's shape (``vendor.model``), or a path
    with a ``/`` ending in ``.toml``. Raises ``ValueError`` saying which form was expected
    (the config's validator turns it into an error naming the line and key)."""
    if is_profile_file(reference):
        if not reference.endswith(".toml"):
            raise ValueError(f"a profile file's path ends in <id>.toml, got {reference!r}")
        return reference
    if reference.endswith(".toml"):
        raise ValueError(f"{reference!r} is neither a shipped profile's id nor a path: write "
                         f"a profile file as a path with a '/', e.g. './{reference}'")
    if not _ID.fullmatch(reference):
        raise ValueError(f"expected a shipped profile's id (vendor.model) or a profile file's "
                         f"path ('./profiles/my-meter.toml'), got {reference!r}")
    return reference


def load_profile_reference(reference: str, base: Path | None = None) -> Profile:
    """The profile a meter names (module docstring): a shipped one by id, or a profile file
    through :func:`load_profile_file`, a relative path resolved against ``base`` (default: the
    current directory). Raises :class:`ProfileError` naming the file, key and problem, for an
    unknown id, a malformed reference, or a file whose ``id`` is a shipped profile's."""
    try:
        check_profile_reference(reference)
    except ValueError as exc:
        raise ProfileError(reference, "", str(exc)) from None
    if not is_profile_file(reference):
        return load_profile(reference)
    path = Path(reference)
    if base is not None and not path.is_absolute():
        path = base / path
    profile = load_profile_file(path)
    if profile.id in list_profiles():
        raise ProfileError(str(path), "id", f"{profile.id!r} is a shipped profile's id: give "
                                            f"your own meter model an id (and file name) of "
                                            f"its own")
    return profile
