"""Acquisition: Modbus TCP and RTU polling of the meters, the first layer of the edge node.

Layers (pymodbus's own split, applied here): :mod:`.settings` (what the config says),
:mod:`.classify` (every outcome of a request as an error class), :mod:`.policy` (what to do
about each class), :mod:`.connection` (one pymodbus client per TCP link or RTU bus),
:mod:`.report` (report by exception), :mod:`.clock` (ticks), :mod:`.events` (what goes out)
and the poller that runs them. docs/edge.md, section "Acquisition", is the operator's view.
"""

from .classify import ErrorClass, ReadError
from .clock import Clock, SimulatedClock, SystemClock
from .connection import ModbusConnection
from .events import Event, EventSink, PollFailure, PollStats, Sample
from .policy import RetryPolicy
from .poller import Poller, meter_profiles
from .report import ReportFilter
from .settings import (
    AcquisitionSettings,
    MeterSettings,
    ReportByException,
    RetrySettings,
    RtuConnection,
    TcpConnection,
)

__all__ = [
    "AcquisitionSettings",
    "Clock",
    "ErrorClass",
    "Event",
    "EventSink",
    "MeterSettings",
    "ModbusConnection",
    "PollFailure",
    "PollStats",
    "Poller",
    "ReadError",
    "ReportByException",
    "ReportFilter",
    "RetryPolicy",
    "RetrySettings",
    "RtuConnection",
    "Sample",
    "SimulatedClock",
    "SystemClock",
    "TcpConnection",
    "meter_profiles",
]
