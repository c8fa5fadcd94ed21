"""Meter profiles as data: the model (:mod:`.model`) and the TOML loader (:mod:`.loader`)."""

from .loader import list_profiles, load_profile, load_profile_file, parse_profile
from .model import DataType, Function, Point, Profile, Ratio, SerialDefaults, WordOrder

__all__ = ["DataType", "Function", "Point", "Profile", "Ratio", "SerialDefaults", "WordOrder",
           "list_profiles", "load_profile", "load_profile_file", "parse_profile"]
