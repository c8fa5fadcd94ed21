"""Meter profiles as data: the model (:mod:`.model`) and the TOML loader (:mod:`.loader`)."""

from .loader import (
    check_profile_reference,
    is_profile_file,
    list_profiles,
    load_profile,
    load_profile_file,
    load_profile_reference,
    parse_profile,
)
from .model import DataType, Function, Point, Profile, Ratio, SerialDefaults, WordOrder

__all__ = ["DataType", "Function", "Point", "Profile", "Ratio", "SerialDefaults", "WordOrder",
           "check_profile_reference", "is_profile_file", "list_profiles", "load_profile",
           "load_profile_file", "load_profile_reference", "parse_profile"]
