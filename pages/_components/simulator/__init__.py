"""The Simulator page's sections: ``controls`` (URL <-> sliders, the shared settings), ``basics``,
``landscape``, ``presets``, ``beyond`` (depth decay and trees), ``cost`` (when it hurts); ``common`` holds the
cached Monte Carlo calls and display helpers, ``charts`` the Vega-Lite specs. Session keys start with ``sim_``."""
