"""Compute and print every number of the worked example in ``docs/protocol.md``.

The document pastes this script's output between markers of the form::

    <!-- protocol_example:begin NAME -->
    ...output of section NAME...
    <!-- protocol_example:end NAME -->

and ``tests/docs/test_protocol_example.py`` fails when a pasted block no longer equals what the
code computes. To regenerate after a deliberate change::

    .venv/bin/python scripts/protocol_example.py                 # print every section
    .venv/bin/python scripts/protocol_example.py --section proof  # print one section
    .venv/bin/python scripts/protocol_example.py --update docs/protocol.md
    .venv/bin/python scripts/protocol_example.py --check docs/protocol.md   # exit 1 when stale

Everything here is deterministic: the device key is the publicly known TEST key 0x00..01, the
salts are keccak256 of fixed labels (real salts come from the OS CSPRNG), and libsecp256k1 signs
with RFC 6979 nonces, so the signatures repeat too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mrv_core import (
    BATCH_TYPE,
    BATCH_TYPEHASH,
    QUANTITIES,
    READING_TYPE,
    READING_TYPEHASH,
    SAMPLE_DOMAIN,
    Batch,
    BatchFile,
    DeviceKey,
    Domain,
    ProofBundle,
    Reading,
    SignedReading,
    batch_digest,
    bundle_for_readings,
    leaf_hash,
    meter_id,
    reading_digest,
    recover_address,
    struct_hash,
    typed_data,
)
from mrv_core.codec import encode_code, format_address
from mrv_core.eip712 import (
    DOMAIN_NAME,
    DOMAIN_TYPE,
    DOMAIN_TYPEHASH,
    DOMAIN_VERSION,
    batch_struct_hash,
    encode_batch_struct,
    encode_struct,
)
from mrv_core.hashing import keccak256
from mrv_core.merkle import hash_pair, leaf_depths, process_multiproof, process_proof
from mrv_core.reading import site_id
from mrv_core.records import EmissionSummary, Gap, MeterChange, note_hash
from mrv_core.signing import SECP256K1_HALF_N, SECP256K1_N

__all__ = [
    "DOMAIN",
    "Example",
    "build_example",
    "check_document",
    "render_sections",
    "update_document",
]

#: THE TEST KEY. Its secret is the integer 1: every Ethereum developer knows it, so anything it
#: signs proves nothing. Never register it as a device.
TEST_SECRET = (1).to_bytes(32, "big")
#: anvil's / hardhat's chain id and the address of the first contract its default deployer creates.
DOMAIN = Domain(chain_id=31337,
                verifying_contract=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))
BATCH_SEQ = 0
METER_MAIN = "demo-co/wuxi-plant/assembly/line-1/main-incomer"
METER_WELDER = "demo-co/wuxi-plant/assembly/line-1/welding-cell-3"
METER_CJK = "示例集团/无锡工厂/装配车间/一号线/总表"
EIP191_PREFIX = bytes.fromhex("1901")


@dataclass(frozen=True)
class ReadingSpec:
    label: str
    meter_path: str
    seq: int
    timestamp: int
    quantity: str
    value: int

    @property
    def salt(self) -> bytes:
        """A reproducible stand-in for the 32 random bytes a real reading carries."""
        return keccak256(f"trustmrv-example-salt-{self.label}".encode("ascii"))


#: The batch, in batch order. A is the reading worked through word by word.
SPECS = (
    ReadingSpec("A", METER_MAIN, 41, 1_735_689_600, "energy.active.import:Wh", 1_204_331_870),
    ReadingSpec("B", METER_WELDER, 17, 1_735_689_600, "power.active:W", -1_500),
    ReadingSpec("C", METER_MAIN, 42, 1_735_690_500, "energy.active.import:Wh", 1_204_436_220),
)
#: Batch positions proven together by the multiproof example (A and C: one meter, two readings).
MULTI_POSITIONS = [0, 2]


@dataclass(frozen=True)
class Example:
    key: DeviceKey
    signed: tuple[SignedReading, ...]
    batch: Batch
    single: ProofBundle
    multi: ProofBundle
    batch_file: BatchFile

    @property
    def worked(self) -> SignedReading:
        return self.signed[0]


def build_example() -> Example:
    """Sign the three readings under :data:`DOMAIN`, close and sign the batch, build the
    bundles."""
    key = DeviceKey.from_private_bytes(TEST_SECRET)
    signed = []
    for spec in SPECS:
        reading = Reading(device=key.address, meter=meter_id(spec.meter_path), seq=spec.seq,
                          timestamp=spec.timestamp, quantity=spec.quantity, value=spec.value,
                          salt=spec.salt)
        signed.append(key.sign_reading(reading, DOMAIN, spec.meter_path))
    batch = key.close_batch(BATCH_SEQ, signed, DOMAIN)
    return Example(
        key=key,
        signed=tuple(signed),
        batch=batch,
        single=bundle_for_readings(batch, DOMAIN, [0]),
        multi=bundle_for_readings(batch, DOMAIN, MULTI_POSITIONS),
        batch_file=BatchFile.of(batch, DOMAIN),
    )


# -- rendering helpers ----------------------------------------------------------------------------


def h(data: bytes) -> str:
    return "0x" + data.hex()


def word(value: int, *, signed: bool = False) -> bytes:
    return value.to_bytes(32, "big", signed=signed)


def fenced(lines: list[str], lang: str = "text") -> str:
    return "\n".join([f"```{lang}", *lines, "```"])


def _label_of(example: Example, leaf: bytes) -> str:
    for spec, s in zip(SPECS, example.signed, strict=True):
        if leaf_hash(s.reading) == leaf:
            return f"leaf {spec.label}"
    return "inner node"


# -- sections -------------------------------------------------------------------------------------


def section_quantities(example: Example) -> str:
    rows = ["| code | unit | kind | signed | what it measures | bytes32 (hex) |",
            "|---|---|---|---|---|---|"]
    for q in QUANTITIES.values():
        rows.append(f"| `{q.code}` | {q.unit} | {q.kind.value} | {'yes' if q.signed else 'no'} "
                    f"| {q.description} | `{h(q.code_bytes)}` |")
    return "\n".join(rows)


def section_constants(example: Example) -> str:
    sample_words = _domain_words(SAMPLE_DOMAIN)
    return fenced([
        f"READING_TYPE        = {READING_TYPE}",
        f"READING_TYPEHASH    = keccak256(READING_TYPE) = {h(READING_TYPEHASH)}",
        f"BATCH_TYPE          = {BATCH_TYPE}",
        f"BATCH_TYPEHASH      = keccak256(BATCH_TYPE)   = {h(BATCH_TYPEHASH)}",
        f"DOMAIN_TYPE         = {DOMAIN_TYPE}",
        f"DOMAIN_TYPEHASH     = keccak256(DOMAIN_TYPE)  = {h(DOMAIN_TYPEHASH)}",
        f'keccak256("{DOMAIN_NAME}")  = {h(keccak256(DOMAIN_NAME.encode()))}',
        f'keccak256("{DOMAIN_VERSION}")         = {h(keccak256(DOMAIN_VERSION.encode()))}',
        f"SAMPLE domain       = chainId 0, verifyingContract {format_address(bytes(20))}",
        f"SAMPLE encoding     = {h(b''.join(w for _, w in sample_words))}",
        f"SAMPLE separator    = {h(SAMPLE_DOMAIN.separator)}",
    ])


def section_records(example: Example) -> str:
    """Section 9.1: the record structs' type strings and type hashes."""
    lines = []
    for cls in (Gap, MeterChange, EmissionSummary):
        lines += [f"{cls.__name__}:", f"  type     = {cls.TYPE}",
                  f"  typeHash = {h(cls.TYPEHASH)}"]
    lines += [
        f'errorClass "timeout" as bytes32      = {h(encode_code("timeout"))}',
        f'source "electricity.grid" as bytes32 = {h(encode_code("electricity.grid"))}',
        f'note of the empty text, keccak256("") = {h(note_hash(""))}',
        f'site id of "demo-co/wuxi-plant"       = {h(site_id("demo-co/wuxi-plant"))}',
    ]
    return fenced(lines)


