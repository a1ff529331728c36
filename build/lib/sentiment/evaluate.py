"""``python -m sentiment.evaluate``: the command-line tool; its code is ``sentiment.training.evaluate``."""

import sys

from sentiment.training.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
