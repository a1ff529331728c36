"""``python -m sentiment.grid``: the command-line tool; its code is ``sentiment.training.grid``."""

import sys

from sentiment.training.grid import main

if __name__ == "__main__":
    sys.exit(main())
