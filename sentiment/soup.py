"""``python -m sentiment.soup``: the command-line tool; its code is ``sentiment.training.soup``."""

import sys

from sentiment.training.soup import main

if __name__ == "__main__":
    sys.exit(main())
