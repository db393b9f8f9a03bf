"""embtrans: measure and bridge embedding spaces."""

__version__ = "0.1.0"
