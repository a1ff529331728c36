"""``python -m sentiment.runs``: the command-line tool; its code is ``sentiment.training.runs``."""

import sys

from sentiment.training.runs import main

if __name__ == "__main__":
    sys.exit(main())