def _domain_words(domain: Domain) -> list[tuple[str, bytes]]:
    return [
        ("DOMAIN_TYPEHASH", DOMAIN_TYPEHASH),
        (f'keccak256("{DOMAIN_NAME}")', keccak256(DOMAIN_NAME.encode())),
        (f'keccak256("{DOMAIN_VERSION}")', keccak256(DOMAIN_VERSION.encode())),
        (f"chainId {domain.chain_id}", word(domain.chain_id)),
        ("verifyingContract", bytes(12) + domain.verifying_contract),
    ]


def section_domain(example: Example) -> str:
    words = _domain_words(DOMAIN)
    lines = [
        f"chainId           = {DOMAIN.chain_id}",
        f"verifyingContract = {format_address(DOMAIN.verifying_contract)}",
        "",
        "offset  word (32 bytes)                                                     meaning",
    ]
    for i, (meaning, w) in enumerate(words):
        lines.append(f"{32 * i:>6}  {w.hex()}  {meaning}")
    lines += [
        "",
        f"encoding (160 bytes) = {h(b''.join(w for _, w in words))}",
        f"domainSeparator      = keccak256(encoding) = {h(DOMAIN.separator)}",
    ]
    return fenced(lines)


def section_key(example: Example) -> str:
    return fenced([
        f"private key (TEST KEY, publicly known) = {h(TEST_SECRET)}",
        f"device address (EIP-55)                = {format_address(example.key.address)}",
    ])


