"""The tiny engine behind the practice server: real tokens, identical greedy outputs, honest spec fields."""

import json

import pytest
import requests

from core.serving.practice_server import PracticeConfig, PracticeServer
from core.tiny_models.suite import tiny_prompt_suite

PROMPTS = [p.text for p in tiny_prompt_suite()[::4]]


def _generate(url: str, text: str, max_new_tokens: int = 24, temperature: float = 0.0) -> dict:
    body = {"text": text, "sampling_params": {"temperature": temperature, "max_new_tokens": max_new_tokens}}
    response = requests.post(url + "/generate", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def plain():
    with PracticeServer(PracticeConfig(engine="tiny")) as server:
        yield server


@pytest.mark.parametrize("algorithm", ["STANDALONE", "EAGLE", "NGRAM"])
def test_speculative_server_gives_the_plain_servers_output(plain, algorithm):
    config = PracticeConfig(
        engine="tiny", speculative=True, algorithm=algorithm, num_steps=3, eagle_topk=1, num_draft_tokens=4
    )
    with PracticeServer(config) as spec:
        info = requests.get(spec.url + "/server_info", timeout=10).json()
        assert info["speculative_algorithm"] == algorithm
        for text in PROMPTS:
            base, fast = _generate(plain.url, text), _generate(spec.url, text)
            assert fast["output_ids"] == base["output_ids"]
            meta = fast["meta_info"]
            assert meta["completion_tokens"] == len(fast["output_ids"])
            assert meta["spec_verify_ct"] >= 1
            assert 1.0 <= meta["spec_accept_length"] <= 4.0
            assert "spec_verify_ct" not in base["meta_info"] or base["meta_info"]["spec_verify_ct"] == 0


def test_text_is_the_decoded_ids(plain):
    from core.tiny_models import load_models

    result = _generate(plain.url, "def main():\n")
    assert result["text"] == load_models().tokenizer.decode(result["output_ids"])


def test_bad_requests_get_4xx(plain):
    too_long = "x = 1\n" * 400
    response = requests.post(plain.url + "/generate", json={"text": too_long}, timeout=30)
    assert 400 <= response.status_code < 500
    assert "context" in json.dumps(response.json())


def test_unsupported_settings_are_refused():
    with pytest.raises(ValueError, match="topk 1"):
        PracticeServer(
            PracticeConfig(
                engine="tiny",
                speculative=True,
                algorithm="EAGLE",
                num_steps=3,
                eagle_topk=2,
                num_draft_tokens=4,
            )
        )
    with pytest.raises(ValueError, match="timing"):
        PracticeServer(PracticeConfig(engine="tiny", timing="sundial"))


def test_ngram_with_sglangs_defaults_serves_one_branch_and_says_so():
    # `speclab practice-server --engine tiny --speculative --algorithm NGRAM`: no --topk given, so SGLang's
    # default breadth of 10 is not the user's choice; the engine drafts its one chain and notes it
    from core.serving.practice_server.engines.tiny import TinyEngine

    engine = TinyEngine(PracticeConfig(engine="tiny", speculative=True, algorithm="NGRAM"))
    assert engine.settings.eagle_topk == 1
    assert engine.num_draft == engine.settings.num_draft_tokens - 1 >= 1
    assert any("one branch" in note for note in engine.notes)
    with pytest.raises(ValueError, match="topk 1"):  # a breadth the user asked for is still refused
        TinyEngine(PracticeConfig(engine="tiny", speculative=True, algorithm="NGRAM", eagle_topk=4))


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"text": "hi", "sampling_params": {"temperature": -1}},
            "non-negative finite number",
        ),  # SGLang's rule
        (
            {"text": "hi", "sampling_params": {"temperature": 50}},
            "temperature must lie in [0, 10]",
        ),  # the engine's
        ({"input_ids": [1, 99999]}, "Token ID 99999 is out of vocabulary"),
    ],
)
def test_requests_the_engine_refuses_get_400_not_500(plain, body, message):
    response = requests.post(plain.url + "/generate", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    streamed = requests.post(plain.url + "/generate", json={**body, "stream": True}, timeout=30)
    events = [line for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert message in events[0] and '"code": 400' in events[0].replace(":400", ": 400")
    assert events[-1] == "data: [DONE]"
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 50}
    answer = requests.post(plain.url + "/v1/chat/completions", json=chat, timeout=30)
    assert answer.status_code == 400 and answer.json()["type"] == "BadRequestError"
