"""``python -m sentiment.predict``: the command-line tool; its code is ``sentiment.modeling.predict``."""

import sys

from sentiment.modeling.predict import main

if __name__ == "__main__":
    sys.exit(main())
