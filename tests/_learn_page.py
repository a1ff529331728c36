"""AppTest script: the Learn page alone."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import learn  # noqa: E402

learn.render()
