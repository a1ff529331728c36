"""``python -m sentiment.calibrate``: the command-line tool; its code is ``sentiment.training.calibrate``."""

import sys

from sentiment.training.calibrate import main

if __name__ == "__main__":
    sys.exit(main())
