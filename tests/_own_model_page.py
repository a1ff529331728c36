"""AppTest script: the Models page's "Open your own model" block alone (faster than the whole page)."""

from sentiment.ui import openmodel

openmodel.render()
