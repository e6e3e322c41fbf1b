"""`python -m workbench` is the same as `mlm-workbench`."""

import sys

from workbench.cli.main import main

sys.exit(main())
