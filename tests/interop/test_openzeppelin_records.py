"""Record leaves are OpenZeppelin StandardMerkleTree leaves, like readings' leaves.

For each record kind, ``@openzeppelin/merkle-tree`` hashes the value list ``(typeHash, field1,
...)`` with the struct's field types; its leaf hashes, root and proofs must equal ours. (A tree
that mixes readings and records has leaves of different encodings, which one StandardMerkleTree
cannot hold; our tree takes leaf hashes, and the reading tests cover the node hashing.)
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from factories import make_records
from mrv_core import MerkleTree
from mrv_core.records import RECORD_TYPES, Record, record_leaf

pytestmark = pytest.mark.interop


def _oz_values(record: Record) -> list[str]:
    """The leaf value list as the library takes it: hex for bytes, decimal text for integers."""
    values = ["0x" + record.TYPEHASH.hex()]
    for spec in record.FIELDS:
        word = record.encode()[32 * (len(values)):32 * (len(values) + 1)]
        if spec.kind == "address":
            values.append("0x" + word[12:].hex())
        elif spec.abi.startswith(("uint", "int")):
            values.append(str(getattr(record, spec.attr)))
        else:
            values.append("0x" + word.hex())
    return values


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_record_leaves_and_roots_match_openzeppelin(kind: str, oz_merkle: Any) -> None:
    rng = random.Random(kind)
    records = [r for _ in range(6) for r, _, _ in make_records(rng)
               if type(r).__name__ == kind][:9]
    cls = RECORD_TYPES[kind]
    encoding = ("bytes32", *(spec.abi for spec in cls.FIELDS))
    [result] = oz_merkle([{"values": [_oz_values(r) for r in records], "leafHashes": True,
                           "proofs": list(range(len(records)))}], encoding)
    leaves = [record_leaf(r) for r in records]
    tree = MerkleTree(leaves)
    assert result["leafHashes"] == ["0x" + leaf.hex() for leaf in leaves]
    assert result["root"] == "0x" + tree.root.hex()
    assert result["proofs"] == [["0x" + n.hex() for n in tree.proof(i)]
                                for i in range(len(records))]
