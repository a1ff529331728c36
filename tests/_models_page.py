"""AppTest script: the Models page alone (pages are render() functions)."""

from sentiment.ui import models

models.render()
