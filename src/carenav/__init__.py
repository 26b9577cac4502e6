"""carenav: an open-source care management platform."""

__version__ = "0.1.0"
