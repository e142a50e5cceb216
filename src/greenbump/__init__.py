"""greenbump: keep Python applications up to date, safely."""

__version__ = "0.1.0"
