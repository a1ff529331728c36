"""AppTest script: the Models page alone (pages are render() functions)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentiment.ui import models  # noqa: E402

models.render()
