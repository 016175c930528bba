"""`python -m worker`: the same as `textcast worker`."""

import sys

from textcast.cli import main

sys.exit(main(["worker", *sys.argv[1:]]))
