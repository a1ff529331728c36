"""AppTest script: the Explore page alone."""

from sentiment.ui import explore

explore.render()
