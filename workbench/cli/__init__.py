"""The `mlm-workbench` command line."""
