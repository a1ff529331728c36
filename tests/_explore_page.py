"""AppTest script: the Explore page alone."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import explore  # noqa: E402

explore.render()
