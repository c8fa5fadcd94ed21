"""The edge node's configuration file: what the operator writes, validated strictly.

One TOML file (``mrv edge init`` writes a commented one) describes the device, the chain, the
store, batching, the uplink, and the Modbus connections and meters, each meter named by its
ISA-95 path (``enterprise/site/area/line/meter``). :func:`load_config` reads and validates it;
every error names the file, the line and the key. Relative paths in the file are resolved
against the file's directory, a meter's profile file among them (``profile =
"./profiles/my-meter.toml"``: a reference with a ``/`` is a file, any other a shipped profile's
id; ``edge_node.profiles.load_profile_reference``); every meter's profile is loaded by the
strict profile loader before the node starts, and a broken one is an error naming this file's
line and key and the profile file's key and problem. The models are frozen and forbid unknown
keys: a typo is an error, never a silently ignored setting.

Shapes and units: durations in seconds, sizes in MiB (``*_mib``); transformer ratios as on
their nameplates (``ct = [200, 5]``). The ``[acquisition]`` tables are
:mod:`edge_node.acquisition.settings` as they are (docs/edge.md, "Acquisition").
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mrv_core.errors import ConfigError, InvalidMeterPath
from mrv_core.reading import validate_meter_path

from .acquisition.settings import AcquisitionSettings, MeterSettings
from .config_file import describe_location, locate, read_toml, validate
from .errors import ProfileError
from .profiles import is_profile_file, load_profile_reference
from .uplink.settings import UplinkSettings

__all__ = [
    "MAX_BATCH_AGE_S",
    "BatchingConfig",
    "ChainConfig",
    "DeviceConfig",
    "NodeConfig",
    "ObservabilityConfig",
    "RetentionConfig",
    "SummariesConfig",
    "UplinkConfig",
    "load_config",
]

#: The longest duration the file takes (a batch's age): 366 days, in seconds.
MAX_BATCH_AGE_S = 86_400 * 366
Seconds = Annotated[float, Field(gt=0, le=MAX_BATCH_AGE_S)]
#: TOML has no path type: a path is a string (lax here only).
FilePath = Annotated[Path, Field(strict=False)]


class _Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class DeviceConfig(_Section):
    """``[device]``: the device key and where its data is kept."""

    #: Keystore v3 file of the device key (``mrv edge init`` creates it).
    key_file: FilePath
    #: First line is the key's password; without it ``MRV_KEY_PASSWORD`` or a prompt.
    password_file: FilePath | None = None
    #: The node's SQLite store (created on first run).
    store: FilePath
    #: The site this node serves, ``enterprise/site``: the scope of site summaries and the
    #: first two levels of every meter path.
    site: str

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        levels = value.split("/")
        if len(levels) != 2 or not all(levels):
            raise ValueError(f"site must be 'enterprise/site', got {value!r}")
        try:  # the same character rules as a meter path
            validate_meter_path(f"{value}/a/l/m")
        except InvalidMeterPath as exc:
            raise ValueError(str(exc)) from None
        return value


class ChainConfig(_Section):
    """``[chain]``: the JSON-RPC endpoint, the deployment and how batches are anchored."""

    rpc: str
    deployment: FilePath
    #: Blocks on top of an anchor, its own included, before it counts as final.
    confirmations: Annotated[int, Field(ge=1, le=1000)] = 1
    #: ``device``: the device's account sends ``anchor`` and pays gas; ``relayer``: the
    #: enterprise's relayer (``mrv relay``) submits ``anchorBySig`` for it.
    anchor: Literal["device", "relayer"] = "device"
    relayer_url: str | None = None
    rpc_retries: Annotated[int, Field(ge=0, le=20)] = 5

    @model_validator(mode="after")
    def _relayer(self) -> ChainConfig:
        if self.anchor == "relayer" and not self.relayer_url:
            raise ValueError("anchor = 'relayer' needs relayer_url")
        return self


class BatchingConfig(_Section):
    """``[batching]``: a batch closes when it holds ``max_leaves`` leaves or its first leaf is
    ``max_age_seconds`` old, whichever comes first.

    The default size, 65,536 (2**16: proofs of 16 hashes), lets a node reading many meters
    every second anchor about every ten seconds (1,000 meters of six points at 1 s: 6,000 leaves
    a second) rather than every other block; a slower node's batches close by age."""

    max_leaves: Annotated[int, Field(ge=1, le=1_000_000)] = 65_536
    max_age_seconds: Seconds = 3600.0


