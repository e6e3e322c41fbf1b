"""MLM Workbench: train, watch and probe masked language models."""

__version__ = "0.1.0"
