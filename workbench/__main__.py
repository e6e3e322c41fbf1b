"""`python -m workbench` is the same as `mlm-workbench`, and this file is the frozen app's entry point
(packaging/mlm-workbench.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First, before anything else runs: in a frozen app every spawned child (the window's training process)
    # starts this same executable, and freeze_support is what turns it into that child instead of a second app.
    # In source form it does nothing.
    multiprocessing.freeze_support()
    from workbench.cli.main import main

    sys.exit(main())