def section_meter(example: Example) -> str:
    lines = []
    for path in (METER_MAIN, METER_CJK):
        raw = path.encode("utf-8")
        lines += [
            f"meterPath   = {path}",
            f"UTF-8 bytes = {h(raw)}  ({len(raw)} bytes)",
            f"meter       = keccak256(UTF-8 bytes) = {h(meter_id(path))}",
            "",
        ]
    return fenced(lines[:-1])


def section_reading(example: Example) -> str:
    r = example.worked.reading
    spec = SPECS[0]
    return fenced([
        f"device    = {format_address(r.device)}",
        f"meterPath = {example.worked.meter_path}",
        f"meter     = {h(r.meter)}",
        f"seq       = {r.seq}",
        f"timestamp = {r.timestamp}  (2025-01-01T00:00:00Z)",
        f"quantity  = {r.quantity}",
        f"value     = {r.value}",
        f'salt      = {h(r.salt)}  (keccak256("trustmrv-example-salt-{spec.label}"))',
    ])


def _struct_words(reading: Reading) -> list[tuple[str, bytes]]:
    encoded = encode_struct(reading)
    names = ["typeHash", "device", "meter", "seq", "timestamp", "quantity", "value", "salt"]
    return [(name, encoded[32 * i : 32 * (i + 1)]) for i, name in enumerate(names)]


def section_encoding(example: Example) -> str:
    r = example.worked.reading
    lines = ["offset  word (32 bytes)                                                     field"]
    for i, (name, w) in enumerate(_struct_words(r)):
        lines.append(f"{32 * i:>6}  {w.hex()}  {name}")
    lines += ["", f"encodeStruct (256 bytes) = {h(encode_struct(r))}"]
    return fenced(lines)


def section_signature(example: Example) -> str:
    s = example.worked
    sh = struct_hash(s.reading)
    digest = reading_digest(s.reading, DOMAIN)
    sig = s.signature
    r_int, s_int, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    assert recover_address(digest, sig) == s.reading.device
    return fenced([
        f"structHash      = keccak256(encodeStruct)         = {h(sh)}",
        "digest input    = 0x1901 ‖ domainSeparator ‖ structHash (66 bytes)",
        f"                = {h(EIP191_PREFIX + DOMAIN.separator + sh)}",
        f"digest          = keccak256(digest input)         = {h(digest)}",
        "",
        f"signature       = {h(sig)}",
        f"  r             = {h(sig[:32])}",
        f"  s             = {h(sig[32:64])}",
        f"  v             = {v} (0x{v:02x})",
        f"  n/2           = {h(word(SECP256K1_HALF_N))}",
        f"  s <= n/2      : {'yes (low s)' if 0 < s_int <= SECP256K1_HALF_N else 'NO'}",
        f"  0 < r < n     : {'yes' if 0 < r_int < SECP256K1_N else 'NO'}",
        f"  recovers      = {format_address(recover_address(digest, sig))}",
        "",
        "ecrecover precompile (address 0x01) input: digest ‖ uint256(v) ‖ r ‖ s (128 bytes)",
        f"                = {h(digest + word(v) + sig[:64])}",
        "expected output = the device address left-padded to 32 bytes",
        f"                = {h(bytes(12) + s.reading.device)}",
        "",
        f"leaf            = keccak256(structHash)           = {h(leaf_hash(s.reading))}",
    ])


def section_typed_data(example: Example) -> str:
    text = json.dumps(typed_data(example.worked.reading, DOMAIN), indent=2)
    # one type field per line: {"name": ..., "type": ...}
    text = re.sub(r'\{\n\s+("name": "[^"]+"),\n\s+("type": "[^"]+")\n\s+\}', r"{\1, \2}", text)
    return fenced(text.splitlines(), "json")


def section_negative(example: Example) -> str:
    b = example.signed[1].reading
    w = word(b.value, signed=True)
    return fenced([
        f"value {b.value} (reading B, {b.quantity})",
        f"as int256 word = 2^256 - {-b.value} = {w.hex()}",
        f"as uint256     = {int.from_bytes(w, 'big')}",
    ])


