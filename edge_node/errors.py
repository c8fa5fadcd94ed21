"""Errors of the edge node, each under the phase class of :mod:`mrv_core.errors` it belongs to.

- :class:`ProfileError` (a :class:`~mrv_core.errors.ConfigError`): a meter profile file is
  unusable; the message names the file, the key and the problem.
- :class:`ValueUnavailable` (a :class:`~mrv_core.errors.DecodeError`): the meter answered, but
  with its "no value" pattern, a NaN or infinity, or a negative value of an unsigned quantity.
  The edge node records such a poll as a gap of class ``not_available``, never as a reading.
- :class:`RegisterError` (a :class:`~mrv_core.errors.DecodeError`): registers that cannot be
  decoded at all (wrong count, a word outside 0..65535).
- :class:`NotRepresentable` (a :class:`~mrv_core.errors.DecodeError`): a value cannot be encoded
  exactly into a point's registers (the simulator's inverse direction).
- :class:`SimulatorError` (a :class:`~mrv_core.errors.ConfigError`): the meter simulator was
  asked for something it cannot do (unknown unit id, a fault it does not know).
"""

from __future__ import annotations

from mrv_core.errors import ConfigError, DecodeError

__all__ = ["NotRepresentable", "ProfileError", "RegisterError", "SimulatorError",
           "ValueUnavailable"]


class ProfileError(ConfigError):
    """A meter profile file is malformed: ``file``, the ``key`` (a dotted path such as
    ``points[3].scale``) and the ``problem`` are named in the message."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class ValueUnavailable(DecodeError):
    """The registers hold the vendor's "not available" pattern, a NaN or an infinity, or a
    negative value of an unsigned quantity: there is no value to record."""


class RegisterError(DecodeError):
    """Registers that do not fit the point: wrong count, or a word outside 0..65535."""


class NotRepresentable(DecodeError):
    """A value has no exact encoding in the point's registers (out of range, or between two
    representable values)."""


class SimulatorError(ConfigError):
    """The meter simulator cannot do what was asked (unknown unit id or fault kind)."""
