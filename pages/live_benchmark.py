"""Live benchmark: measure a running SGLang server, baseline vs speculative."""

import streamlit as st

from pages._common import coming_next

st.title("Live benchmark")
coming_next("connect to an SGLang server (or the practice server) and measure TTFT, ITL and accept length.")
