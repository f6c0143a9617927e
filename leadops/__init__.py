"""leadops: transparent, reproducible lead scoring on your own warehouse."""

__version__ = "0.1.0"
