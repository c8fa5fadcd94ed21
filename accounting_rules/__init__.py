"""accounting_rules: methodologies as data and the fixed-point reference calculator.

docs/accounting.md is the normative specification. Each methodology version is a data file in
``accounting_rules/data`` (:mod:`.datafile`, loaded by :mod:`.registry`) made of source specs and
factor rows with their citations (:mod:`.model`); :func:`compute` (:mod:`.calculator`) gives, for
every input, the same integers and the same failures as the ``FactorMethodology`` contract, whose
constructor arguments :mod:`.onchain` builds. :mod:`.units` converts amounts such as
``"10000 Nm3"`` exactly into a source's integer unit. :mod:`.counters` turns the readings of a
cumulative register into the energy of a period (rollovers, meter changes, bridged gaps),
:mod:`.periods` gives calendar hours, days, months and years of any IANA zone (Beijing by
default) and :mod:`.summaries` makes the ``EmissionSummary`` records a device signs.
:mod:`.coverage` maps an emission source to the methodology that covers it and its unit.

Pure and typed: no chain, files only under ``data/``; except :mod:`.publishing` and
:mod:`.versions` (the versions published in the MethodologyRegistry, checked against the data
files, shared by the edge node and the ledger API), which read the chain.
"""

from .calculator import Activity, Emission, Result, activity, compute
from .codes import ZERO32
from .errors import (
    CONSTRUCTOR_ERROR,
    CONTRACT_ERROR,
    AccountingError,
    AccountingOverflow,
    DataFileError,
    DefinitionError,
    DuplicateOverride,
    InvalidActivity,
    InvalidPeriod,
    MissingEvidence,
    NoFactorForPeriod,
    PublishedMismatch,
    UnitError,
    UnknownFactor,
    UnknownMethodology,
    UnknownSource,
    error_from_contract,
)
from .model import OPEN_ENDED, Citation, FactorRow, Methodology, SourceKind, SourceSpec
from .registry import latest_version, load_document, load_methodology, methodologies
from .units import to_amount

__all__ = [
    "CONSTRUCTOR_ERROR",
    "CONTRACT_ERROR",
    "OPEN_ENDED",
    "ZERO32",
    "AccountingError",
    "AccountingOverflow",
    "Activity",
    "Citation",
    "DataFileError",
    "DefinitionError",
    "DuplicateOverride",
    "Emission",
    "FactorRow",
    "InvalidActivity",
    "InvalidPeriod",
    "Methodology",
    "MissingEvidence",
    "NoFactorForPeriod",
    "PublishedMismatch",
    "Result",
    "SourceKind",
    "SourceSpec",
    "UnitError",
    "UnknownFactor",
    "UnknownMethodology",
    "UnknownSource",
    "activity",
    "compute",
    "error_from_contract",
    "latest_version",
    "load_document",
    "load_methodology",
    "methodologies",
    "to_amount",
]
