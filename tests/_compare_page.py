"""AppTest script: the Compare page alone."""

from sentiment.ui import compare

compare.render()
