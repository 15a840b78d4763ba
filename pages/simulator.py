"""Simulator: acceptance, speedup and cost explored by Monte Carlo and closed forms."""

import streamlit as st

from pages._common import coming_next

st.title("Simulator")
coming_next("Monte Carlo acceptance and speedup, trees, and the roofline cost model.")
