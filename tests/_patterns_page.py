"""AppTest script: the Patterns page alone."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import patterns  # noqa: E402

patterns.render()
