"""Test data shared by every test module: deterministic keys, domains, readings, strategies,
the OpenZeppelin leaf value list and the known-answer vectors.

Importable from any test (``pythonpath = ["tests"]`` in pyproject.toml): ``from factories import
...``. Every generator takes a seed or a ``random.Random``, so a failing case reproduces.

Accounting: ``beijing`` (data-year boundaries), ``EVIDENCE`` and the ``activity_lists`` strategy
for any methodology.

Two kinds of random readings: ``make_reading``/``signed_readings`` give realistic readings of one
test key (what a meter would send); ``random_reading``/``random_readings`` draw every field over
its whole range with the bounds drawn often (what an encoding or interop test needs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from accounting_rules import Activity, Methodology, SourceKind
from mrv_core import QUANTITIES, Domain, QuantityKind, Reading, SignedReading, meter_id
from mrv_core.batch import Batch
from mrv_core.codec import (
    INT256_MAX,
    INT256_MIN,
    UINT64_MAX,
    UINT256_MAX,
    format_address,
    parse_address,
    parse_hex,
    parse_int,
)
from mrv_core.eip712 import READING_TYPEHASH
from mrv_core.hashing import keccak256
from mrv_core.keys import DeviceKey
from mrv_core.reading import site_id
from mrv_core.records import (
    ERROR_CLASSES,
    SCOPE_METER,
    SCOPE_SITE,
    EmissionSummary,
    Gap,
    MeterChange,
    Record,
    SignedRecord,
    note_hash,
)

#: A fixed test key (never use outside tests): secret 0x00..01, address 0x7E5F...5Bdf.
TEST_KEY = DeviceKey.from_private_bytes((1).to_bytes(32, "big"))
OTHER_KEY = DeviceKey.from_private_bytes((2).to_bytes(32, "big"))
#: anvil's/hardhat's chain id and the first contract address its default deployer creates.
TEST_DOMAIN = Domain(chain_id=31337,
                     verifying_contract=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))
METER_PATHS = (
    "demo-co/wuxi-plant/assembly/line-1/main-incomer",
    "demo-co/wuxi-plant/utilities/boiler-house/gas-meter-1",
    "示例集团/无锡工厂/装配车间/一号线/总表",
)


def make_reading(rng: random.Random, device: bytes = TEST_KEY.address, *, seq: int | None = None,
                 meter_path: str | None = None) -> tuple[Reading, str]:
    """A valid random reading and its meter path."""
    path = meter_path or rng.choice(METER_PATHS)
    quantity = rng.choice(tuple(QUANTITIES))
    low = INT256_MIN if QUANTITIES[quantity].signed else 0
    value = rng.choice([0, 1, rng.randrange(10**9), rng.randint(low, INT256_MAX), INT256_MAX, low])
    return Reading(
        device=device,
        meter=meter_id(path),
        seq=rng.randrange(UINT64_MAX) if seq is None else seq,
        timestamp=rng.randrange(1_600_000_000, 1_900_000_000),
        quantity=quantity,
        value=value,
        salt=rng.randbytes(32),
    ), path


def signed_readings(count: int, *, seed: int = 0, key: DeviceKey = TEST_KEY,
                    domain: Domain = TEST_DOMAIN) -> list[SignedReading]:
    """``count`` signed readings of ``key`` with seq 0..count-1 on one meter per path."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        reading, path = make_reading(rng, key.address, seq=i, meter_path=METER_PATHS[i % 3])
        out.append(key.sign_reading(reading, domain, path))
    return out


def sample_batch(count: int, *, seed: int = 0, batch_seq: int = 0,
                 domain: Domain = TEST_DOMAIN, records: int = 0) -> Batch:
    """A closed batch of ``count`` signed readings of ``TEST_KEY``, its header signed too, and
    ``records`` signed records after them (:func:`signed_records`)."""
    readings = signed_readings(count, seed=seed, domain=domain)
    return TEST_KEY.close_batch(batch_seq, readings, domain,
                                signed_records(records, seed=seed, domain=domain))


SITE_PATH = "demo-co/wuxi-plant"
T_RECORDS = 1_735_689_600  # 2025-01-01T00:00:00Z


