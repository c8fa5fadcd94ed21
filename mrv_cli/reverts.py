"""Contract reverts as an operator reads them: roles by name, and the remedy where one is known."""

from __future__ import annotations

import re

from mrv_core.chain import ROLES
from mrv_core.errors import ContractRevert, MrvError
from mrv_core.hashing import keccak256

__all__ = ["describe"]

#: Role hashes as the contracts define them (Roles.sol: keccak256 of the name; the admin's 0x00).
ROLE_NAMES = {"0x" + keccak256(name.encode()).hex(): name for name in ROLES} | {
    "0x" + bytes(32).hex(): "DEFAULT_ADMIN_ROLE"}
_ROLE_ARGUMENT = re.compile(r"\b(\w*[rR]ole)=(0x[0-9a-f]{64})\b")

_REMEDIES = {
    "AnchorRegistryEnterpriseStopped":
        "the device's enterprise lost ENTERPRISE_ROLE and stays stopped until the consortium "
        "admin grants the role again (`mrv chain grant enterprise ADDRESS`) and then runs "
        "`mrv chain reactivate ADDRESS`",
    "ReportRegistryPeriodNotEnded":
        "reports cover closed periods: submit once the chain's time is past the period's end",
    "ReportRegistryInvalidPeriod": "a report's period is [start, end) with start before end",
    "ReportRegistryMethodologyMismatch":
        "the report must name the methodology version the MethodologyRegistry resolves for the "
        "period's start (`mrv accounting compute --rpc ...` shows it): build the report again",
    "MethodologyRegistryNoVersionInForce":
        "no version of the report's methodology is in force at the period's start",
    "ReportRegistryEnterpriseMismatch": "an enterprise submits only its own reports",
    "ReportRegistryReportExists":
        "this very report is on chain already; a correction is a new report that supersedes it",
    "ReportRegistryAlreadySuperseded":
        "a correction supersedes the latest report of its line: supersede the supersededBy "
        "report instead",
    "ReportRegistryForeignReport": "a report supersedes only reports of its own enterprise",
    "ReportRegistryUnknownReport": "no report with this hash is on chain",
    "ReportRegistryAlreadyAttested": "a regulator attests a report once",
    "ReportRegistrySelfAttestation": "an enterprise does not attest its own report",
}


def describe(error: MrvError) -> str:
    """``error``'s message; for a :class:`ContractRevert`, role arguments by name and the known
    remedy appended after ``: ``."""
    text = str(error)
    if not isinstance(error, ContractRevert):
        return text
    text = _ROLE_ARGUMENT.sub(lambda m: f"{m[1]}={ROLE_NAMES.get(m[2], m[2])}", text)
    remedy = _REMEDIES.get(error.error)
    if error.error.endswith("MissingRole"):  # every registry's (account, role) error
        held = error.args_by_name.get("role")
        role = ROLE_NAMES.get("0x" + held.hex(), "") if isinstance(held, bytes) else ""
        account = error.args_by_name.get("account")
        if role in ROLES:
            remedy = (f"{account} must hold {role} first: the consortium admin grants it with "
                      f"`mrv chain grant {role.removesuffix('_ROLE').lower()} {account}`")
    return text if remedy is None else f"{text}; {remedy}"
