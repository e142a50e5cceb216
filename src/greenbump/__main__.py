"""Allow ``python -m greenbump``."""

from greenbump.launch import entry

entry()
