"""AppTest script: the Learn page alone."""

from sentiment.ui import learn

learn.render()
