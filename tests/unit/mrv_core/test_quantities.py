import pytest

from mrv_core.errors import UnknownQuantity
from mrv_core.quantities import (
    QUANTITIES,
    QuantityKind,
    decode_quantity,
    encode_quantity_code,
    quantity_by_code,
)

REQUIRED = {
    "energy.active.import:Wh", "energy.active.export:Wh", "energy.reactive.import:varh",
    "power.active:W", "volume.gas:dm3", "mass.fuel:g", "heat:kJ", "volume.water:dm3",
}


def test_registry_has_the_required_codes() -> None:
    assert REQUIRED <= set(QUANTITIES)


def test_codes_are_solidity_bytes32_literals() -> None:
    # bytes32("heat:kJ") in Solidity: the ASCII bytes, then zeros.
    assert encode_quantity_code("heat:kJ") == b"heat:kJ" + bytes(25)
    for code, quantity in QUANTITIES.items():
        assert len(quantity.code_bytes) == 32
        assert decode_quantity(quantity.code_bytes) is quantity
        assert quantity.unit == code.rsplit(":", 1)[1]


def test_cumulative_registers_are_unsigned() -> None:
    for quantity in QUANTITIES.values():
        if quantity.kind is QuantityKind.CUMULATIVE:
            assert not quantity.signed, quantity.code


@pytest.mark.parametrize("code", ["energy.active.import:kWh", "", "x" * 33, "heat:kJ\x00", "热:kJ"])
def test_unknown_or_malformed_codes_are_rejected(code: str) -> None:
    with pytest.raises(UnknownQuantity):
        quantity_by_code(code)


def test_unknown_bytes32_is_rejected() -> None:
    with pytest.raises(UnknownQuantity):
        decode_quantity(encode_quantity_code("energy.active.import:kWh"))