def section_batch(example: Example) -> str:
    tree = example.batch.tree
    n = tree.leaf_count
    leaves = tree.leaves
    lines = ["readings (batch order; every one signed by the device above, as in 6.3):"]
    for spec, signed in zip(SPECS, example.signed, strict=True):
        r = signed.reading
        lines += [
            f"  {spec.label}  meterPath {signed.meter_path}",
            f"     meter     {h(r.meter)}",
            f"     seq {r.seq}, timestamp {r.timestamp}, quantity {r.quantity}, value {r.value}",
            f'     salt      {h(r.salt)}  (keccak256("trustmrv-example-salt-{spec.label}"))',
            f"     signature {h(signed.signature)}",
        ]
    lines += ["", "batch order (position: reading, leaf):"]
    for i, spec in enumerate(SPECS):
        lines.append(f"  {i}: {spec.label} seq {spec.seq:<3} {h(leaves[i])}")
    lines += ["", "sorted ascending (as 256-bit numbers):"]
    for rank, leaf in enumerate(sorted(leaves)):
        lines.append(f"  sorted[{rank}] = {h(leaf)}  {_label_of(example, leaf)}")
    nodes = tree.inner_nodes()
    lines += ["", f"tree array ({2 * n - 1} nodes, leaves reversed at the end):"]
    all_nodes = nodes + [leaves[i] for i in sorted(range(n), key=tree.tree_index)]
    for i, node in enumerate(all_nodes):
        if i < n - 1:
            note = f"hashPair(tree[{2 * i + 1}], tree[{2 * i + 2}])"
        else:
            note = f"sorted[{2 * n - 2 - i}], {_label_of(example, node)}"
        lines.append(f"  tree[{i}] = {h(node)}  {note}")
    header = example.batch.header
    lines += [
        "",
        f"root          = tree[0] = {h(header.root)}",
        f"leafCount     = {header.leaf_count}",
        f"batchSeq      = {header.batch_seq}",
        f"fromTimestamp = {header.from_timestamp}",
        f"toTimestamp   = {header.to_timestamp}",
        f"leaf depths for {n} leaves: shallowest {leaf_depths(n)[0]}, deepest {leaf_depths(n)[1]}",
    ]
    return fenced(lines)


def section_proof(example: Example) -> str:
    tree = example.batch.tree
    position = 0
    index = tree.tree_index(position)
    path = tree.proof(position)
    node = tree.leaves[position]
    lines = [
        f"reading A: batch position {position}, tree index {index}, "
        f"proof length {len(path)}",
        f"start     node = leaf A = {h(node)}",
    ]
    for step, sibling in enumerate(path, start=1):
        first, second = (node, sibling) if node < sibling else (sibling, node)
        which = "node ‖ sibling" if node < sibling else "sibling ‖ node"
        lines += [
            f"step {step}    sibling = {h(sibling)}  ({_label_of(example, sibling)})",
            f"          smaller first: {which}",
            f"          keccak256({h(first + second)})",
        ]
        node = hash_pair(node, sibling)
        lines.append(f"          = {h(node)}")
    assert node == process_proof(tree.leaves[position], path) == tree.root
    lines.append(f"result    {h(node)} == batch root: {'yes' if node == tree.root else 'NO'}")
    return fenced(lines)


def section_multiproof(example: Example) -> str:
    tree = example.batch.tree
    multi, order = tree.multiproof(MULTI_POSITIONS)
    names = [SPECS[i].label for i in order]
    lines = [
        f"readings at batch positions {MULTI_POSITIONS} "
        f"({', '.join(SPECS[i].label for i in MULTI_POSITIONS)})",
        f"leaves (descending tree index): {', '.join(names)}",
    ]
    for name, leaf in zip(names, multi.leaves, strict=True):
        lines.append(f"  leaf {name} = {h(leaf)}")
    lines.append(f"proof      = [{', '.join(h(p) for p in multi.proof)}]")
    lines.append(f"proofFlags = [{', '.join(str(f).lower() for f in multi.proof_flags)}]")
    lines.append("")
    queue: deque[tuple[str, bytes]] = deque(zip((f"leaf {n}" for n in names), multi.leaves,
                                                strict=True))
    proof = deque(multi.proof)
    for step, flag in enumerate(multi.proof_flags, start=1):
        a_name, a = queue.popleft()
        if flag:
            b_name, b = queue.popleft()
            source = "flag true: second operand from the queue"
        else:
            b = proof.popleft()
            b_name, source = _label_of(example, b), "flag false: second operand from proof"
        node = hash_pair(a, b)
        lines.append(f"step {step}: {source}")
        lines.append(f"        hashPair({a_name}, {b_name}) = {h(node)}")
        queue.append((f"node{step}", node))
    root = queue[0][1]
    assert root == process_multiproof(multi.leaves, multi.proof, multi.proof_flags) == tree.root
    lines.append(f"result: {h(root)} == batch root: {'yes' if root == tree.root else 'NO'}")
    lines += ["", "in the bundle:", *json.dumps(example.multi.to_json()["proof"], indent=2)
              .splitlines()]
    return fenced(lines)


