"""AppTest script: the Compare page alone."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import compare  # noqa: E402

compare.render()
