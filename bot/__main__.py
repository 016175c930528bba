"""`python -m bot`: the same as `textcast bot`."""

import sys

from textcast.cli import main

sys.exit(main(["bot", *sys.argv[1:]]))
