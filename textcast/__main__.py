"""`python -m textcast ...` is the `textcast` command."""

import sys

from textcast.cli import main

sys.exit(main())
