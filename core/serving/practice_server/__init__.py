"""The GPU-free practice server: SGLang's HTTP API in front of an engine that makes the tokens.

``engine.py`` is the seam between the HTTP layer and the engines (``engines/``). The public API:
:class:`PracticeConfig`, :class:`PracticeServer` (a context manager with ``.url``), :data:`FAULT_MODES`,
:data:`SPECULATIVE_ALGORITHMS`, :func:`model_id_for`.
"""

from core.serving.practice_server._legacy import (
    FAULT_MODES,
    SPECULATIVE_ALGORITHMS,
    PracticeConfig,
    PracticeServer,
    config_as_dict,
    model_id_for,
)

__all__ = [
    "FAULT_MODES",
    "SPECULATIVE_ALGORITHMS",
    "PracticeConfig",
    "PracticeServer",
    "config_as_dict",
    "model_id_for",
]
