"""The chain steps of report bundle verification, after the offline steps (:mod:`.verify`).

Everything is read by ``eth_call`` (and one receipt per anchoring transaction) from a node the
verifier chooses, against the deployment file it trusts; nothing comes from the enterprise. The
steps, in order, each failing closed with :class:`~mrv_core.errors.VerificationError`:

8.  ``chain``            the node and the deployment are the document's chain and registries
                         (ReportRegistry, AnchorRegistry, MethodologyRegistry)
9.  per batch: ``chain``/``anchor``/``device`` (``mrv_core.chain.verify.verify_anchor``: the
    anchoring transaction is confirmed and its event carries exactly the batch's header, whose
    root the registry stores; the device was active then and is the report's enterprise's, at
    its site for a site report), then ``inclusion``: the
    AnchorRegistry accepts the multiproof of the leaves recomputed from the readings and records
10. ``methodology``      the MethodologyRegistry resolves the methodology id at the period start
                         to the document's address and version, and the code there still hashes
                         to the hash pinned at publication
11. ``onchain-compute``  the registry's ``compute`` (``eth_call``) over the document's lines
                         gives every line's grams and the totals
12. ``report``           the ReportRegistry computes the same hash for the document's Report,
                         holds a report under it and stored exactly these fields; its
                         supersession and attestations are returned (:class:`.onchain.ReportStatus`)

A node that cannot be reached raises the chain's error (``ChainError``), as the chain steps of
proof bundles do: the check could not be made, which is not a verdict on the bundle.
"""

from __future__ import annotations

from dataclasses import replace

from mrv_core.chain import System
from mrv_core.chain.verify import verify_anchor
from mrv_core.codec import format_address, format_hex, parse_address
from mrv_core.errors import ContractRevert, VerificationError

from ..errors import AccountingError
from ..publishing import compute_on_chain, live_code_hash, resolve
from .bundle import ProvenBatch, ReportBundle
from .document import ReportDocument, activities
from .onchain import ReportStatus, read_report
from .struct import report_of
from .verify import VerifiedReportBundle, check_figures, verify_report_bundle

__all__ = ["CHAIN_STEPS", "verify_report_on_chain"]

CHAIN_STEPS: dict[str, str] = {
    "chain": "the node and deployment are the report's chain and registries",
    "anchor": "each batch's anchoring transaction carries exactly its header",
    "device": "each device was registered and active when its batch was anchored",
    "inclusion": "the AnchorRegistry accepts each batch's multiproof",
    "methodology": "the registry resolves the methodology id at the period start to the "
                   "document's version, code unchanged",
    "onchain-compute": "the registry's compute gives every line's grams and the totals",
    "report": "the ReportRegistry holds the report hash with exactly these fields",
}
def verify_report_on_chain(bundle: ReportBundle, system: System) -> VerifiedReportBundle:
    """Every offline step, then steps 8-12 against ``system``; returns the bundle with its
    :class:`.onchain.ReportStatus`."""
    verified = verify_report_bundle(bundle)
    doc = bundle.report

    # 8. chain
    contracts = system.deployment.contracts
    expected = (system.chain.chain_id, contracts["ReportRegistry"], contracts["AnchorRegistry"],
                contracts["MethodologyRegistry"])
    named = (doc.chain.chain_id, doc.chain.report_registry, doc.chain.anchor_registry,
             doc.chain.methodology_registry)
    if named != expected:
        raise VerificationError("chain", f"the report names chainId {named[0]} with registries "
                                         f"{', '.join(format_address(a) for a in named[1:])}; the "
                                         f"node and deployment are chainId {expected[0]} with "
                                         f"{', '.join(format_address(a) for a in expected[1:])}")

    # 9. each batch's anchor and inclusion
    for batch, leaves in zip(bundle.batches, verified.leaves, strict=True):
        header = batch.header
        verify_anchor(system, batch.anchor, header)
        _check_device(system, batch, doc)
        if not system.verify_readings(header.device, header.batch_seq, leaves,
                                      batch.proof.proof, batch.proof.proof_flags):
            raise VerificationError("inclusion", f"{batch.name()}: the AnchorRegistry rejects "
                                                 "the multiproof")
    _check_methodology(bundle, system)
    return replace(verified, chain=_check_report(bundle, system))


def _check_device(system: System, batch: ProvenBatch, doc: ReportDocument) -> None:
    """Step 9, ``device``, continued: the DeviceRegistry records the batch's device under the
    report's enterprise (and at its site, for a site report)."""
    record = system.device_record(batch.header.device)
    enterprise, site = parse_address(str(record[0])), bytes(record[6])
    if enterprise != doc.enterprise:
        raise VerificationError("device", f"{batch.name()}: the device belongs to "
                                          f"{format_address(enterprise)}, the report to "
                                          f"{format_address(doc.enterprise)}")
    if doc.site is not None and site != doc.site.id:
        raise VerificationError("device", f"{batch.name()}: the device is registered at site "
                                          f"{format_hex(site)}, the report is for "
                                          f"{doc.site.path} ({format_hex(doc.site.id)})")


def _check_methodology(bundle: ReportBundle, system: System) -> None:
    """Steps 10 and 11."""
    doc = bundle.report
    ref = doc.methodology
    # 10. methodology
    try:
        resolved = resolve(system, ref.id, doc.period.start)
    except ContractRevert as exc:  # no version in force, or its code changed
        raise VerificationError("methodology", f"{ref.id} at {doc.period.start}: {exc}") from None
    stated = (format_address(ref.address), ref.version)
    if (resolved.address, resolved.version) != stated:
        raise VerificationError("methodology", f"{ref.id} at {doc.period.start} resolves to "
                                               f"v{resolved.version} at {resolved.address}, the "
                                               f"document names v{ref.version} at {stated[0]}")
    live = live_code_hash(system, resolved.address)
    if live != resolved.code_hash:
        raise VerificationError("methodology", f"the code at {resolved.address} hashes to "
                                               f"{format_hex(live)}, pinned "
                                               f"{format_hex(resolved.code_hash)}: it changed")
    # 11. onchain-compute
    try:
        result = compute_on_chain(system, resolved.address, doc.period.start, doc.period.end,
                                  activities(doc))
    except (AccountingError, ContractRevert) as exc:  # a revert: the figures cannot be had
        raise VerificationError("onchain-compute", str(exc)) from None
    check_figures("onchain-compute", bundle, result.emissions,
                  (result.scope1, result.scope2, result.total))


def _check_report(bundle: ReportBundle, system: System) -> ReportStatus:
    """Step 12."""
    report = report_of(bundle.report)
    computed = bytes(system.call("eth_call",
                                 system.reports.functions.hashReport(report.as_abi()).call))
    if computed != bundle.report_hash:
        raise VerificationError("report", f"the ReportRegistry hashes the document's Report to "
                                          f"{format_hex(computed)}, the bundle says "
                                          f"{format_hex(bundle.report_hash)}")
    status = read_report(system, bundle.report_hash)
    if status is None:
        raise VerificationError("report", f"the ReportRegistry holds no report "
                                          f"{format_hex(bundle.report_hash)}")
    if status.report != report:
        raise VerificationError("report", f"report {format_hex(bundle.report_hash)} is stored "
                                          f"as {status.report}, the document's is {report}")
    return status
