"""How it works: the painter story, a step-through of real rejection sampling, and why output is unchanged."""

import streamlit as st

from pages._common import coming_next

st.title("How speculative decoding works")
coming_next("the painter story, a token-by-token step-through and the output-identity experiment.")
