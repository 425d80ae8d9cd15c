"""ssmux: reach servers through AWS Systems Manager Session Manager."""

__version__ = "0.1.0"
