"""The package version, in one place (read by the cache key and ``popliteal --version``)."""

__version__ = "0.2.0"
