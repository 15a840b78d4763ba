"""Adaptive speculation: watch a controller tune the speculation length from observed acceptance."""

import streamlit as st

from pages._common import coming_next

st.title("Adaptive speculation")
coming_next("controllers that pick the speculation length from observed acceptance, compared over time.")
