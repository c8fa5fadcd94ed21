"""Typed errors of TrustMRV.

Every failure the system reports derives from :class:`MrvError`, grouped by the phase in which it
happens: decoding input, signatures, Merkle inclusion, keys, configuration, and the verification
steps of a proof bundle. Where callers would naturally expect a builtin exception, the error also
derives from it (``InvalidReading`` is a ``ValueError``), so ``except ValueError`` keeps working.

Messages carry the expected and the actual value wherever there is one, so an operator can tell
what was wrong without a debugger.
"""

from __future__ import annotations

from typing import ClassVar


class MrvError(Exception):
    """Root of every TrustMRV error."""


# --- decoding: bytes and JSON into typed values --------------------------------------------------


class DecodeError(MrvError, ValueError):
    """Input could not be decoded into a well-formed value."""


class InvalidHex(DecodeError):
    """A hex string is malformed or has the wrong length."""


class InvalidAddress(DecodeError):
    """An Ethereum address is malformed or fails its EIP-55 checksum."""


class InvalidCode(DecodeError):
    """A text code (methodology id, emission source, error class) is not 1-32 printable ASCII
    characters without spaces, so it has no ``bytes32`` form."""


class InvalidReading(DecodeError):
    """A reading field is out of range, or the reading is inconsistent."""


class UnknownQuantity(InvalidReading):
    """A quantity code is not in the registry."""


class InvalidMeterPath(InvalidReading):
    """A meter path (or a site path) breaks the unified-namespace rules."""


class InvalidRecord(DecodeError):
    """A signed record (gap, meter change, emission summary: ``mrv_core.records``) has a field
    out of range, or its fields contradict each other."""


class FormatError(DecodeError):
    """A wire document (proof bundle, batch file, request body) or one of its values breaks its
    format.

    ``where`` is a JSON-path-like location (``$.readings[2].salt``), or the field's name when the
    value was checked outside a document (``leafCount``); ``problem`` says what is wrong there.
    The phases below have subclasses of their own; a document decoder re-raises them with the
    value's JSON path, keeping the class (``mrv_core.wire.field``).
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class DocumentTooLarge(FormatError):
    """A document's bytes, compressed or decompressed, exceed their limit (an HTTP server answers
    413)."""


class UnsupportedEncoding(FormatError):
    """A request body's Content-Encoding or Content-Type is not the one its format requires (an
    HTTP server answers 415)."""


class InvalidInteger(FormatError):
    """A decimal integer string is not canonical or lies outside its Solidity type's range."""


class InvalidDomain(FormatError):
    """An EIP-712 domain value is out of range (chainId not a uint256, verifyingContract not
    20 bytes)."""


class InvalidBatchHeader(FormatError):
    """A batch header field is out of range, its time span is reversed, or its signature is not
    65 bytes."""


# --- cryptography --------------------------------------------------------------------------------


class CertificateError(MrvError, ValueError):
    """A TLS key, certificate signing request or certificate is malformed, is not what the
    TrustMRV PKI issues (no device address, wrong constraints), or cannot be written."""


class SignatureError(MrvError, ValueError):
    """A signature is malformed, non-canonical, or does not recover a valid key."""


class MerkleError(MrvError, ValueError):
    """A Merkle tree, proof or multiproof is malformed (wrong index, inconsistent sizes)."""


# --- keys and configuration ----------------------------------------------------------------------


class KeyFileError(MrvError):
    """A key file cannot be read, written or decrypted."""


class ConfigError(MrvError):
    """The configuration or the invocation is unusable (missing password, bad path...)."""


# --- methodologies and accounting ----------------------------------------------------------------


class MethodologyError(MrvError):
    """A methodology is malformed, or an emission computation under it failed.

    The accounting package (``accounting_rules``) derives its errors from this one: unit
    conversion, methodology definitions and data files, and the calculator's errors, which map one
    to one onto the methodology contract's custom errors.
    """


# --- verification --------------------------------------------------------------------------------


class VerificationError(MrvError):
    """A proof bundle failed verification at ``step``.

    Verification fails closed: the verifier raises this (or a subclass) and never returns a bool
    that a caller could forget to check. ``step`` names the failed step as listed in
    ``mrv_core.verify.STEPS``.
    """

    def __init__(self, step: str, detail: str) -> None:
        self.step = step
        self.detail = detail
        super().__init__(f"step '{step}' failed: {detail}")


# --- chain ---------------------------------------------------------------------------------------


class ChainError(MrvError):
    """Talking to the chain failed, or the chain refused what was asked.

    ``receipt`` is the receipt of a transaction that was mined and failed, else ``None``.
    """

    receipt: object = None


class ChainUnavailable(ChainError):
    """The JSON-RPC endpoint could not be reached, even after the configured retries."""


class WrongChain(ChainError):
    """The node, deployment file or document belong to different chains or deployments."""


class TransactionFailed(ChainError):
    """A transaction was mined but failed without a decodable reason, or was never mined."""


class InvalidConsent(MrvError, ValueError):
    """A device consent (``mrv_core.consent``) is malformed, or signed by another key."""


class RefusedBeforeSending(ChainError, ValueError):
    """The chain client refused a request before sending anything: its arguments cannot succeed
    (a batch of one device sent from another account, a consent made for another enterprise or
    site, a signature of the wrong length). Nothing reached the node; no nonce was used."""


class ContractRevert(ChainError):
    """A contract reverted with a custom error, decoded from the compiled artifacts' ABIs.

    ``error`` is the Solidity error name (``AnchorRegistryBatchSeqMismatch``) and ``args`` its
    arguments by name. Every error name has its own subclass, so callers can write
    ``except ContractRevert.named("AnchorRegistryBatchSeqMismatch")``.
    """

    _classes: ClassVar[dict[str, type[ContractRevert]]] = {}

    def __init__(self, error: str, args: dict[str, object]) -> None:
        self.error = error
        self.args_by_name = dict(args)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"reverted with {error}({shown})")

    @classmethod
    def named(cls, error: str) -> type[ContractRevert]:
        """The subclass for one Solidity error name (created on first use)."""
        found = cls._classes.get(error)
        if found is None:
            # Threads decode reverts (the ledger API's threadpool, the relayer's requests): of
            # two first uses, the class stored first wins for both (``setdefault`` is atomic),
            # so no revert is raised as a class ``named`` no longer returns.
            found = cls._classes.setdefault(
                error, type(error, (ContractRevert,), {"__module__": __name__}))
        return found

    @classmethod
    def of(cls, error: str, args: dict[str, object]) -> ContractRevert:
        """An instance of the subclass for ``error``."""
        return cls.named(error)(error, args)


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
