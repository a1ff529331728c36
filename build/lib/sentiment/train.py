"""``python -m sentiment.train``: the command-line tool; its code is ``sentiment.training.train``."""

import sys

from sentiment.training.train import main

if __name__ == "__main__":
    sys.exit(main())
