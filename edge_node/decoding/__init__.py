"""Decoding: registers of a profile point into integer values (and back), and read planning.

:mod:`.registers` holds the pure, exact conversion (rounding half to even, documented there);
:mod:`.plan` groups a profile's points into read requests.
"""

from .plan import SIMULATOR_HOLE, ReadBlock, plan_reads
from .registers import (
    counter_modulus,
    decode_point,
    decode_raw,
    encode_point,
    encode_raw,
    raw_of_value,
    round_half_even,
)

__all__ = ["SIMULATOR_HOLE", "ReadBlock", "counter_modulus", "decode_point", "decode_raw",
           "encode_point", "encode_raw", "plan_reads", "raw_of_value", "round_half_even"]
