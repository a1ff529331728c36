"""AppTest script: the Patterns page alone; with ``session_state["test_page"] = "explore"``, the Explore page in
its place (a person on another page of the same session, then back on Patterns)."""

import streamlit as st

from sentiment.ui import patterns

if st.session_state.get("test_page") == "explore":
    from sentiment.ui import explore

    explore.render()
else:
    patterns.render()
