"""Request and response models of the practice server, mirroring SGLang 0.5.23's.

Names, types and defaults follow SGLang: ``sglang/srt/managers/io_struct.py`` (``GenerateReqInput``),
``sglang/srt/sampling/sampling_params.py`` and ``sglang/srt/entrypoints/openai/protocol.py`` /
``sse_utils.py`` (OpenAI models). Only the fields the practice server acts on are declared; other
fields SGLang knows (``lora_path``, ``return_logprob``, ``tools``, ...) are accepted and ignored
(``extra="ignore"``), so requests written for a real server are not refused here. Keys that SGLang
leaves out of a response when they are None are left out here too.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

__all__ = [
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionResponseChoice",
    "ChatCompletionResponseStreamChoice",
    "ChatCompletionStreamResponse",
    "ChatMessage",
    "CompletionRequest",
    "CompletionResponse",
    "CompletionResponseStreamChoice",
    "CompletionStreamResponse",
    "DeltaMessage",
    "ErrorResponse",
    "GenerateReqInput",
    "ModelCard",
    "ModelList",
    "SamplingParams",
    "SglExt",
    "SpecTokensDetails",
    "StreamOptions",
    "UsageInfo",
]

FinishName = Literal["stop", "length", "tool_calls", "content_filter", "function_call", "abort"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _OmitNone(BaseModel):
    """A response model that drops the keys listed in ``_omit_if_none`` when their value is None."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _serialize(self, handler):
        data = handler(self)
        for key in self._omit_if_none:
            if data.get(key, 0) is None:
                data.pop(key)
        return data


# ------------------------------------------------------------------------------------------ native


class SamplingParams(_Request):
    """SGLang's ``sampling_params`` object (``sampling_params.py``): unset fields take these defaults."""

    max_new_tokens: int | None = 128
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    min_p: float = 0.0
    ignore_eos: bool = False
    skip_special_tokens: bool = True
    sampling_seed: int | None = None


class GenerateReqInput(_Request):
    """The native ``POST /generate`` body (``io_struct.GenerateReqInput``), one prompt per request."""

    text: str | list[str] | None = None
    input_ids: list[int] | list[list[int]] | None = None
    sampling_params: SamplingParams | None = None
    rid: str | None = None
    stream: bool = False


# ------------------------------------------------------------------------------------------ OpenAI


class StreamOptions(_Request):
    include_usage: bool | None = False
    continuous_usage_stats: bool | None = False


class _OpenAIRequest(_Request):
    model: str = "default"
    n: int = 1
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    top_k: int = -1
    ignore_eos: bool = False
    return_spec_tokens_details: bool = False


class CompletionRequest(_OpenAIRequest):
    """``POST /v1/completions``: ``max_tokens`` defaults to 16 as in OpenAI's API."""

    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0


class ChatCompletionRequest(_OpenAIRequest):
    """``POST /v1/chat/completions``; no ``max_tokens`` means up to the context length."""

    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None


class UsageInfo(BaseModel):
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens: int | None = 0
    prompt_tokens_details: dict | None = None
    reasoning_tokens: int | None = 0


class SpecTokensDetails(BaseModel):
    """Per-request speculative decoding statistics (``sglext.spec_tokens_details``, 0.5.21+)."""

    spec_accept_rate: float = 0.0
    spec_accept_length: float = 0.0
    spec_cap_length: float = 0.0
    spec_block_accept_length: float = 0.0
    spec_num_correct_drafts: int = 0
    spec_num_proposed_drafts: int = 0
    spec_verify_ct: int = 0
    spec_correct_drafts_histogram: list[int] = Field(default_factory=list)
    spec_cap_lens_histogram: list[int] = Field(default_factory=list)


class SglExt(_OmitNone):
    _omit_if_none = ("spec_tokens_details",)
    spec_tokens_details: SpecTokensDetails | None = None


class DeltaMessage(_OmitNone):
    """A chat stream delta. As SGLang's msgspec ``StreamDelta``: role and content are left out when None,
    ``reasoning_content`` is always sent (null or a string)."""

    _omit_if_none = ("role", "content")
    reasoning_content: str | None = None
    role: str | None = None
    content: str | None = None


class ChatCompletionResponseStreamChoice(BaseModel):
    index: int = 0
    delta: DeltaMessage
    logprobs: dict | None = None
    finish_reason: FinishName | None = None
    matched_stop: int | str | None = None


class ChatCompletionStreamResponse(_OmitNone):
    _omit_if_none = ("usage", "sglext")
    id: str
    object: str = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatCompletionResponseStreamChoice]
    usage: UsageInfo | None = None
    sglext: SglExt | None = None


class ChatMessage(BaseModel):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None


class ChatCompletionResponseChoice(BaseModel):
    index: int = 0
    message: ChatMessage
    logprobs: dict | None = None
    finish_reason: FinishName | None = None
    matched_stop: int | str | None = None


class ChatCompletionResponse(_OmitNone):
    _omit_if_none = ("sglext",)
    id: str
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatCompletionResponseChoice]
    usage: UsageInfo
    metadata: dict | None = None
    sglext: SglExt | None = None


class CompletionResponseStreamChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: dict | None = None
    finish_reason: FinishName | None = None
    matched_stop: int | str | None = None


class CompletionStreamResponse(_OmitNone):
    _omit_if_none = ("sglext",)
    id: str
    object: str = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionResponseStreamChoice]
    usage: UsageInfo | None = None
    sglext: SglExt | None = None


class CompletionResponse(_OmitNone):
    _omit_if_none = ("sglext",)
    id: str
    object: str = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionResponseStreamChoice]
    usage: UsageInfo
    metadata: dict | None = None
    sglext: SglExt | None = None


class ErrorResponse(BaseModel):
    """OpenAI-route errors (``{"object": "error", ...}``), HTTP 400 for a bad request."""

    object: str = "error"
    message: str
    type: str
    param: str | None = None
    code: int


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "sglang"
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard] = Field(default_factory=list)