def section_header(example: Example) -> str:
    header = example.batch.header
    encoded = encode_batch_struct(header)
    names = ["typeHash", "device", "batchSeq", "root", "leafCount", "fromTimestamp",
             "toTimestamp"]
    lines = ["offset  word (32 bytes)                                                     field"]
    for i, name in enumerate(names):
        lines.append(f"{32 * i:>6}  {encoded[32 * i:32 * (i + 1)].hex()}  {name}")
    sh = batch_struct_hash(header)
    digest = batch_digest(header, DOMAIN)
    signature = example.batch.header_signature
    assert signature is not None
    lines += [
        "",
        f"encodeStruct (224 bytes) = {h(encoded)}",
        f"structHash      = keccak256(encodeStruct)         = {h(sh)}",
        f"digest          = keccak256(0x1901 ‖ domainSeparator ‖ structHash) = {h(digest)}",
        f"signature       = {h(signature)}",
        f"  recovers      = {format_address(recover_address(digest, signature))}",
    ]
    return fenced(lines)


def section_bundle(example: Example) -> str:
    return fenced(example.single.dumps().decode("utf-8").rstrip("\n").splitlines(), "json")


def section_batch_file(example: Example) -> str:
    text = json.dumps(example.batch_file.to_json(), indent=1)
    return fenced(text.splitlines(), "json")


SECTIONS: dict[str, Callable[[Example], str]] = {
    "quantities": section_quantities,
    "constants": section_constants,
    "domain": section_domain,
    "key": section_key,
    "meter": section_meter,
    "reading": section_reading,
    "encoding": section_encoding,
    "signature": section_signature,
    "typed-data": section_typed_data,
    "negative": section_negative,
    "batch": section_batch,
    "header": section_header,
    "proof": section_proof,
    "multiproof": section_multiproof,
    "bundle": section_bundle,
    "batch-file": section_batch_file,
    "records": section_records,
}


def render_sections(example: Example | None = None) -> dict[str, str]:
    """Every section's text, exactly as pasted into the document."""
    example = example or build_example()
    return {name: render(example) for name, render in SECTIONS.items()}


# -- the document ---------------------------------------------------------------------------------

_BLOCK_RE = re.compile(
    r"(<!-- protocol_example:begin (?P<name>[a-z-]+) -->\n)(?P<body>.*?)"
    r"(\n<!-- protocol_example:end (?P=name) -->)",
    re.DOTALL,
)


def document_blocks(text: str) -> dict[str, str]:
    """The marked blocks of a document, by section name."""
    blocks: dict[str, str] = {}
    for match in _BLOCK_RE.finditer(text):
        if match["name"] in blocks:
            raise ValueError(f"section {match['name']!r} is marked twice")
        blocks[match["name"]] = match["body"]
    return blocks


def update_document(text: str, sections: dict[str, str]) -> str:
    """``text`` with every marked block replaced by the current section output."""
    missing = set(sections) - set(document_blocks(text))
    if missing:
        raise ValueError(f"document lacks markers for: {', '.join(sorted(missing))}")

    def replace(match: re.Match[str]) -> str:
        return match[1] + sections[match["name"]] + match[4]

    return _BLOCK_RE.sub(replace, text)


def check_document(text: str, sections: dict[str, str]) -> list[str]:
    """Names of sections whose pasted block differs from the computed one (or is missing)."""
    blocks = document_blocks(text)
    stale = [name for name, body in sections.items() if blocks.get(name) != body]
    return stale + sorted(set(blocks) - set(sections))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=sorted(SECTIONS), help="print only this section")
    parser.add_argument("--update", type=Path, metavar="DOC", help="rewrite DOC's marked blocks")
    parser.add_argument("--check", type=Path, metavar="DOC", help="exit 1 if DOC is stale")
    args = parser.parse_args(argv)
    sections = render_sections()
    if args.update:
        text = args.update.read_text(encoding="utf-8")
        args.update.write_text(update_document(text, sections), encoding="utf-8")
        return 0
    if args.check:
        stale = check_document(args.check.read_text(encoding="utf-8"), sections)
        if stale:
            print(f"{args.check}: stale section(s): {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    for name, body in sections.items():
        if args.section in (None, name):
            print(f"## {name}\n{body}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
