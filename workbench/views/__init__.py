"""What the window shows, without Qt: presenters over jobs, core and store (probe views, the fine-tune view,
corpus browsing, masking statistics, curves, run comparison, the current choices). Tested without a display.

Only the GUI imports this package; `jobs` never does (an import-linter contract), so the CLI stays free of it.
"""