def make_records(rng: random.Random, device: bytes = TEST_KEY.address
                 ) -> list[tuple[Record, str, str | None]]:
    """One record of each kind (a gap, a meter change, a meter and a site summary) with the path
    and note that travel beside it, realistic but random."""
    path = METER_PATHS[0]
    t = T_RECORDS + rng.randrange(86_400)
    quantity = "energy.active.import:Wh"
    note = rng.choice(["", "meter replaced after lightning strike", "换表, 雷击后更换"])
    summary = {
        "device": device, "source": "electricity.grid", "quantity": quantity,
        "methodology": "cn.electricity.location", "methodology_version": 2,
        "period_start": t - t % 3600, "period_end": t - t % 3600 + 3600,
        "activity": rng.randrange(10**9), "emissions": rng.randrange(10**9),
        "reading_count": rng.randrange(3600), "gap_count": 1, "bridged_gap_count": 1,
        "bridged_seconds": rng.randrange(1, 3600), "unexplained_decreases": 0,
    }
    return [
        (Gap(device=device, meter=meter_id(path), quantity=quantity, next_seq=rng.randrange(10**6),
             from_timestamp=t, to_timestamp=t + 120, failed_polls=rng.randrange(1, 10),
             error_class=rng.choice(ERROR_CLASSES), salt=rng.randbytes(32)), path, None),
        (MeterChange(device=device, meter=meter_id(path), quantity=quantity,
                     next_seq=rng.randrange(10**6), timestamp=t + 300,
                     old_final=rng.randrange(2**32), new_initial=rng.randrange(100),
                     note=note_hash(note), salt=rng.randbytes(32)), path, note),
        (EmissionSummary(scope_kind=SCOPE_METER, scope_id=meter_id(path), salt=rng.randbytes(32),
                         **summary), path, None),
        (EmissionSummary(scope_kind=SCOPE_SITE, scope_id=site_id(SITE_PATH),
                         salt=rng.randbytes(32), **summary), SITE_PATH, None),
    ]


def signed_records(count: int, *, seed: int = 0, key: DeviceKey = TEST_KEY,
                   domain: Domain = TEST_DOMAIN) -> list[SignedRecord]:
    """``count`` signed records of ``key``, cycling through the four of :func:`make_records`."""
    rng = random.Random(seed + 1_000)
    out: list[SignedRecord] = []
    while len(out) < count:
        for record, path, note in make_records(rng, key.address)[: count - len(out)]:
            out.append(key.sign_record(record, domain, path, note))
    return out


# -- hypothesis strategies ------------------------------------------------------------------------

bytes32 = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)
uint64s = st.integers(min_value=0, max_value=UINT64_MAX)


@st.composite
def readings(draw: st.DrawFn, device: bytes | None = None) -> Reading:
    """Any valid reading, with the edges (0, extremes) drawn often."""
    quantity = draw(st.sampled_from(tuple(QUANTITIES)))
    low = INT256_MIN if QUANTITIES[quantity].signed else 0
    value = draw(st.one_of(st.sampled_from([0, 1, low, INT256_MAX]),
                           st.integers(min_value=low, max_value=INT256_MAX)))
    return Reading(
        device=device if device is not None else draw(addresses),
        meter=draw(bytes32),
        seq=draw(st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s)),
        timestamp=draw(st.one_of(st.sampled_from([0, UINT64_MAX]), uint64s)),
        quantity=quantity,
        value=value,
        salt=draw(bytes32),
    )


leaf_lists = st.lists(bytes32, min_size=1, max_size=80)
codes = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                max_size=32)
_CUMULATIVE = tuple(code for code, q in QUANTITIES.items() if q.kind is QuantityKind.CUMULATIVE)


@st.composite
def records(draw: st.DrawFn, kind: type[Record] | None = None,
            device: bytes | None = None) -> Record:
    """Any valid record (of ``kind``, else of any kind), every field over its whole range with
    its bounds drawn often; the cross-field rules (ordered times, a non-zero count) are then
    restored by sorting or substituting, never by filtering."""
    cls = kind or draw(st.sampled_from([Gap, MeterChange, EmissionSummary]))
    values: dict[str, Any] = {}
    for spec in cls.FIELDS:
        if spec.kind == "address":
            values[spec.attr] = device if device is not None else draw(addresses)
        elif spec.kind == "bytes32":
            values[spec.attr] = draw(bytes32)
        elif spec.kind == "quantity":
            values[spec.attr] = draw(st.sampled_from(_CUMULATIVE))
        elif spec.name == "errorClass":
            values[spec.attr] = draw(st.sampled_from(ERROR_CLASSES))
        elif spec.kind == "code":
            values[spec.attr] = draw(codes)
        else:
            low, high = spec.bound
            low = max(low, 0)  # every record quantity is an unsigned cumulative register
            values[spec.attr] = draw(st.one_of(st.sampled_from([low, high]),
                                               st.integers(min_value=low, max_value=high)))
    for a, b in (("from_timestamp", "to_timestamp"), ("period_start", "period_end")):
        if a in values:
            values[a], values[b] = sorted((values[a], values[b]))
    if cls is EmissionSummary:
        values["scope_kind"] = draw(st.sampled_from([SCOPE_METER, SCOPE_SITE]))
        values["methodology_version"] = max(values["methodology_version"], 1)
        if values["period_start"] == values["period_end"] == UINT64_MAX:
            values["period_start"] -= 1
        elif values["period_start"] == values["period_end"]:
            values["period_end"] += 1
        if values["bridged_gap_count"] == 0:
            values["bridged_seconds"] = 0
    if cls is Gap:
        values["failed_polls"] = max(values["failed_polls"], 1)
    return cls(**values)


