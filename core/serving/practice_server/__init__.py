"""The GPU-free practice server: SGLang's HTTP API (FastAPI + uvicorn, as SGLang) in front of an engine.

Layout, like SGLang's tokenizer-manager / scheduler split:

* ``app.py``, ``native.py``, ``openai_api.py``, ``info.py``: the HTTP layer. Routes validate requests
  (``protocol.py``: pydantic models mirroring SGLang's) and translate them; they never know how tokens
  are made. ``spec_meta.py`` turns the engine's counts into ``meta_info`` ``spec_*`` keys;
  ``faults.py`` breaks the protocol on purpose (:data:`FAULT_MODES`); ``streaming.py`` sends bodies.
* ``engine.py``: THE ENGINE SEAM (requests in, step outputs and speculation counts out) and the table of
  engines; ``engines/synthetic.py``: the SIMULATED engine (cost-model timing, Monte Carlo acceptance).
* ``server.py``: :class:`PracticeServer`, the uvicorn runner; ``config.py``: :class:`PracticeConfig`.

Typical use::

    with PracticeServer(PracticeConfig(speculative=True, time_scale=0.1)) as server:
        requests.post(server.url + "/generate", json={...})
"""

from core.serving.practice_server.config import FAULT_MODES, PracticeConfig, config_as_dict, model_id_for
from core.serving.practice_server.server import PracticeServer
from core.serving.practice_server.speculation import SPECULATIVE_ALGORITHMS

__all__ = [
    "FAULT_MODES",
    "SPECULATIVE_ALGORITHMS",
    "PracticeConfig",
    "PracticeServer",
    "config_as_dict",
    "model_id_for",
]
