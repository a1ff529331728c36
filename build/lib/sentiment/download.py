"""``python -m sentiment.download``: the command-line tool; its code is ``sentiment.data.download``."""

import sys

from sentiment.data.download import main

if __name__ == "__main__":
    sys.exit(main())
