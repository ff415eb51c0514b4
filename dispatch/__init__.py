"""Emergency incident dispatch."""

__version__ = "0.1.0"