class UplinkConfig(_Section):
    """``[uplink]``: the ledger API the node pushes to; the keys are those of
    :class:`edge_node.uplink.UplinkSettings`, which checks them (plain ``http://`` only to a
    loopback address; ``https://`` with the device's client certificate)."""

    url: str
    chunk_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    timeout_ms: Annotated[int, Field(ge=1)] = 30_000
    backoff_initial_ms: Annotated[int, Field(ge=1)] = 500
    backoff_max_ms: Annotated[int, Field(ge=1)] = 60_000
    idle_poll_ms: Annotated[int, Field(ge=1)] = 5_000
    refusal_holdoff_ms: Annotated[int, Field(ge=1)] = 600_000
    #: The ``uplink`` health check fails when the oldest undelivered item is older than this.
    max_backlog_age_ms: Annotated[int, Field(ge=1)] = 900_000
    cert_file: FilePath | None = None
    key_file: FilePath | None = None
    ca_file: FilePath | None = None

    @model_validator(mode="after")
    def _settings(self) -> UplinkConfig:
        """The uplink's own checks at load (the URL as httpx parses it, plain http only to
        loopback, https with the client certificate), not first when the node starts."""
        try:
            UplinkSettings(**self.model_dump())
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


class RetentionConfig(_Section):
    """``[retention]``: what may be pruned and the disk budget (see docs/edge.md)."""

    #: Data both anchored final and acknowledged by the ledger API is kept this long.
    keep_days: Annotated[int, Field(ge=1, le=3660)] = 90
    #: Above this the node raises an alarm and keeps taking readings.
    disk_budget_mib: Annotated[int, Field(ge=1)] = 1024
    #: Above this the node stops polling, loudly; nothing unacknowledged is ever deleted.
    disk_hard_limit_mib: Annotated[int, Field(ge=1)] = 2048

    @model_validator(mode="after")
    def _limits(self) -> RetentionConfig:
        if self.disk_hard_limit_mib < self.disk_budget_mib:
            raise ValueError(f"disk_hard_limit_mib ({self.disk_hard_limit_mib}) is below "
                             f"disk_budget_mib ({self.disk_budget_mib})")
        return self


