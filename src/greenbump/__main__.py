"""Allow ``python -m greenbump``."""

from greenbump.main import entry

entry()
