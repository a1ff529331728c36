"""``python -m sentiment.trace``: the command-line tool; its code is ``sentiment.probe.cli``."""

import sys

from sentiment.probe.cli import main

if __name__ == "__main__":
    sys.exit(main())
