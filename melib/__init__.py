"""melib: a teaching and replication suite for micro-expression analysis (AMMSM and ME-TST)."""

from melib.params import Config, setup

__all__ = ["Config", "setup"]
__version__ = "0.1.0"
