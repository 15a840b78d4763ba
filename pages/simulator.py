"""Simulator: acceptance, speedup and cost explored by Monte Carlo and closed forms.

A lesson in five sections: basics (one alpha, one gamma), the alpha x gamma landscape, real published
setups, acceptance beyond i.i.d. (depth decay and trees), and when speculation hurts (batch size on a
roofline cost model). Every setting round-trips through the URL (contract in docs/developing.md). Each
section is a module of ``pages/_components/simulator/``; the tables come from ``core.lessons.simulator_views``.
"""

import streamlit as st

from pages._common import EXACT, SIMULATED, published
from pages._components.simulator import controls
from pages._components.simulator.basics import section_basics
from pages._components.simulator.beyond import section_beyond
from pages._components.simulator.common import warm_kernels
from pages._components.simulator.cost import section_cost
from pages._components.simulator.landscape import section_landscape
from pages._components.simulator.presets import section_presets

SECTIONS = {
    "basics": section_basics,
    "landscape": section_landscape,
    "presets": section_presets,
    "beyond": section_beyond,
    "cost": section_cost,
}

st.title("Simulator")
st.markdown(
    "Explore how acceptance rate, speculation length and cost decide whether speculative decoding pays off. "
    "Every number is labelled: "
    f"{SIMULATED} this app's Monte Carlo or cost model, {EXACT} closed form, or {published('with its source')}."
)
for message in controls.apply_url():
    st.warning(message, icon=":material/link_off:")
controls.set_defaults()
section, share = controls.section_switch()
settings = controls.sliders(section)
if section in ("basics", "presets", "beyond"):
    warm_kernels()  # the Monte Carlo kernels compile once per server
SECTIONS[section](settings)
controls.share_box(share, settings)
