"""content-audit: audit markdown content at scale."""

__version__ = "0.1.0"
