"""AppTest script: the Train page alone."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import train  # noqa: E402

train.render()
