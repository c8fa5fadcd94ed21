"""Settings of the acquisition layer: connections, the meters on them, the retry policy.

Frozen, strict pydantic models, so the node's config file (``edge_node.config``, TOML) composes
them as they are and reports a bad value with its key. Shapes:

- :class:`TcpConnection` (Modbus TCP: a meter or a TCP-to-RTU gateway) and
  :class:`RtuConnection` (Modbus RTU on a serial port) each carry the meters that share them
  (``meters``), a request ``timeout`` (seconds) and ``retries`` (how many times an unanswered
  request is re-sent before it counts as a ``timeout``).
- :class:`MeterSettings`: one meter on a connection: its ISA-95 path, unit id, profile (a
  shipped profile's id or a profile file's path, ``edge_node.profiles.load_profile_reference``),
  its
  poll ``interval`` and answer ``timeout``
  (seconds; the connection's timeout when unset), its CT and PT ratios, the points it reads
  (all of the profile's when unset) and report-by-exception settings per instantaneous point.
- :class:`RetrySettings`: the retry policy by error class (``policy.RetryPolicy``).

Requests on one connection are serialized (one RTU bus, one gateway socket); different
connections are polled concurrently.
"""

from __future__ import annotations

import ipaddress
import re
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from edge_node.profiles.loader import check_profile_reference
from mrv_core.reading import validate_meter_path

__all__ = [
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "AcquisitionSettings",
    "Connection",
    "MeterSettings",
    "ReportByException",
    "RetrySettings",
    "RtuConnection",
    "TcpConnection",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")

#: RFC 1123 host name label: letters, digits and inner hyphens, 1..63 characters.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")

Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
#: A poll interval's bounds in seconds: at least 0.1 s (a smaller one hammers the bus and fills
#: the store), at most a day.
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.1, 86_400
Interval = Annotated[float, Field(ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, allow_inf_nan=False)]


def _list_to_tuple(value: Any) -> Any:
    """TOML and JSON give arrays as lists; strict models hold tuples (immutable, hashable)."""
    return tuple(value) if isinstance(value, list) else value


#: A strict tuple that also takes the list a TOML or JSON array decodes to.
ArrayOf = BeforeValidator(_list_to_tuple)


class ReportByException(BaseModel):
    """Report an instantaneous point only when it moved or was silent too long.

    A value is emitted when ``|value - last emitted| > deadband`` (``deadband`` in the point's
    quantity's integer unit, e.g. W or mV) or when ``max_silence`` seconds have passed since the
    last emitted value (industrial gateways' "report by exception" with a heartbeat).
    """

    model_config = _FROZEN

    deadband: int = Field(ge=0)
    max_silence: Seconds = 900.0


class MeterSettings(BaseModel):
    """One meter (one Modbus unit id) on a connection.

    ``ct`` and ``pt`` are the current and voltage transformer ratios as on their nameplates,
    ``(primary, secondary)`` integers (a 200/5 A CT is ``(200, 5)``); the profile's secondary-side
    points are multiplied by the one their ``ratio`` names (``Point.ratio.of(ct, pt)``), exactly.
    ``max_gap``: the widest hole of undefined registers one read may span
    (``edge_node.decoding.plan_reads``); 0 unless the meter's manual says its map is dense.
    """

    model_config = _FROZEN

    path: str
    unit_id: int = Field(ge=1, le=247)  # 0 is Modbus broadcast: no answer comes back
    profile: str = Field(min_length=1)
    ct: Annotated[tuple[int, int], ArrayOf] = (1, 1)
    pt: Annotated[tuple[int, int], ArrayOf] = (1, 1)
    interval: Interval = 60.0
    timeout: Seconds | None = None
    points: Annotated[tuple[str, ...] | None, ArrayOf] = None
    max_gap: int = Field(default=0, ge=0, le=123)
    report_by_exception: dict[str, ReportByException] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return validate_meter_path(value)

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        return check_profile_reference(value)

    @field_validator("ct", "pt")
    @classmethod
    def _ratio(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] <= 0 or value[1] <= 0:
            raise ValueError(f"a transformer ratio is two positive integers, got {value}")
        return value

    @property
    def ct_ratio(self) -> Fraction:
        """The CT ratio, primary / secondary, exactly."""
        return Fraction(*self.ct)

    @property
    def pt_ratio(self) -> Fraction:
        """The PT ratio, primary / secondary, exactly."""
        return Fraction(*self.pt)


class _ConnectionBase(BaseModel):
    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=64)
    timeout: Seconds = 1.0
    retries: int = Field(default=0, ge=0, le=5)
    meters: Annotated[tuple[MeterSettings, ...], ArrayOf, Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_meters(self) -> _ConnectionBase:
        units = [m.unit_id for m in self.meters]
        if len(set(units)) != len(units):
            raise ValueError(f"connection {self.name!r}: unit ids must be distinct, got {units}")
        return self


class TcpConnection(_ConnectionBase):
    """Modbus TCP to ``host:port``: a meter, or a gateway in front of an RTU bus.

    ``host`` is an IP address or an RFC 1123 host name the operator configured (no scheme, no
    port); tests use 127.0.0.1 only.
    """

    kind: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(default=502, ge=1, le=65_535)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
        labels = value.removesuffix(".").split(".")
        if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise ValueError(f"host must be an IP address or a host name, got {value!r}")
        return value


class RtuConnection(_ConnectionBase):
    """Modbus RTU on a serial port (``/dev/ttyUSB0``, a socat pty in tests)."""

    kind: Literal["rtu"] = "rtu"
    port: str = Field(min_length=1)
    baudrate: Literal[1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


Connection = Annotated[TcpConnection | RtuConnection, Field(discriminator="kind")]


class RetrySettings(BaseModel):
    """The retry policy by error class (THREATS.md; ``policy.RetryPolicy`` applies it).

    - ``illegal_function``/``illegal_address``/``illegal_value`` (01-03) are configuration
      errors: the block is not requested again for ``config_hold_off`` seconds.
    - ``acknowledge``/``busy``/``gateway_path``/``gateway_target`` (05/06/0A/0B) are retried
      within the poll interval, at most ``busy_attempts`` requests in all, waiting a random
      exponential backoff (``busy_backoff`` x 2^n seconds, capped at ``busy_backoff_max``).
    - after ``connection`` or ``framing`` the connection is rebuilt; a failed connect is tried
      again after ``reconnect_delay`` seconds, doubling up to ``reconnect_delay_max``.
    """

    model_config = _FROZEN

    config_hold_off: Seconds = 600.0
    busy_attempts: int = Field(default=3, ge=1, le=10)
    busy_backoff: Seconds = 0.05
    busy_backoff_max: Seconds = 2.0
    reconnect_delay: Seconds = 0.5
    reconnect_delay_max: Seconds = 60.0


class AcquisitionSettings(BaseModel):
    """Everything the acquisition layer needs: connections with their meters, retry policy."""

    model_config = _FROZEN

    connections: Annotated[tuple[Connection, ...], ArrayOf, Field(min_length=1)]
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="after")
    def _unique(self) -> AcquisitionSettings:
        names = [c.name for c in self.connections]
        paths = [m.path for c in self.connections for m in c.meters]
        if len(set(names)) != len(names):
            raise ValueError(f"connection names must be distinct, got {names}")
        if len(set(paths)) != len(paths):
            raise ValueError("meter paths must be distinct across connections")
        return self
