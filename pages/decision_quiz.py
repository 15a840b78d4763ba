"""Decision framework and quiz: when speculative decoding helps, when it hurts, and why."""

import streamlit as st

from pages._common import coming_next

st.title("Decision framework & quiz")
coming_next("a deployment wizard and a quiz with explanations.")
