"""The on-chain ``Report`` of a report document and its EIP-712 struct hash (the report hash).

``contracts/interfaces/IReportRegistry.sol`` declares the struct; the registry stores a report
under ``hashReport(report) = keccak256(abi.encode(REPORT_TYPEHASH, report))``, its EIP-712 struct
hash (every field is static, so ``encodeData`` is the plain ABI encoding). :func:`report_hash`
computes the same in Python; the integration test compares it with the contract's ``hashReport``
by ``eth_call``.

From a document (:func:`report_of`, spec of issue 11 section 2): ``site`` is the site id (zero
for the whole enterprise), ``methodologyId`` the code's ``bytes32``, ``scope1``/``scope2``/
``total`` the document's totals, ``batches`` its batches root, ``document`` its
:func:`~accounting_rules.reports.document.document_hash`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mrv_core.codec import UINT64_MAX, UINT256_MAX, format_address, parse_address
from mrv_core.eip712 import Domain, typed_digest
from mrv_core.hashing import keccak256

from ..codes import ZERO32, encode_code
from .document import ReportDocument, document_hash
from .fields import check_address, check_bytes, check_int

__all__ = ["REPORT_TYPE", "REPORT_TYPEHASH", "Report", "report_digest", "report_hash",
           "report_of"]

REPORT_TYPE = (
    "Report(address enterprise,bytes32 site,uint64 periodStart,uint64 periodEnd,"
    "bytes32 methodologyId,address methodology,uint256 scope1,uint256 scope2,uint256 total,"
    "bytes32 batches,bytes32 document,bytes32 supersedes)"
)
REPORT_TYPEHASH = keccak256(REPORT_TYPE.encode("ascii"))


@dataclass(frozen=True, slots=True)
class Report:
    """The ``IReportRegistry.Report`` struct: addresses 20 bytes, ``bytes32`` fields 32 bytes,
    periods ``uint64`` Unix seconds, figures ``uint256`` grams CO2e."""

    enterprise: bytes
    site: bytes
    period_start: int
    period_end: int
    methodology_id: bytes
    methodology: bytes
    scope1: int
    scope2: int
    total: int
    batches: bytes
    document: bytes
    supersedes: bytes
    _WORDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("enterprise", "address"), ("site", "bytes32"), ("period_start", "uint64"),
        ("period_end", "uint64"), ("methodology_id", "bytes32"), ("methodology", "address"),
        ("scope1", "uint256"), ("scope2", "uint256"), ("total", "uint256"),
        ("batches", "bytes32"), ("document", "bytes32"), ("supersedes", "bytes32"))

    def __post_init__(self) -> None:
        for name, kind in self._WORDS:
            value = getattr(self, name)
            if kind == "address":
                check_address(value, name)
            elif kind == "bytes32":
                check_bytes(value, name, 32)
            else:
                check_int(value, name, 0, UINT64_MAX if kind == "uint64" else UINT256_MAX)

    def encode(self) -> bytes:
        """``abi.encode(report)``: twelve 32-byte words."""
        words = []
        for name, kind in self._WORDS:
            value = getattr(self, name)
            words.append(bytes(12) + value if kind == "address"
                         else value if kind == "bytes32" else value.to_bytes(32, "big"))
        return b"".join(words)

    def as_abi(self) -> tuple[Any, ...]:
        """The struct as web3 takes and returns it: a tuple, addresses EIP-55 text."""
        return tuple(format_address(getattr(self, name)) if kind == "address"
                     else getattr(self, name) for name, kind in self._WORDS)

    @classmethod
    def from_abi(cls, value: Any) -> Report:
        """The struct of a web3 result (a tuple or list in field order)."""
        fields = list(value)
        for index, (_, kind) in enumerate(cls._WORDS):
            if kind == "address":
                fields[index] = parse_address(str(fields[index]))
            elif kind == "bytes32":
                fields[index] = bytes(fields[index])
        return cls(*fields)


def report_of(doc: ReportDocument) -> Report:
    """The on-chain Report committing to ``doc``."""
    return Report(
        enterprise=doc.enterprise, site=ZERO32 if doc.site is None else doc.site.id,
        period_start=doc.period.start, period_end=doc.period.end,
        methodology_id=encode_code(doc.methodology.id), methodology=doc.methodology.address,
        scope1=doc.totals.scope1, scope2=doc.totals.scope2, total=doc.totals.total,
        batches=doc.batches.root, document=document_hash(doc), supersedes=doc.supersedes)


def report_hash(report: Report | ReportDocument) -> bytes:
    """The report hash: EIP-712 ``hashStruct(report)`` = ``keccak256(REPORT_TYPEHASH ||
    abi.encode(report))``, the registry's ``hashReport`` (a document: that of its Report)."""
    if isinstance(report, ReportDocument):
        report = report_of(report)
    return keccak256(REPORT_TYPEHASH + report.encode())


def report_digest(hash_: bytes, domain: Domain) -> bytes:
    """The registry's ``reportDigest``: the EIP-712 digest of a report hash under ``domain``
    (name TrustMRV, version 1, the chain id, the ReportRegistry's address)."""
    return typed_digest(hash_, domain)
