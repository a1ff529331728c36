"""``python -m sentiment.catalog``: the command-line tool; its code is ``sentiment.modeling.catalog``."""

import sys

from sentiment.modeling.catalog import main

if __name__ == "__main__":
    sys.exit(main())