class SummariesConfig(_Section):
    """``[summaries]``: local emission summaries per meter and site."""

    enabled: bool = True
    #: Accounting periods follow this IANA zone (Beijing time by default).
    timezone: str = "Asia/Shanghai"
    #: Emission source code (``electricity.grid``...) of each meter's energy, by meter path;
    #: a meter without one gets no emission summary. Each source must map to one shipped
    #: methodology (``edge_node.summaries.methodologies``, the mapping rule).
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: dict[str, str]) -> dict[str, str]:
        # Imported here: edge_node.summaries imports this module.
        from .summaries.methodologies import methodology_for_source

        for path, source in value.items():
            try:
                methodology_for_source(source)
            except ConfigError as exc:
                raise ValueError(f"{path}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class ObservabilityConfig(_Section):
    """``[observability]``: metrics and health on loopback, logs as JSON lines."""

    #: ``host:port`` of the metrics (``/metrics``) and health (``/healthz``) endpoint, a
    #: loopback address literal (IPv6 in brackets: ``[::1]:9108``).
    listen: str = "127.0.0.1:9108"
    #: Log file (JSON lines): a regular file in an existing directory (checked when opened,
    #: :func:`mrv_core.json_logs.configure_logging`); ``-`` is standard error.
    log: str = "-"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        """``HOST:PORT``, HOST an address literal (an IPv6 one in brackets, ``[::1]:9108``, as
        in a URL, RFC 3986 section 3.2.2), PORT 0..65535."""
        host, _, port = value.rpartition(":")
        shape = f"listen must be 'host:port' (IPv6 in brackets: '[::1]:9108'), got {value!r:.80}"
        if not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
            raise ValueError(shape)
        bracketed = host.startswith("[") and host.endswith("]")
        literal = host[1:-1] if bracketed else host
        try:
            address = ipaddress.ip_address(literal)
        except ValueError:
            address = None
        if address is not None and (address.version == 6) != bracketed:
            raise ValueError(shape)
        if (":" in literal and address is None) or "%" in literal:
            raise ValueError(shape)
        if address is None or not address.is_loopback:
            raise ValueError(f"listen must be a loopback address (127.0.0.1 or [::1]), "
                             f"got {host!r:.80}")
        return value


class NodeConfig(_Section):
    """The whole file."""

    device: DeviceConfig
    chain: ChainConfig
    batching: BatchingConfig = BatchingConfig()
    uplink: UplinkConfig | None = None
    retention: RetentionConfig = RetentionConfig()
    summaries: SummariesConfig = SummariesConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    #: Modbus connections and the meters on them (``edge_node.acquisition.settings``).
    acquisition: AcquisitionSettings

    @property
    def meters(self) -> tuple[MeterSettings, ...]:
        """Every meter, in configuration order."""
        return tuple(m for c in self.acquisition.connections for m in c.meters)

    @model_validator(mode="after")
    def _references(self) -> NodeConfig:
        paths = {m.path for m in self.meters}
        for path in sorted(paths):
            if not path.startswith(self.device.site + "/"):
                raise ValueError(f"meter {path!r} is not under the node's site "
                                 f"{self.device.site!r}")
        for path in sorted(set(self.summaries.sources) - paths):
            raise ValueError(f"summaries.sources names {path!r}, which is no configured meter")
        return self


def load_config(path: Path) -> NodeConfig:
    """Read and validate the node's configuration file; paths inside it become absolute,
    resolved against the file's directory. Raises :class:`ConfigError` naming file, line and
    key."""
    document, text = read_toml(path)
    config = _resolve_paths(validate(NodeConfig, document, text, path), path.resolve().parent)
    _check_profiles(config, text, path)
    return config


def _check_profiles(config: NodeConfig, text: str, path: Path) -> None:
    """Load every meter's profile once; raise :class:`ProfileError` naming this file's line
    and key, then the profile's own problem, or another file already loaded under the same id
    (``edge.toml:31:
    acquisition.connections[0].meters[1].profile: /site/profiles/m.toml: points[2].scale:
    ...``)."""
    ids: dict[str, str] = {}  # profile id -> the reference that loaded it
    for i, connection in enumerate(config.acquisition.connections):
        for j, meter in enumerate(connection.meters):
            location = ("acquisition", "connections", i, "meters", j, "profile")
            try:
                if meter.profile in ids.values():
                    continue
                profile = load_profile_reference(meter.profile)
                if ids.setdefault(profile.id, meter.profile) != meter.profile:
                    raise ProfileError(meter.profile, "id", f"{profile.id!r} is also the id of "
                                       f"{ids[profile.id]}: one id, one register map")
            except ProfileError as exc:
                line = locate(text, location)
                raise ProfileError(f"{path}:{line}" if line else str(path),
                                   describe_location(location), str(exc)) from None


def _resolve_paths(config: NodeConfig, base: Path) -> NodeConfig:
    def absolute(value: Path | None) -> Path | None:
        return None if value is None else (value if value.is_absolute() else base / value)

    device = config.device.model_copy(update={
        "key_file": absolute(config.device.key_file),
        "password_file": absolute(config.device.password_file),
        "store": absolute(config.device.store),
    })
    chain = config.chain.model_copy(update={"deployment": absolute(config.chain.deployment)})
    updates: dict[str, object] = {"device": device, "chain": chain,
                                  "acquisition": _resolve_profiles(config.acquisition, base)}
    log = config.observability.log
    if log != "-" and not Path(log).is_absolute():
        updates["observability"] = config.observability.model_copy(
            update={"log": str(base / log)})
    if config.uplink is not None:
        updates["uplink"] = config.uplink.model_copy(update={
            name: absolute(getattr(config.uplink, name))
            for name in ("cert_file", "key_file", "ca_file")
        })
    return config.model_copy(update=updates)


def _resolve_profiles(acquisition: AcquisitionSettings, base: Path) -> AcquisitionSettings:
    """Every meter's relative profile file path made absolute against ``base``."""
    def meter(m: MeterSettings) -> MeterSettings:
        if not is_profile_file(m.profile) or Path(m.profile).is_absolute():
            return m
        return m.model_copy(update={"profile": str(base / m.profile)})

    return acquisition.model_copy(update={"connections": tuple(
        c.model_copy(update={"meters": tuple(meter(m) for m in c.meters)})
        for c in acquisition.connections)})

