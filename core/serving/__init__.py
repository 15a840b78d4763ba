"""Serving: the SGLang HTTP client and its bench_serving-style metrics, the benchmark runner, prompt
suites, SGLang launch commands, which servers a session may reach (policy), the shared run queue, the
Live benchmark's session logic, and the GPU-free practice server.

May import: ``core.foundation``, ``core.simulation``, ``core.references``, ``core.tiny_models``,
``core.store``.
"""
