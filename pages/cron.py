"""Placeholder while issue 15 is built on this branch; replaced before the merge into main."""

from __future__ import annotations

import streamlit as st

from ui.session import require_page

user = require_page("cron")
st.title("cron")
