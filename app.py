"""Transfer Studio: turn a folder of labeled images into a trained image classifier.

Start with ``streamlit run app.py`` (or ``make run``). This file is the frame around every
page: it gives each browser session its own workspace, shows the chosen dataset and the
training device in the sidebar, and routes to the pages in ``pages/``.
"""

from __future__ import annotations

import streamlit as st

import ui

ui.configure_page()
pages = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=(i == 0))
    for i, p in enumerate(ui.PAGES)
]
page = st.navigation(pages, position="sidebar")
ui.frame()
page.run()
