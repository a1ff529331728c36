"""AppTest script: the Train page alone."""

from sentiment.ui import train

train.render()
