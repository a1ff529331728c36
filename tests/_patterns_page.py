"""AppTest script: the Patterns page alone."""

from sentiment.ui import patterns

patterns.render()
