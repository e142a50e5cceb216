"""Format weather observations for a terminal."""

from __future__ import annotations

from dateutil import parser as date_parser


def describe(observation: dict[str, object]) -> str:
    """One line for an observation such as ``{"time": "...", "temp_c": 21.5}``."""
    when = date_parser.isoparse(str(observation["time"]))
    temp = float(str(observation["temp_c"]))
    return f"{when:%Y-%m-%d %H:%M}: {temp:.1f} °C"
