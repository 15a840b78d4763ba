"""The practice server: SGLang's wire format, the synthetic engine's scheduler, fault modes, the CLI.

Streams are parsed here by hand (not with the project's client), so the tests pin down the wire format
itself as shared/docs/sglang.md describes it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from core.serving.practice_server import FAULT_MODES, PracticeConfig, PracticeServer, model_id_for
from core.serving.prompt_suite import load_suite
from tests.conftest import ROOT

PREDICTABLE = load_suite().prompts("predictable")[0]
CREATIVE = load_suite().prompts("creative")[0]
FAST = 0.02  # wall seconds per simulated second: a step of ~7 ms model time takes ~0.15 ms


def generate_body(prompt=PREDICTABLE, max_new_tokens=40, ignore_eos=True, stream=True, **extra):
    return {
        "text": prompt,
        "sampling_params": {"temperature": 0, "max_new_tokens": max_new_tokens, "ignore_eos": ignore_eos},
        "stream": stream,
        **extra,
    }


def read_sse(response) -> list[str]:
    """The payloads of every ``data:`` line, in order (``"[DONE]"`` included), checking the framing."""
    payloads = []
    for raw in response.iter_lines(delimiter=b"\n\n"):
        if not raw:
            continue
        block = raw.decode("utf-8")
        assert block.startswith("data: "), f"not an SSE data event: {block[:80]!r}"
        payloads.append(block[len("data: ") :])
    return payloads


def stream_events(url: str, body: dict, path: str = "/generate", **kwargs) -> tuple[list[dict], bool]:
    """JSON events of one streamed request and whether it ended with [DONE]."""
    with requests.post(url + path, json=body, stream=True, timeout=60, **kwargs) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        payloads = read_sse(response)
    done = payloads[-1] == "[DONE]"
    if done:
        payloads = payloads[:-1]
    assert "[DONE]" not in payloads
    return [json.loads(p) for p in payloads], done


@pytest.fixture(scope="module")
def spec_server():
    with PracticeServer(PracticeConfig(speculative=True, time_scale=FAST, stats_interval_steps=5)) as server:
        yield server


@pytest.fixture(scope="module")
def base_server():
    with PracticeServer(PracticeConfig(time_scale=FAST)) as server:
        yield server


# ------------------------------------------------------------------------------------------ endpoints


def test_health_and_models(spec_server):
    health = requests.get(spec_server.url + "/health", timeout=10)
    assert health.status_code == 200 and health.content == b""
    models = requests.get(spec_server.url + "/v1/models", timeout=10).json()
    assert models["object"] == "list"
    (entry,) = models["data"]
    assert entry["id"] == model_id_for("llama-3.1-8b") and "simulated" in entry["id"]
    assert isinstance(entry["max_model_len"], int) and entry["max_model_len"] > 0


def test_model_info_old_and_new_paths(spec_server):
    new = requests.get(spec_server.url + "/model_info", timeout=10).json()
    old = requests.get(spec_server.url + "/get_model_info", timeout=10).json()
    assert new == old
    assert new["model_path"] == model_id_for("llama-3.1-8b")
    assert new["is_generation"] is True and "tokenizer_path" in new


def test_server_info_speculative(spec_server):
    info = requests.get(spec_server.url + "/server_info", timeout=10).json()
    assert info == requests.get(spec_server.url + "/get_server_info", timeout=10).json() | {
        "internal_states": info["internal_states"]
    }
    assert info["speclab_practice_server"] is True
    assert "simulated" in info["model_path"]
    assert info["speculative_algorithm"] == "EAGLE3"
    assert info["speculative_draft_model_path"]
    # SGLang's automatic choice for a Llama target when none of the three is set.
    assert (
        info["speculative_num_steps"],
        info["speculative_eagle_topk"],
        info["speculative_num_draft_tokens"],
    ) == (
        5,
        4,
        8,
    )
    assert info["max_running_requests"] == 48
    assert isinstance(info["internal_states"], list) and len(info["internal_states"]) == 1
    assert "last_gen_throughput" in info["internal_states"][0]


def test_a_tree_keeps_the_overlap_scheduler_on_as_in_0_5_23():
    # sglang-review #6: the practice server reported disable_overlap_schedule true whenever topk > 1 (true
    # up to 0.5.12); 0.5.23's _handle_eagle_family turns overlap off only on CPU.
    for topk, tokens in ((4, 8), (1, 4)):
        config = PracticeConfig(speculative=True, num_steps=3, eagle_topk=topk, num_draft_tokens=tokens)
        info = PracticeServer(config).server_info()
        assert info["speculative_eagle_topk"] == topk and info["disable_overlap_schedule"] is False


def test_server_info_baseline(base_server):
    info = requests.get(base_server.url + "/server_info", timeout=10).json()
    assert info["speculative_algorithm"] is None
    assert info["speculative_num_steps"] is None
    assert "avg_spec_accept_length" not in info["internal_states"][0]
    assert info["speclab_practice_server"] is True


@pytest.mark.parametrize(
    "algorithm, reported, draft_path, priced_as",
    [
        ("eagle3", "EAGLE3", "speclab-practice/eagle3-llama-3.1-8b-simulated", "eagle3-llama-3.1-8b"),
        ("STANDALONE", "STANDALONE", "speclab-practice/llama-3.2-1b-simulated", "llama-3.2-1b"),
        ("NGRAM", "NGRAM", None, "ngram"),
        ("NEXTN", "EAGLE", None, "eagle3-llama-3.1-8b"),  # SGLang resolves the alias before reporting
    ],
)
def test_algorithms_report_like_sglang(algorithm, reported, draft_path, priced_as):
    server = PracticeServer(
        PracticeConfig(speculative=True, algorithm=algorithm, num_steps=3, eagle_topk=1, num_draft_tokens=4)
    )
    info = server.server_info()  # the /server_info body, without starting the server
    assert info["speculative_algorithm"] == reported
    assert info["speculative_draft_model_path"] == draft_path
    assert info["speclab_simulation"]["draft"] == priced_as
    assert (
        info["speculative_num_steps"],
        info["speculative_eagle_topk"],
        info["speculative_num_draft_tokens"],
    ) == (3, 1, 4)


@pytest.mark.parametrize(
    "algorithm, knobs",
    [("EAGLE3", (5, 4, 8)), ("NEXTN", (5, 4, 8)), ("STANDALONE", (3, 1, 4)), ("NGRAM", (1, 10, 12))],
)
def test_automatic_knobs_follow_each_algorithms_rules(algorithm, knobs):
    # SGLang 0.5.23 on a Llama target: 5/4/8 for the EAGLE family, 3/1/4 for STANDALONE always, NGRAM's
    # own defaults (BFS breadth 10 as topk, 12 draft tokens, steps = 12 // 10).
    info = PracticeServer(PracticeConfig(speculative=True, algorithm=algorithm)).server_info()
    got = (
        info["speculative_num_steps"],
        info["speculative_eagle_topk"],
        info["speculative_num_draft_tokens"],
    )
    assert got == knobs


def test_algorithms_sglang_has_but_the_practice_server_does_not_model_are_refused():
    with pytest.raises(ValueError, match="does not model it"):
        PracticeServer(PracticeConfig(speculative=True, algorithm="DFLASH"))


def test_unknown_path_and_wrong_method_answer_in_sglang_error_shape(base_server):
    missing = requests.get(base_server.url + "/nope", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {
        "object": "error",
        "message": "Not Found",
        "type": "404",
        "param": None,
        "code": 404,
    }
    wrong_method = requests.get(base_server.url + "/generate", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.json()["object"] == "error"


def test_generate_schema_errors_are_400_with_a_string(base_server):
    bad_json = requests.post(
        base_server.url + "/generate",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]
    wrong_type = requests.post(base_server.url + "/generate", json={"text": 5}, timeout=10)
    assert wrong_type.status_code == 400 and isinstance(wrong_type.json()["error"], str)
    assert "text" in wrong_type.json()["error"]
    not_object = requests.post(
        base_server.url + "/generate", json={"text": "hi", "sampling_params": 3}, timeout=10
    )
    assert not_object.status_code == 400 and "sampling_params" in not_object.json()["error"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"sampling_params": {}}, "text, input_ids"),
        (generate_body(max_new_tokens=-1), "max_new_tokens"),
        (generate_body(max_new_tokens=10**7), "context length"),
        ({"text": ["one", "two"]}, "one prompt per request"),
        ({"text": "hi", "sampling_params": {"temperature": -0.5}}, "temperature must be a non-negative"),
        ({"input_ids": [1, -4]}, "out of vocabulary"),
        ({"text": "hi", "sampling_params": {"top_p": 0}}, "top_p must be in (0, 1]"),
        ({"text": "hi", "sampling_params": {"top_k": 0}}, "top_k must be -1 (disable) or at least 1"),
        ({"text": "hi", "sampling_params": {"min_p": 1.5}}, "min_p must be in [0, 1]"),
    ],
)
def test_generate_request_errors_non_stream_400_stream_200_error_event(base_server, body, fragment):
    whole = requests.post(base_server.url + "/generate", json=body | {"stream": False}, timeout=10)
    assert whole.status_code == 400 and fragment in whole.json()["error"]["message"]
    # Streamed, SGLang has sent its 200 headers already: the error is an event, then [DONE].
    events, done = stream_events(base_server.url, body | {"stream": True})
    assert done and len(events) == 1
    assert events[0]["error"]["type"] == "invalid_request_error" and events[0]["error"]["code"] == 400
    assert fragment in events[0]["error"]["message"] and events[0]["error"]["retryable"] is False


def test_openai_errors_are_400_object_error(base_server):
    cases = [
        ("/v1/chat/completions", {"messages": []}, "messages"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**7},
            "context",
        ),
        ("/v1/chat/completions", {"messages": "hello"}, "messages"),
        ("/v1/completions", {"prompt": "hi", "max_tokens": -3}, "max_new_tokens"),
        ("/v1/completions", {}, "prompt"),
        ("/v1/completions", {"prompt": "hi", "temperature": -1}, "temperature"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "top_p": 1.5}, "top_p"),
    ]
    for path, body, fragment in cases:
        for stream in (False, True):
            response = requests.post(base_server.url + path, json=body | {"stream": stream}, timeout=10)
            assert response.status_code == 400, (path, body)
            error = response.json()
            assert set(error) == {"object", "message", "type", "param", "code"}
            assert error["object"] == "error" and error["code"] == 400 and fragment in error["message"]


def test_oversized_body_is_413(base_server):
    body = b'{"text": "' + b"a" * (9 * 1024 * 1024) + b'"}'
    response = requests.post(
        base_server.url + "/generate", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413


# ------------------------------------------------------------------------------------------ /generate


def test_generate_non_stream(base_server):
    result = requests.post(base_server.url + "/generate", json=generate_body(stream=False), timeout=30).json()
    meta = result["meta_info"]
    assert meta["finish_reason"] == {"type": "length", "length": 40}
    assert meta["completion_tokens"] == 40 == len(result["output_ids"])
    assert meta["prompt_tokens"] > 0 and meta["cached_tokens"] == 0
    assert meta["e2e_latency"] > 0 and meta["id"]
    assert "spec_verify_ct" not in meta  # speculation off
    assert len(result["text"].split()) == 40


def test_generate_default_max_new_tokens_is_128(base_server):
    body = {"text": PREDICTABLE, "sampling_params": {"temperature": 0, "ignore_eos": True}}
    meta = requests.post(base_server.url + "/generate", json=body, timeout=30).json()["meta_info"]
    assert meta["completion_tokens"] == 128


def test_generate_input_ids(base_server):
    body = {"input_ids": [1, 2, 3, 4, 5], "sampling_params": {"max_new_tokens": 3, "ignore_eos": True}}
    meta = requests.post(base_server.url + "/generate", json=body, timeout=30).json()["meta_info"]
    assert meta["prompt_tokens"] == 5 and meta["completion_tokens"] == 3


def test_stream_is_cumulative_by_default(base_server):
    events, done = stream_events(base_server.url, generate_body(max_new_tokens=25))
    assert done
    assert len(events) == 25  # baseline: one token per step, one event per step
    previous_text, previous_ids = "", []
    for event in events:
        assert event["text"].startswith(previous_text) and len(event["text"]) > len(previous_text)
        assert event["output_ids"][: len(previous_ids)] == previous_ids
        assert event["meta_info"]["completion_tokens"] == len(event["output_ids"])
        previous_text, previous_ids = event["text"], event["output_ids"]
    assert all(e["meta_info"]["finish_reason"] is None for e in events[:-1])
    assert events[-1]["meta_info"]["finish_reason"] == {"type": "length", "length": 25}
    assert "e2e_latency" in events[-1]["meta_info"] and "e2e_latency" not in events[0]["meta_info"]


def test_incremental_output_streams_deltas():
    body = generate_body(max_new_tokens=30)
    with PracticeServer(PracticeConfig(time_scale=FAST, seed=7)) as cumulative:
        full, _ = stream_events(cumulative.url, body)
    with PracticeServer(PracticeConfig(time_scale=FAST, seed=7, incremental_output=True)) as incremental:
        deltas, done = stream_events(incremental.url, body)
        info = requests.get(incremental.url + "/server_info", timeout=10).json()
    assert done and info["incremental_streaming_output"] is True
    assert "".join(e["text"] for e in deltas) == full[-1]["text"]
    assert [i for e in deltas for i in e["output_ids"]] == full[-1]["output_ids"]
    assert all(len(e["output_ids"]) == 1 for e in deltas)
    assert deltas[-1]["meta_info"]["completion_tokens"] == 30


def test_stop_without_ignore_eos(base_server):
    result = requests.post(
        base_server.url + "/generate",
        json=generate_body(ignore_eos=False, max_new_tokens=2000, stream=False),
        timeout=60,
    ).json()
    meta = result["meta_info"]
    assert meta["finish_reason"]["type"] == "stop" and "matched" in meta["finish_reason"]
    assert meta["completion_tokens"] < 2000
    assert meta["completion_tokens"] == len(result["output_ids"])
    assert result["output_ids"][-1] == meta["finish_reason"]["matched"]


def test_same_prompt_same_text_on_one_server(base_server):
    first = requests.post(base_server.url + "/generate", json=generate_body(stream=False), timeout=30).json()
    second = requests.post(base_server.url + "/generate", json=generate_body(stream=False), timeout=30).json()
    other = requests.post(
        base_server.url + "/generate", json=generate_body(prompt=CREATIVE, stream=False), timeout=30
    ).json()
    assert first["text"] == second["text"] and first["text"] != other["text"]


# ------------------------------------------------------------------------------------------ speculation


def test_speculative_meta_info_is_consistent(spec_server):
    events, done = stream_events(spec_server.url, generate_body(max_new_tokens=200))
    assert done
    meta = events[-1]["meta_info"]
    tokens = meta["completion_tokens"]
    assert tokens == 200 == len(events[-1]["output_ids"])
    verify = meta["spec_verify_ct"]
    assert meta["spec_accept_length"] == pytest.approx(tokens / verify)
    assert meta["spec_num_proposed_drafts"] == verify * 7  # SGLang: (num_draft_tokens - 1) per pass, 5/4/8
    assert meta["spec_accept_rate"] == pytest.approx(
        meta["spec_num_correct_drafts"] / meta["spec_num_proposed_drafts"]
    )
    histogram = meta["spec_correct_drafts_histogram"]
    assert "spec_accept_histogram" not in meta  # 0.5.21+ send only the new name
    assert len(histogram) <= 6 and histogram[-1] > 0 and sum(histogram) == verify
    assert sum(i * n for i, n in enumerate(histogram)) == meta["spec_num_correct_drafts"]
    # The prefill yields one token; each verify pass yields 1 + accepted drafts.
    assert tokens == 1 + verify + meta["spec_num_correct_drafts"]
    # One event per step: the first from prefill, then one per verify pass, several tokens in most.
    assert len(events) == 1 + verify
    growth = [len(b["output_ids"]) - len(a["output_ids"]) for a, b in zip(events, events[1:], strict=False)]
    assert max(growth) > 1 and all(1 <= g <= 6 for g in growth)
    assert all("spec_verify_ct" not in e["meta_info"] for e in events[:-1])


def test_predictable_prompts_accept_more_than_creative(spec_server):
    def accept_length(prompt):
        tokens = verify = 0
        for _ in range(3):
            meta = requests.post(
                spec_server.url + "/generate", json=generate_body(prompt, 150, stream=False), timeout=60
            ).json()["meta_info"]
            tokens += meta["completion_tokens"]
            verify += meta["spec_verify_ct"]
        return tokens / verify

    # Illustrative alphas 0.9 vs 0.55 with 5 drafts: expected accept lengths about 4.7 vs 2.1.
    assert accept_length(PREDICTABLE) > accept_length(CREATIVE) + 1.0


def test_avg_spec_accept_length_refresh_and_flush():
    config = PracticeConfig(speculative=True, time_scale=FAST, stats_interval_steps=5)
    with PracticeServer(config) as server:
        state = requests.get(server.url + "/server_info", timeout=10).json()["internal_states"][0]
        assert "avg_spec_accept_length" not in state  # nothing decoded yet
        meta = requests.post(
            server.url + "/generate", json=generate_body(max_new_tokens=100, stream=False), timeout=30
        )
        meta = meta.json()["meta_info"]
        state = requests.get(server.url + "/server_info", timeout=10).json()["internal_states"][0]
        # Refreshed every 5 decode steps: a lifetime mean over whole refresh intervals, decode tokens only.
        assert 1.0 <= state["avg_spec_accept_length"] <= 6.0
        stats = server.stats()
        assert stats["verify_passes_total"] == meta["spec_verify_ct"]
        flushed = requests.post(server.url + "/flush_cache", timeout=10)
        assert flushed.status_code == 200
        state = requests.get(server.url + "/server_info", timeout=10).json()["internal_states"][0]
        assert "avg_spec_accept_length" not in state
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert "sglang:spec_accept_length" in metrics and "sglang:spec_verify_calls_total" in metrics


def test_flush_cache_refused_while_busy():
    with PracticeServer(PracticeConfig(time_scale=1.0)) as server:
        response = requests.post(
            server.url + "/generate", json=generate_body(max_new_tokens=5000), stream=True
        )
        lines = response.iter_lines()  # kept: a dropped iterator makes urllib3 close the connection
        next(lines)  # the request is running
        assert requests.post(server.url + "/flush_cache", timeout=10).status_code == 400
        response.close()


def test_step_time_grows_with_concurrency():
    with PracticeServer(PracticeConfig(speculative=True, time_scale=0.2)) as server:
        body = generate_body(max_new_tokens=60, stream=False)
        requests.post(server.url + "/generate", json=body, timeout=60).raise_for_status()
        barrier = threading.Barrier(8)

        def one():
            barrier.wait()
            requests.post(server.url + "/generate", json=body, timeout=120).raise_for_status()

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = server.stats()
    by_batch = stats["step_time_by_batch"]
    biggest = max(by_batch)
    assert biggest >= 4, f"requests did not overlap: {stats['steps_by_batch']}"
    assert by_batch[biggest] > by_batch[1]  # model time per step, from the server's own accounting
    assert stats["requests_finished"] == 9


def test_max_running_requests_caps_the_batch():
    with PracticeServer(PracticeConfig(time_scale=0.2, max_running_requests=2)) as server:
        results = []

        def one():
            r = requests.post(
                server.url + "/generate", json=generate_body(max_new_tokens=20, stream=False), timeout=120
            )
            results.append(r.json()["meta_info"]["completion_tokens"])

        threads = [threading.Thread(target=one) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = server.stats()
    assert results == [20] * 5
    assert max(stats["steps_by_batch"]) <= 2


def test_fixed_timing_events():
    config = PracticeConfig(fixed_ttft_s=0.01, fixed_itl_s=0.001, tokens_per_event=4)
    with PracticeServer(config) as server:
        events, done = stream_events(server.url, generate_body(max_new_tokens=14))
        info = requests.get(server.url + "/server_info", timeout=10).json()
    assert done
    sizes = [len(e["output_ids"]) for e in events]
    assert sizes == [1, 5, 9, 13, 14]  # cumulative: first token alone, then 4 per event, the rest last
    assert info["speclab_simulation"]["fixed_timing"] == {
        "ttft_s": 0.01,
        "itl_s": 0.001,
        "tokens_per_event": 4,
    }


@pytest.mark.parametrize(
    "version, keys",
    [
        ("0.5.5", {"spec_verify_ct", "spec_accept_length", "spec_accept_rate"}),
        (
            "0.5.9",
            {
                "spec_verify_ct",
                "spec_accept_length",
                "spec_accept_rate",
                "spec_accept_token_num",
                "spec_draft_token_num",
                "spec_accept_histogram",
            },
        ),
        (
            "0.5.12",
            {
                "spec_verify_ct",
                "spec_accept_length",
                "spec_accept_rate",
                "spec_num_correct_drafts",
                "spec_num_proposed_drafts",
                "spec_correct_drafts_histogram",
                "spec_accept_histogram",
                "spec_accepted_drafts",  # 0.5.12's backward-compatible aliases (tokenizer_manager.py:2140)
                "spec_proposed_drafts",
            },
        ),
    ],
)
def test_older_releases_spec_meta_field_sets(version, keys):
    config = PracticeConfig(speculative=True, time_scale=FAST, spec_meta_version=version)
    with PracticeServer(config) as server:
        meta = requests.post(server.url + "/generate", json=generate_body(stream=False), timeout=30).json()
    meta = meta["meta_info"]
    assert {k for k in meta if k.startswith("spec_")} == keys
    if version == "0.5.9":
        assert meta["completion_tokens"] == 1 + meta["spec_verify_ct"] + meta["spec_accept_token_num"]
        assert meta["spec_draft_token_num"] == meta["spec_verify_ct"] * 7


def test_no_spec_keys_when_no_verify_pass_ran(spec_server):
    # One token comes from prefill: no verify pass, so SGLang sends no spec_* key at all.
    meta = requests.post(
        spec_server.url + "/generate", json=generate_body(max_new_tokens=1, stream=False), timeout=30
    ).json()["meta_info"]
    assert meta["completion_tokens"] == 1
    assert not [k for k in meta if k.startswith("spec_")]


# ------------------------------------------------------------------------------------------ OpenAI API


def chat_body(max_tokens=30, **extra) -> dict:
    return {
        "model": "default",
        "messages": [{"role": "user", "content": PREDICTABLE}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        **extra,
    }


def test_chat_completions_stream_with_usage(spec_server):
    body = chat_body(stream_options={"include_usage": True})
    chunks, done = stream_events(spec_server.url, body, path="/v1/chat/completions")
    assert done
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    # SGLang's first chunk carries the role only.
    assert chunks[0]["choices"][0]["delta"] == {"reasoning_content": None, "role": "assistant", "content": ""}
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["completion_tokens"] == 30
    assert usage["total_tokens"] == usage["prompt_tokens"] + 30
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert len(content.split()) == 30
    finish = chunks[-2]["choices"][0]
    assert finish["finish_reason"] == "length" and "content" not in finish["delta"]
    # Without continuous_usage_stats no content chunk carries usage.
    assert all("usage" not in c for c in chunks[:-1])


def test_chat_continuous_usage_stats_puts_cumulative_usage_on_every_content_chunk(spec_server):
    body = chat_body(max_tokens=40, stream_options={"include_usage": True, "continuous_usage_stats": True})
    chunks, done = stream_events(spec_server.url, body, path="/v1/chat/completions")
    assert done
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    counts = [c["usage"]["completion_tokens"] for c in content]
    assert counts == sorted(counts) and counts[-1] == 40
    assert counts[0] == 1  # the prefill's token, alone
    assert max(b - a for a, b in zip(counts, counts[1:], strict=False)) > 1  # verify passes add several
    for chunk in content:  # each count matches the words streamed so far
        upto = chunks[: chunks.index(chunk) + 1]
        words = "".join(c["choices"][0]["delta"].get("content") or "" for c in upto if c["choices"]).split()
        assert len(words) == chunk["usage"]["completion_tokens"]


@pytest.mark.parametrize("supported", [True, False])
def test_spec_tokens_details_only_when_supported(supported):
    body = {"messages": [{"role": "user", "content": PREDICTABLE}], "max_tokens": 20, "ignore_eos": True}
    body["return_spec_tokens_details"] = True
    config = PracticeConfig(speculative=True, time_scale=FAST, spec_tokens_details=supported)
    with PracticeServer(config) as server:
        whole = requests.post(server.url + "/v1/chat/completions", json=body, timeout=30).json()
        options = {"stream_options": {"include_usage": True}}
        chunks, _ = stream_events(server.url, body | {"stream": True} | options, path="/v1/chat/completions")
    carrying = [c for c in chunks if "sglext" in c]
    if not supported:
        assert "sglext" not in whole and not carrying
        return
    details = whole["sglext"]["spec_tokens_details"]
    assert details["spec_accept_length"] == pytest.approx(20 / details["spec_verify_ct"])
    assert details["spec_num_proposed_drafts"] == 7 * details["spec_verify_ct"]
    # Its own chunk, after the finish chunk and before the usage chunk.
    (ext,) = carrying
    at = chunks.index(ext)
    assert ext["choices"] == [] and chunks[at - 1]["choices"][0]["finish_reason"] == "length"
    assert chunks[at + 1]["choices"] == [] and chunks[at + 1]["usage"]["completion_tokens"] == 20


def test_completions_default_16_tokens(base_server):
    body = {"model": "default", "prompt": PREDICTABLE, "ignore_eos": True, "temperature": 0}
    result = requests.post(base_server.url + "/v1/completions", json=body, timeout=30).json()
    assert result["object"] == "text_completion"
    assert result["usage"]["completion_tokens"] == 16
    assert result["choices"][0]["finish_reason"] == "length"
    assert len(result["choices"][0]["text"].split()) == 16


def test_completions_stream_without_usage(base_server):
    body = {"prompt": PREDICTABLE, "max_tokens": 8, "ignore_eos": True, "stream": True}
    chunks, done = stream_events(base_server.url, body, path="/v1/completions")
    assert done and all(c["choices"] for c in chunks)
    assert len("".join(c["choices"][0]["text"] for c in chunks).split()) == 8


def test_chat_non_stream(base_server):
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5, "ignore_eos": True}
    result = requests.post(base_server.url + "/v1/chat/completions", json=body, timeout=30).json()
    assert result["object"] == "chat.completion"
    assert result["choices"][0]["message"]["role"] == "assistant"
    assert result["usage"]["completion_tokens"] == 5


# ------------------------------------------------------------------------------------------ API key


def test_api_key_enforced():
    with PracticeServer(PracticeConfig(time_scale=FAST, api_key="s3cret")) as server:
        assert requests.get(server.url + "/health", timeout=10).status_code == 200  # exempt, as in SGLang
        assert requests.get(server.url + "/server_info", timeout=10).status_code == 401
        wrong = requests.post(
            server.url + "/generate",
            json=generate_body(),
            headers={"Authorization": "Bearer nope"},
            timeout=10,
        )
        assert wrong.status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        info = requests.get(server.url + "/server_info", headers=good, timeout=10).json()
        assert info["api_key"] != "s3cret"  # never echoed
        ok = requests.post(
            server.url + "/generate", json=generate_body(stream=False), headers=good, timeout=30
        )
        assert ok.status_code == 200 and ok.json()["meta_info"]["completion_tokens"] == 40


# ------------------------------------------------------------------------------------------ faults


def fault_server(fault: str, **extra) -> PracticeServer:
    return PracticeServer(PracticeConfig(time_scale=FAST, fault=fault, **extra))


def raw_stream_lines(url: str, body: dict, timeout=30) -> list[bytes]:
    with requests.post(url + "/generate", json=body, stream=True, timeout=timeout) as response:
        assert response.status_code == 200
        return [line for line in response.iter_lines() if line]


def test_every_fault_mode_is_tested():
    tested = {name[len("test_fault_") :] for name in globals() if name.startswith("test_fault_")}
    assert tested == set(FAULT_MODES)


def test_fault_http500():
    with fault_server("http500") as server:
        response = requests.post(server.url + "/generate", json=generate_body(), timeout=10)
        assert response.status_code == 500 and response.json()["error"]["message"]
        chat = requests.post(server.url + "/v1/chat/completions", json={"messages": []}, timeout=10)
        assert chat.status_code == 500
        assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_fault_http404():
    with fault_server("http404") as server:
        assert requests.post(server.url + "/generate", json=generate_body(), timeout=10).status_code == 404


def test_fault_redirect():
    with fault_server("redirect") as server:
        response = requests.post(
            server.url + "/generate", json=generate_body(), timeout=10, allow_redirects=False
        )
        assert response.status_code == 302
        target = response.headers["Location"]
        assert target != server.url + "/generate"
        landing = requests.get(target, timeout=10)
        assert landing.headers["Content-Type"].startswith("text/html")


def test_fault_error_event():
    with fault_server("error_event") as server:
        payloads = [line.decode() for line in raw_stream_lines(server.url, generate_body())]
        assert payloads[-1] == "data: [DONE]"
        events = [json.loads(p[len("data: ") :]) for p in payloads[:-1]]
        assert "error" in events[-1] and events[-1]["error"]["message"]
        assert len(events) - 1 == 3 and all("text" in e for e in events[:-1])  # a few tokens first
        non_stream = requests.post(server.url + "/generate", json=generate_body(stream=False), timeout=30)
        assert non_stream.status_code == 400 and non_stream.json()["error"]["message"]


def test_fault_malformed_json():
    with fault_server("malformed_json") as server:
        payloads = [line.decode() for line in raw_stream_lines(server.url, generate_body())]
        assert payloads[-1] == "data: [DONE]"
        broken = []
        for line in payloads[:-1]:
            assert line.startswith("data: ")
            try:
                json.loads(line[len("data: ") :])
            except json.JSONDecodeError:
                broken.append(line)
        assert len(broken) == 1


def test_fault_malformed_sse():
    with fault_server("malformed_sse") as server:
        lines = [line.decode() for line in raw_stream_lines(server.url, generate_body())]
        garbage = [line for line in lines if not line.startswith("data: ")]
        assert garbage and lines[-1] == "data: [DONE]"
        non_stream = requests.post(server.url + "/generate", json=generate_body(stream=False), timeout=30)
        with pytest.raises(ValueError):
            non_stream.json()


def test_fault_truncate():
    with fault_server("truncate") as server:
        seen = []
        with (
            pytest.raises(requests.exceptions.ChunkedEncodingError),
            requests.post(
                server.url + "/generate", json=generate_body(), stream=True, timeout=30
            ) as response,
        ):
            seen.extend(line for line in response.iter_lines() if line)
        assert len(seen) == 3 and b"data: [DONE]" not in seen


def test_fault_stall():
    with fault_server("stall", stall_s=60) as server:
        seen = []
        with (
            pytest.raises(requests.exceptions.ConnectionError),  # ReadTimeout while streaming
            requests.post(
                server.url + "/generate", json=generate_body(), stream=True, timeout=1.0
            ) as response,
        ):
            seen.extend(line for line in response.iter_lines() if line)
        assert len(seen) == 3  # then silence on an open connection
    # Leaving the with block stopped the server although a stalled stream was open: no hang.


def test_fault_slow_start():
    with (
        fault_server("slow_start", slow_start_s=60) as server,
        pytest.raises(requests.exceptions.ConnectionError),  # no first token within the read timeout
        requests.post(server.url + "/generate", json=generate_body(), stream=True, timeout=1.0) as response,
    ):
        list(response.iter_lines())
    with fault_server("slow_start", slow_start_s=0.05) as server:
        events, done = stream_events(server.url, generate_body(max_new_tokens=5))
        assert done and events[-1]["meta_info"]["completion_tokens"] == 5


def test_fault_huge_response():
    cap = 1 << 20
    with fault_server("huge_response", huge_response_bytes=16 << 20) as server:
        received = 0
        with requests.post(
            server.url + "/generate", json=generate_body(), stream=True, timeout=30
        ) as response:
            for block in response.iter_content(65536):
                received += len(block)
                assert b"[DONE]" not in block
                if received > cap:
                    break
        assert received > cap


def test_fault_health_503():
    with fault_server("health_503") as server:
        assert requests.get(server.url + "/health", timeout=10).status_code == 503
        ok = requests.post(server.url + "/generate", json=generate_body(stream=False), timeout=30)
        assert ok.status_code == 200


# ------------------------------------------------------------------------------------------ lifecycle


def test_two_servers_are_independent():
    with (
        PracticeServer(PracticeConfig(time_scale=FAST)) as a,
        PracticeServer(PracticeConfig(time_scale=FAST, speculative=True)) as b,
    ):
        assert a.url != b.url
        requests.post(a.url + "/generate", json=generate_body(stream=False), timeout=30).raise_for_status()
        # The engine thread counts a request after its last step went out, so the count may lag the reply.
        deadline = time.monotonic() + 10
        while a.stats()["requests_finished"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert a.stats()["requests_finished"] == 1 and b.stats()["requests_finished"] == 0
        assert requests.get(b.url + "/server_info", timeout=10).json()["speculative_algorithm"] == "EAGLE3"


def test_stop_ends_open_streams_and_threads():
    server = PracticeServer(PracticeConfig(time_scale=1.0))
    url = server.start()
    response = requests.post(
        url + "/generate", json=generate_body(max_new_tokens=100000), stream=True, timeout=30
    )
    lines = response.iter_lines()
    next(lines)
    server.stop()
    with pytest.raises(requests.exceptions.RequestException):
        for _ in lines:  # the stream ends without [DONE]
            pass
    response.close()
    assert not server.engine.thread.is_alive()  # the synthetic engine's scheduler
    assert not [t for t in threading.enumerate() if t.name.startswith(server.thread_prefix)]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/health", timeout=2)
    server.stop()  # twice is fine


def test_connections_send_small_events_without_delay():
    # TCP_NODELAY: without it, Nagle's algorithm and the client's delayed ACK add ~40 ms to the first event.
    with PracticeServer(PracticeConfig(time_scale=1.0)) as server:
        response = requests.post(
            server.url + "/generate", json=generate_body(max_new_tokens=5000), stream=True
        )
        lines = response.iter_lines()  # kept: a dropped iterator makes urllib3 close the connection
        next(lines)
        connections = list(server._uvicorn.server_state.connections)
        assert connections
        sockets = [c.transport.get_extra_info("socket") for c in connections]
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)
        response.close()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"fault": "nonsense"}, "fault mode"),
        ({"speculative": True, "num_steps": 3}, "all three"),
        ({"speculative": True, "num_steps": 2, "eagle_topk": 2, "num_draft_tokens": 9}, "draft tree"),
        ({"speculative": True, "algorithm": "lookahead"}, "NGRAM"),
        ({"hardware": "no-such-gpu"}, "no-such-gpu"),
        ({"time_scale": -1}, "time_scale"),
        ({"category_alpha": {"creative": 1.5}}, "[0, 1]"),
    ],
)
def test_bad_config_raises_clear_value_error(overrides, message):
    with pytest.raises(ValueError, match=None) as error:
        PracticeServer(PracticeConfig(**overrides))
    assert message in str(error.value)


# ------------------------------------------------------------------------------------------ CLI


def cli(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "core", "practice-server", *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_serves_until_ctrl_c():
    process = cli("--port", "0", "--speculative", "--time-scale", "0.05")
    try:
        first = process.stderr.readline()
        assert "listening on http://127.0.0.1:" in first
        url = first.strip().rsplit(" ", 1)[-1]
        assert "SIMULATED" in process.stderr.readline()
        meta = requests.post(url + "/generate", json=generate_body(stream=False), timeout=60).json()[
            "meta_info"
        ]
        assert meta["completion_tokens"] == 40 and meta["spec_verify_ct"] > 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_port_in_use_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = cli("--port", str(port))
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "already in use" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--fault", "bogus"], "invalid choice"),
        (["--speculative", "--steps", "3"], "all three"),
        (["--hardware", "nope", "--port", "0"], "nope"),
        (["--time-scale", "abc"], "invalid float"),
        (["--engine", "gpt5", "--port", "0"], "unknown engine"),
    ],
)
def test_cli_bad_arguments_exit_2(args, fragment):
    process = cli(*args)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert fragment in stderr and "Traceback" not in stderr
