"""第 05 课的测试: 真正的 openai SDK (同步和异步) 连接模拟服务器, 只走 127.0.0.1。"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import openai_sim
import pytest
from conftest import load_script, run_script, start_script
from openai import AsyncOpenAI, OpenAI

oa = load_script("05")
MODEL = "sim-reasoner"
TRICKY = "第一行\n\ndata: [DONE]\n\n<script>alert(1)</script>\r\n🚀👨‍👩‍👧 \r末尾"


@pytest.fixture(scope="module")
def sim():
    with openai_sim.running_in_thread(token_delay=0) as server:
        yield server


@pytest.fixture
def client(sim):
    with OpenAI(api_key="test-key", base_url=f"{sim.url}/v1", max_retries=0) as client:
        yield client


def ask(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def expected(question: str) -> tuple[str, str]:
    return (
        openai_sim.REASONING.format(question=question),
        openai_sim.ANSWER.format(question=question),
    )


def stats(sim) -> dict[str, int]:
    return httpx.get(f"{sim.url}/sim/stats").json()


def test_sync_sdk_receives_exactly_the_scripted_reply(client):
    result = oa.stream_chat(client, MODEL, ask("你好"))
    reasoning, answer = expected("你好")
    assert (result.reasoning, result.content) == (reasoning, answer)
    assert result.finish_reason == "stop" and not result.truncated and result.error is None
    pieces = len(openai_sim.tokenize(reasoning)) + len(openai_sim.tokenize(answer))
    assert result.usage.completion_tokens == pieces
    assert result.chunks == pieces + 3, "角色 chunk + 每个 token + finish chunk + 用量 chunk"
    assert result.first_reasoning <= result.first_content


def test_async_sdk_inside_an_async_generator_receives_the_same(sim):
    async def run():
        async with AsyncOpenAI(api_key="k", base_url=f"{sim.url}/v1", max_retries=0) as client:
            return await oa.astream_chat(client, MODEL, ask("你好"))

    result = asyncio.run(run())
    assert (result.reasoning, result.content) == expected("你好")
    assert result.finish_reason == "stop" and result.usage.total_tokens > 0


def test_echo_round_trips_tricky_text_exactly(client, sim):
    assert oa.stream_chat(client, MODEL, ask(f"/echo {TRICKY}")).content == TRICKY

    async def run():
        async with AsyncOpenAI(api_key="k", base_url=f"{sim.url}/v1", max_retries=0) as client:
            return await oa.astream_chat(client, MODEL, ask(f"/echo {TRICKY}"))

    assert asyncio.run(run()).content == TRICKY


def test_deltas_split_emoji_sequences_like_a_tokenizer():
    pieces = openai_sim.tokenize("一家人👨‍👩‍👧")
    assert "".join(pieces) == "一家人👨‍👩‍👧"
    assert not any(piece == "👨‍👩‍👧" for piece in pieces), "ZWJ 表情被切进了不同的 delta"


def test_error_mid_stream_raises_api_error_after_partial_text(client):
    stream = client.chat.completions.create(model=MODEL, messages=ask("/error"), stream=True)
    received = []
    with pytest.raises(openai.APIError, match="模拟的上游错误"):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    partial = "".join(openai_sim.tokenize(expected("/error")[1])[: openai_sim.ERROR_AFTER])
    assert "".join(received) == partial

    result = oa.stream_chat(client, MODEL, ask("/error"))
    assert result.content == partial, "出错前收到的内容要保留"
    assert "模拟的上游错误" in result.error


def test_usage_chunk_has_empty_choices_and_is_handled(client):
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=ask("/echo 好"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == 1
    with pytest.raises(IndexError):
        last.choices[0]  # 常见错误: 最后这个 chunk 没有 choices[0]
    assert oa.parse_chunk(last) == [("usage", last.usage)]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_reasoning_content_is_read_from_extra_fields(client):
    chunks = client.chat.completions.create(model=MODEL, messages=ask("嗨"), stream=True)
    first_text = next(c for c in chunks if c.choices and c.choices[0].delta.model_extra)
    delta = first_text.choices[0].delta
    assert delta.content is None and "reasoning_content" in delta.model_extra
    assert oa.parse_chunk(first_text) == [("reasoning", delta.model_extra["reasoning_content"])]
    chunks.close()


def test_tool_call_fragments_accumulate_into_valid_json(client):
    result = oa.stream_chat(client, MODEL, ask("北京天气?"), tools=[oa.WEATHER_TOOL])
    assert result.finish_reason == "tool_calls"
    (call,) = result.tool_calls.values()
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"city": "北京"}
    assert result.chunks > 4, "参数应当分好几个 chunk 到达"


def test_full_tool_loop_answers_from_the_tool_result(client):
    result = oa.run_with_tools(client, MODEL, "北京天气?", lambda kind, text: None)
    assert result.content == "根据工具的结果：北京: 晴, 22°C"


def test_stream_ending_without_finish_reason_is_flagged_truncated(client):
    result = oa.stream_chat(client, MODEL, ask("/cut"))
    assert result.truncated and result.finish_reason is None and result.error is None
    assert result.content


def test_breaking_off_early_closes_the_stream_and_stops_generation(client, sim):
    before = stats(sim)
    result = oa.stream_chat(client, MODEL, ask("/long"), max_chars=20)
    assert result.stopped_early and not result.truncated
    deadline = time.monotonic() + 5
    while stats(sim)["streams_cancelled"] == before["streams_cancelled"]:
        assert time.monotonic() < deadline, "服务器没有发现客户端已经走了"
        time.sleep(0.02)
    sent = stats(sim)["tokens_sent"]
    time.sleep(openai_sim.LONG_TOKEN_DELAY * 6)
    assert stats(sim)["tokens_sent"] == sent, "客户端走后, 不应再生成 token"


def test_any_model_name_is_echoed_and_models_are_listed(client):
    chunks = list(
        client.chat.completions.create(model="deepseek-chat", messages=ask("/echo x"), stream=True)
    )
    assert {c.model for c in chunks} == {"deepseek-chat"}
    assert MODEL in [m.id for m in client.models.list()]


def test_non_streaming_completion(client):
    completion = client.chat.completions.create(model=MODEL, messages=ask("你好"))
    reasoning, answer = expected("你好")
    assert completion.choices[0].message.content == answer
    assert completion.choices[0].message.model_extra["reasoning_content"] == reasoning


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], openai.BadRequestError),
        ([{"role": "user", "content": 5}], openai.BadRequestError),
        ([{"role": "robot", "content": "hi"}], openai.BadRequestError),
        ("not a list", openai.BadRequestError),
    ],
)
def test_bad_requests_raise_the_matching_sdk_exception(client, messages, error):
    with pytest.raises(error) as info:
        client.chat.completions.create(model=MODEL, messages=messages, stream=True)
    assert info.value.status_code == 400
    assert info.value.body["type"] == "invalid_request_error"


def test_raw_bad_requests_get_openai_shaped_errors(sim):
    url = f"{sim.url}/v1/chat/completions"
    auth = {"Authorization": "Bearer k"}
    body = {"model": MODEL, "messages": ask("hi")}
    no_key = httpx.post(url, json=body)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "invalid_api_key"
    broken = httpx.post(
        url, content=b"{bad json", headers=auth | {"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    no_model = httpx.post(url, json={"messages": ask("hi")}, headers=auth)
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"
    missing = httpx.get(f"{sim.url}/v1/nope", headers=auth)
    assert missing.status_code == 404 and "error" in missing.json()


def test_wire_format_is_what_the_sdk_expects(sim):
    body = {"model": MODEL, "messages": ask("/echo 你好🚀"), "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    raw = httpx.post(
        f"{sim.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"}
    )
    events = raw.text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    assert all(e.startswith("data: ") and "\n" not in e for e in events[:-1])
    assert "\nid:" not in raw.text and "\n:" not in raw.text, "没有 id: 字段, 没有注释行"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == "你好🚀"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2


def test_first_token_arrives_long_before_the_reply_ends(client, monkeypatch):
    monkeypatch.setattr(openai_sim.app.state, "token_delay", 0.01)
    result = oa.stream_chat(client, MODEL, ask("你好"))
    assert result.first_reasoning < result.total / 10, (result.first_reasoning, result.total)


# ---------- 像学习者一样运行 ----------


def test_terminal_client_without_a_key_simulates_and_prints_metrics():
    result = run_script("05", "你好", "--token-delay", "0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "没有找到 OPENAI_API_KEY" in out and "模拟" in out
    reasoning, answer = expected("你好")
    assert reasoning in out and answer in out
    for metric in ["首个回答 token (TTFT)", "总时间", "收到的 chunk", "用量", "stop"]:
        assert metric in out
    assert "\x1b[" not in out


def test_terminal_client_keeps_partial_text_on_error():
    result = run_script("05", "/error", "--token-delay", "0")
    assert result.returncode == 1
    partial = "".join(openai_sim.tokenize(expected("/error")[1])[: openai_sim.ERROR_AFTER])
    assert partial in result.stdout and "流在中途出错" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["北京天气?", "--tools"], "get_weather({'city': '北京'})"),
        (["你好", "--compare"], "不流式: 等到第一个字"),
        (["你好", "--async"], "首个回答 token (TTFT)"),
        (["/long", "--max-chars", "30"], "'streams_cancelled': 1"),
        (["/cut"], "被截断"),
    ],
)
def test_terminal_client_modes(args, needle):
    result = run_script("05", *args, "--token-delay", "0")
    assert needle in result.stdout, result.stdout + result.stderr


def test_serve_sim_works_for_any_openai_client():
    with (
        start_script("05", "--serve-sim", "--token-delay", "0") as server,
        OpenAI(api_key="any", base_url=f"{server.url}/v1", max_retries=0) as client,
    ):
        result = oa.stream_chat(client, "qwen-plus", ask(f"/echo {TRICKY}"))
    assert result.content == TRICKY
    assert server.proc.returncode == 0 and "模拟服务器已停止" in server.text()
