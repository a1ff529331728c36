"""AppTest script: the Models page alone (pages are render() functions)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GATESCOPE_RUNS", str(Path(__file__).resolve().parent / "no-runs-here"))

from sentiment.ui import models  # noqa: E402

models.render()
