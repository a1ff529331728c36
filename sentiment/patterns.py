"""``python -m sentiment.patterns``: the command-line tool; its code is ``sentiment.probe.patterns_cli``."""

import sys

from sentiment.probe.patterns_cli import main

if __name__ == "__main__":
    sys.exit(main())
