"""GateScope: look inside LSTM/GRU sentiment models. Run with ``streamlit run app.py``.

Page config and navigation only; the pages live in sentiment/ui (listed in sentiment.ui.PAGES).
"""

import streamlit as st

from sentiment.ui import navigation

st.set_page_config(page_title="GateScope", page_icon=":material/biotech:", layout="wide")
navigation().run()
