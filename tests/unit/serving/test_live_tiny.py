"""Which servers run the tiny models, and their suite as benchmark prompts."""

from core.serving.bench_runner import BenchSettings
from core.serving.live_tiny import is_tiny_server, tiny_categories, tiny_suite_pairs
from core.serving.sglang_client import ServerInfo
from core.tiny_models.suite import tiny_prompt_suite


def test_tiny_servers_are_told_by_their_model_id():
    assert is_tiny_server(ServerInfo(raw={}, model_path="speclab-tiny/target"))
    assert not is_tiny_server(ServerInfo(raw={}, model_path="speclab-practice/llama-3.1-8b-simulated"))
    assert not is_tiny_server(ServerInfo(raw={}, model_path=None)) and not is_tiny_server(None)


def test_the_suite_becomes_benchmark_prompts_category_by_category():
    suite = tiny_prompt_suite()
    pairs = tiny_suite_pairs()
    assert pairs == tuple((p.category, p.text) for p in suite)
    assert list(tiny_categories()) == list(dict.fromkeys(p.category for p in suite))
    copy_only = tiny_suite_pairs(["copy"])
    assert copy_only and {c for c, _ in copy_only} == {"copy"}
    plan = BenchSettings(prompts=pairs, num_requests=len(pairs)).plan()
    assert sorted(plan) == sorted(pairs)  # one full pass over the suite, every prompt once


def test_practice_server_timing_decides_measured_or_simulated():
    def info(timing):
        return ServerInfo.from_raw({"speclab_practice_server": True, "speclab_engine": {"timing": timing}})

    assert not info("measured").simulated and info("simulated").simulated
    assert ServerInfo.from_raw({"speclab_practice_server": True}).simulated  # older servers: simulated
    assert not ServerInfo.from_raw({"model_path": "meta-llama/Llama-3.1-8B-Instruct"}).simulated
