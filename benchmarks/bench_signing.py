"""1. Readings hashed and signed per second, against the eth_account / eth_abi oracle paths and
the three keccak implementations available in the environment."""

from __future__ import annotations

from collections.abc import Callable

from Crypto.Hash import keccak as cryptodome_keccak
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_hash.auto import keccak as eth_hash_keccak
from sha3 import keccak_256

from mrv_core import Reading
from mrv_core.eip712 import READING_TYPEHASH, encode_struct, reading_digest, struct_hash, typed_data
from mrv_core.quantities import QUANTITIES
from mrv_core.reading import SignedReading, new_salt
from mrv_core.signing import sign_digest

from .core import Config, Row, Target, best_of, check
from .fixtures import DOMAIN, KEY, METER_IDS, METER_PATHS, PRIVATE, SECRET, T0, make_readings

SECTION = "1. readings hashed + signed (one core)"
SIGN_TARGET = Target(20_000)
#: DeviceKey.sign_reading (device and meter path checks included) against the raw path that
#: builds the same SignedReading: at most 10 % slower.
OVERHEAD_TARGET = Target(0.90)
LEAF_TYPES = ["bytes32", "address", "bytes32", "uint64", "uint64", "bytes32", "int256", "bytes32"]


def _rate(n: int, fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    seconds, _ = best_of(fn, repeat=repeat, warmup=warmup)
    return n / seconds


def pipelines(n: int) -> dict[str, Callable[[], list[SignedReading]]]:
    """The two ways to make ``n`` signed readings, like for like: each builds the Reading with a
    fresh salt and ends in a SignedReading (whose constructor checks the meter path); the
    convenience path adds only DeviceKey.sign_reading's own device check."""
    device, meter, path = KEY.address, METER_IDS[0], METER_PATHS[0]
    q = "energy.active.import:Wh"

    def with_device_key() -> list[SignedReading]:
        return [KEY.sign_reading(Reading(device, meter, i, T0 + i, q, 10_000 + i, new_salt()),
                                 DOMAIN, path) for i in range(n)]

    def raw_path() -> list[SignedReading]:
        signed = []
        for i in range(n):
            reading = Reading(device, meter, i, T0 + i, q, 10_000 + i, new_salt())
            signature = sign_digest(PRIVATE, reading_digest(reading, DOMAIN))
            signed.append(SignedReading(reading, signature, path))
        return signed

    return {"build Reading + DeviceKey.sign_reading": with_device_key,
            "build Reading + sign_digest + SignedReading(...)": raw_path}


def _paired_rates(n: int, fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Readings per second of each of ``fns``, timed in alternation (best of ``repeat`` each) so
    that a busy moment of a shared machine falls on both alike."""
    best = [float("inf")] * len(fns)
    for fn in fns:  # warm-up
        fn()
    for _ in range(repeat):
        for index, fn in enumerate(fns):
            seconds, _ = best_of(fn, repeat=1, warmup=0)
            best[index] = min(best[index], seconds)
    return [n / seconds for seconds in best]


def _pipelines(cfg: Config) -> list[Row]:
    n = cfg.sign_n
    ways = pipelines(n)
    for signed in (fn() for fn in ways.values()):
        check(len(signed) == n and all(isinstance(s, SignedReading) for s in signed),
              "a signing pipeline does not end in SignedReadings")
        sample = signed[: min(n, 200)]
        check(all(sign_digest(PRIVATE, reading_digest(s.reading, DOMAIN)) == s.signature
                  for s in sample), "raw path and DeviceKey.sign_reading disagree")
    rates = _paired_rates(n, list(ways.values()), 2 * cfg.repeat)
    note = f"n={n:,}, fresh salts, best of {2 * cfg.repeat}, timed alternately"
    rows = [Row(SECTION, name, rate, "/s", SIGN_TARGET, note)
            for name, rate in zip(ways, rates, strict=True)]
    return [*rows, Row(SECTION, "  ratio: sign_reading / raw path (overhead <= 10 %)",
                       rates[0] / rates[1], "x", OVERHEAD_TARGET,
                       f"overhead {(1 - rates[0] / rates[1]) * 100:+.1f} % (device check, call)")]


def _components(cfg: Config, readings: list[Reading]) -> list[Row]:
    n, device, meter, path = len(readings), KEY.address, METER_IDS[0], METER_PATHS[0]
    digests = [reading_digest(r, DOMAIN) for r in readings]
    signature = bytes(65)
    parts: list[tuple[str, Callable[[], object]]] = [
        ("  part: Reading(...) with new_salt()", lambda: [
            Reading(device, meter, i, T0 + i, "heat:kJ", i, new_salt()) for i in range(n)]),
        ("  part: struct_hash", lambda: [struct_hash(r) for r in readings]),
        ("  part: reading_digest", lambda: [reading_digest(r, DOMAIN) for r in readings]),
        ("  part: sign_digest (coincurve, low-s)", lambda: [
            sign_digest(PRIVATE, d) for d in digests]),
        ("  part: SignedReading(...) (meter path check)", lambda: [
            SignedReading(r, signature, path) for r in readings]),
    ]
    return [Row(SECTION, name, _rate(n, fn, cfg.repeat), "/s", note=f"n={n:,}")
            for name, fn in parts]


def _oracles(cfg: Config, readings: list[Reading], ours_raw: float) -> list[Row]:
    sample = readings[: cfg.oracle_n]
    m = len(sample)
    account = Account.from_key(SECRET)

    def eth_account_typed() -> list[bytes]:
        return [bytes(account.sign_message(
            encode_typed_data(full_message=typed_data(r, DOMAIN))).signature) for r in sample]

    def eth_account_digest() -> list[bytes]:
        return [_eip191_digest(encode_typed_data(full_message=typed_data(r, DOMAIN)))
                for r in sample]

    def ours_digest() -> list[bytes]:
        return [reading_digest(r, DOMAIN) for r in sample]

    digests = ours_digest()
    check(eth_account_digest() == digests, "eth_account typed-data digests differ from ours")

    def eth_account_hash() -> list[bytes]:
        return [bytes(account.unsafe_sign_hash(d).signature) for d in digests]

    def ours_sign() -> list[bytes]:
        return [sign_digest(PRIVATE, d) for d in digests]

    ours = ours_sign()
    check(eth_account_typed() == ours, "eth_account typed-data signatures differ from ours")
    check(eth_account_hash() == ours, "eth_account unsafe_sign_hash signatures differ from ours")

    encoded = readings[: 5 * cfg.oracle_n]
    values = [(READING_TYPEHASH, r.device, r.meter, r.seq, r.timestamp,
               QUANTITIES[r.quantity].code_bytes, r.value, r.salt) for r in encoded]

    def eth_abi_hash() -> list[bytes]:
        return [keccak_256(abi_encode(LEAF_TYPES, v)).digest() for v in values]

    def ours_hash() -> list[bytes]:
        return [keccak_256(encode_struct(r)).digest() for r in encoded]

    check(eth_abi_hash() == ours_hash(), "eth_abi.encode differs from encode_struct")
    digest_oracle = _rate(m, eth_account_digest, cfg.repeat)
    digest_ours = _rate(m, ours_digest, cfg.repeat)
    typed = _rate(m, eth_account_typed, cfg.repeat)
    unsafe = _rate(m, eth_account_hash, cfg.repeat)
    ours_sig = _rate(m, ours_sign, cfg.repeat)
    abi = _rate(len(values), eth_abi_hash, cfg.repeat)
    packed = _rate(len(values), ours_hash, cfg.repeat)
    return [
        Row(SECTION, "oracle: encode_typed_data -> EIP-712 digest", digest_oracle, "/s",
            note=f"eth_account, n={m:,}, input typed_data(reading) dict"),
        Row(SECTION, "  ratio: reading_digest / encode_typed_data", digest_ours / digest_oracle,
            "x", note=f"reading_digest {digest_ours:,.0f}/s on the same readings"),
        Row(SECTION, "oracle: encode_typed_data + sign_message", typed, "/s",
            note=f"eth_account, n={m:,}, from a built Reading"),
        Row(SECTION, "  ratio: our raw path / eth_account typed data", ours_raw / typed, "x",
            note="ours includes building the Reading"),
        Row(SECTION, "oracle: Account.unsafe_sign_hash(our digest)", unsafe, "/s",
            note=f"n={m:,}"),
        Row(SECTION, "  ratio: sign_digest / unsafe_sign_hash", ours_sig / unsafe, "x",
            note=f"sign_digest {ours_sig:,.0f}/s on the same digests"),
        Row(SECTION, "oracle: eth_abi.encode + keccak (struct hash)", abi, "/s",
            note=f"n={len(values):,}"),
        Row(SECTION, "ours: encode_struct + keccak (struct hash)", packed, "/s",
            note=f"n={len(values):,}"),
        Row(SECTION, "  ratio: encode_struct / eth_abi.encode", packed / abi, "x"),
    ]


def _eip191_digest(message: SignableMessage) -> bytes:
    """The hash eth_account signs for a ``SignableMessage`` (0x19 || version || header || body)."""
    return keccak_256(b"\x19" + message.version + message.header + message.body).digest()


def _keccaks(cfg: Config) -> list[Row]:
    n = cfg.keccak_n
    messages = [bytes([i & 0xFF]) * 64 for i in range(256)] * (n // 256)  # node-hash sized input
    impls: list[tuple[str, Callable[[bytes], bytes]]] = [
        ("safe-pysha3 sha3.keccak_256", lambda m: keccak_256(m).digest()),
        ("pycryptodome Crypto.Hash.keccak",
         lambda m: cryptodome_keccak.new(digest_bits=256, data=m).digest()),
        (f"eth_hash.auto ({_eth_hash_backend()})", eth_hash_keccak),
    ]
    reference = [impls[0][1](m) for m in messages[:256]]
    rates = []
    for name, h in impls:
        check([h(m) for m in messages[:256]] == reference, f"{name} keccak differs")

        def hash_all(h: Callable[[bytes], bytes] = h) -> list[bytes]:
            return [h(m) for m in messages]

        rates.append((name, _rate(len(messages), hash_all, cfg.repeat)))
    base = rates[0][1]
    return [Row(SECTION, f"keccak256 64 B: {name}", rate, "/s",
                note=f"n={len(messages):,}" if i == 0 else f"sha3 is {base / rate:,.1f}x faster")
            for i, (name, rate) in enumerate(rates)]


def _eth_hash_backend() -> str:
    eth_hash_keccak(b"")  # the auto backend binds its implementation on first use
    hasher = getattr(eth_hash_keccak, "hasher", None)
    owner = getattr(hasher, "__self__", None)
    return type(owner).__name__.removesuffix("Backend").lower() if owner else "auto"


def run(cfg: Config) -> list[Row]:
    rows = _pipelines(cfg)
    readings = make_readings(cfg.sign_n)
    rows += _components(cfg, readings)
    rows += _oracles(cfg, readings, ours_raw=rows[1].value)
    rows += _keccaks(cfg)
    return rows