# -- readings over the whole range of every field, leaf values, vectors ---------------------

#: The known-answer vectors (``scripts/make_vectors.py`` writes them).
VECTORS_PATH = Path(__file__).resolve().parent / "vectors" / "protocol.json"

#: OpenZeppelin StandardMerkleTree leaf types of a reading: ``typeHash`` then the struct fields,
#: exactly the words of the EIP-712 ``encodeData`` (``mrv_core.eip712.encode_struct``).
LEAF_ENCODING = (
    "bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "int256", "bytes32",
)
#: A signed quantity (export is negative), drawn for a quarter of the random readings.
SIGNED_QUANTITY = "power.active:W"

_LEVEL_WORDS = (
    "acme", "demo-co", "wuxi-plant", "rotterdam", "assembly", "utilities", "line-1", "line-7",
    "boiler-house", "main-incomer", "gas-meter-1", "示例集团", "装配车间", "Zähler 3", "ΦΩ",
)


def random_meter_path(rng: random.Random) -> str:
    """A valid five-level meter path, sometimes with non-ASCII levels."""
    return "/".join(rng.choice(_LEVEL_WORDS) + (str(rng.randrange(100)) if rng.random() < 0.5
                                                 else "") for _ in range(5))


def _word(rng: random.Random, size: int) -> bytes:
    """``size`` random bytes, or one of the extremes (all zero, all ones, a single bit)."""
    pick = rng.random()
    if pick < 0.85:
        return rng.randbytes(size)
    if pick < 0.90:
        return bytes(size)
    if pick < 0.95:
        return b"\xff" * size
    single = bytearray(size)
    single[rng.randrange(size)] = 1 << rng.randrange(8)
    return bytes(single)


def _uint64(rng: random.Random) -> int:
    return rng.choice((
        0, 1, UINT64_MAX, UINT64_MAX - 1, 2**63, 2**53 + 1,
        rng.randrange(1_000_000), rng.randrange(1_600_000_000, 1_900_000_000),
        rng.randrange(UINT64_MAX + 1), rng.randrange(UINT64_MAX + 1),
    ))


def _value(rng: random.Random, signed: bool) -> int:
    if signed:
        return rng.choice((
            INT256_MIN, INT256_MIN + 1, -1, 0, 1, INT256_MAX - 1, INT256_MAX, -(2**53) - 1,
            -rng.randrange(1, 10**7), rng.randrange(10**7),
            rng.randint(INT256_MIN, INT256_MAX), rng.randint(INT256_MIN, INT256_MAX),
        ))
    return rng.choice((
        0, 1, INT256_MAX - 1, INT256_MAX, 2**64, 2**53 + 1,
        rng.randrange(10**12), rng.randrange(10**12), rng.randint(0, INT256_MAX),
        rng.randint(0, INT256_MAX),
    ))


def random_reading(rng: random.Random, *, device: bytes | None = None,
                   quantity: str | None = None) -> Reading:
    """One valid reading with every field drawn over its whole range (edges drawn often).

    About a quarter of the readings carry the signed quantity ``power.active:W``, half of whose
    values are negative.
    """
    if quantity is None:
        quantity = SIGNED_QUANTITY if rng.random() < 0.25 else rng.choice(tuple(QUANTITIES))
    meter = meter_id(random_meter_path(rng)) if rng.random() < 0.5 else _word(rng, 32)
    return Reading(
        device=device if device is not None else _word(rng, 20),
        meter=meter,
        seq=_uint64(rng),
        timestamp=_uint64(rng),
        quantity=quantity,
        value=_value(rng, QUANTITIES[quantity].signed),
        salt=_word(rng, 32),
    )


def random_readings(rng: random.Random, count: int, *, devices: int = 3) -> list[Reading]:
    """``count`` readings shared among a few random devices (as in a multi-device data set)."""
    pool = [_word(rng, 20) for _ in range(max(1, devices))]
    return [random_reading(rng, device=rng.choice(pool)) for _ in range(count)]


