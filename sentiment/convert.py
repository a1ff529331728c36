"""``python -m sentiment.convert``: the command-line tool; its code is ``sentiment.interop.convert``."""

import sys

from sentiment.interop.convert import main

if __name__ == "__main__":
    sys.exit(main())