def leaf_values(reading: Reading) -> tuple[bytes | str | int, ...]:
    """The leaf value list as Python values for ``eth_abi.encode(LEAF_ENCODING, ...)``."""
    return (
        READING_TYPEHASH,
        format_address(reading.device),
        reading.meter,
        reading.seq,
        reading.timestamp,
        QUANTITIES[reading.quantity].code_bytes,
        reading.value,
        reading.salt,
    )


def oz_leaf_values(reading: Reading) -> list[str]:
    """The leaf value list as ``@openzeppelin/merkle-tree`` takes it: hex words, a checksummed
    address, integers as decimal strings (JSON numbers would lose precision past 2^53)."""
    return [
        value if isinstance(value, str)
        else str(value) if isinstance(value, int)
        else "0x" + value.hex()
        for value in leaf_values(reading)
    ]


def load_vectors() -> dict[str, Any]:
    """The known-answer vector document."""
    document = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and document.get("format") == "trustmrv-vectors/1"
    return document


def vector_reading(entry: dict[str, Any]) -> Reading:
    """The :class:`Reading` of one ``readings[i]`` entry of the vector file."""
    fields = entry["reading"]
    return Reading(
        device=parse_address(fields["device"]),
        meter=parse_hex(fields["meter"], 32),
        seq=parse_int(fields["seq"], 0, UINT64_MAX),
        timestamp=parse_int(fields["timestamp"], 0, UINT64_MAX),
        quantity=fields["quantity"],
        value=parse_int(fields["value"], INT256_MIN, INT256_MAX),
        salt=parse_hex(fields["salt"], 32),
    )


# -- accounting -----------------------------------------------------------------------------------

#: Chinese data years run in Beijing time.
BEIJING = timezone(timedelta(hours=8))
#: A non-zero evidence hash for deduction and override lines.
EVIDENCE = keccak256(b"TrustMRV test evidence")


def beijing(year: int, month: int = 1, day: int = 1) -> int:
    """Unix seconds of midnight Beijing time on that day."""
    return int(datetime(year, month, day, tzinfo=BEIJING).timestamp())


def computable_sources(methodology: Methodology, period_start: int, period_end: int) -> list[str]:
    """The sources a line may use for ``compute`` to succeed without overrides: emission sources
    whose every parameter has a row covering the period, and deductions aimed at those."""
    ok = [spec.source for spec in methodology.sources if spec.kind is SourceKind.EMISSION
          and all(any(row.covers(period_start, period_end)
                      for row in methodology.rows(spec.source, parameter))
                  for parameter in spec.parameters)]
    return ok + [spec.source for spec in methodology.sources
                 if spec.kind is SourceKind.DEDUCTION and spec.target in ok]


#: Activity amounts: the edges, meter-sized values, and values near the overflow boundary.
amounts = st.one_of(
    st.sampled_from([0, 1, 2, 499_999, 500_000, 1_000_000, 10**9, 2**128, UINT256_MAX]),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=UINT256_MAX),
)


@st.composite
def activity_lists(draw: st.DrawFn, methodology: Methodology, *,
                   sources: list[str] | None = None, max_lines: int = 8,
                   max_amount: int = UINT256_MAX) -> list[Activity]:
    """Activity lines of ``methodology`` (of ``sources`` only, when given); deduction and
    override lines carry evidence, except now and then; an override source may repeat."""
    codes = sources if sources is not None else list(methodology.source_codes)
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_lines))):
        code = draw(st.sampled_from(codes))
        amount = draw(amounts.filter(lambda value: value <= max_amount))
        evidence = draw(st.sampled_from([EVIDENCE, EVIDENCE, EVIDENCE, bytes(32)]))
        lines.append(Activity(code, amount, evidence))
    return lines


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (``scripts`` is not a package), loaded once."""
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A FIFO at ``path``. Should the code under test open it to read and block (what the tests
    using it guard against), a writer opens and closes it every half second, so the reader sees
    end of file and the test fails instead of hanging."""
    os.mkfifo(path)
    stop = threading.Event()

    def unblock() -> None:
        while not stop.wait(0.5):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader blocked in open: nothing to release
                continue

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()


@contextmanager
def unreadable_files(directory: Path) -> Iterator[dict[str, Path]]:
    """Files no reader of small files may open and read, by what a refusal calls them: a FIFO
    nobody writes to (through :func:`fifo`), a directory, a symbolic link to ``/dev/zero`` and
    a sparse regular file of 2 MiB (past every limit on PEM, key and configuration files)."""
    (directory / "a-directory").mkdir()
    (directory / "zero.pem").symlink_to("/dev/zero")
    with (directory / "huge.pem").open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    with fifo(directory / "pipe.pem") as pipe:
        yield {"a FIFO": pipe, "a directory": directory / "a-directory",
               "a character device": directory / "zero.pem",
               "larger than": directory / "huge.pem"}
