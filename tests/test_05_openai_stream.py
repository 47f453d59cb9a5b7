"""第 05 课的测试: 真正的 openai SDK (同步和异步) 连接模拟服务器, 只走 127.0.0.1。"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import openai_sim
import pytest
from conftest import EXAMPLES, ROOT, load_script, run_script, start_path
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
    assert result.usage["completion_tokens"] == pieces
    assert result.chunks == pieces + 3, "角色 chunk + 每个 token + finish chunk + 用量 chunk"
    assert result.first_reasoning <= result.first_content


def test_async_sdk_inside_an_async_generator_receives_the_same(sim):
    async def run():
        async with AsyncOpenAI(api_key="k", base_url=f"{sim.url}/v1", max_retries=0) as client:
            return await oa.astream_chat(client, MODEL, ask("你好"))

    result = asyncio.run(run())
    assert (result.reasoning, result.content) == expected("你好")
    assert result.finish_reason == "stop" and result.usage["total_tokens"] > 0


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
    assert oa.parse_chunk(last) == [("usage", last.usage.model_dump(exclude_unset=True))]
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
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("Invalid URL (GET /v1/nope)")
    assert missing.json()["error"]["type"] == "invalid_request_error"


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
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
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
        (["北京天气?", "--tools"], 'get_weather({"city":"北京"})'),
        (["你好", "--compare"], "不流式: 等到整个回答"),
        (["你好", "--raw"], "网络读取 (原始读法)"),
        (["你好", "--responses"], "response.output_text.delta"),
        (["你好", "--async"], "首个回答 token (TTFT)"),
        (["/long", "--max-chars", "30"], "'streams_cancelled': 1"),
        (["/cut"], "被截断"),
    ],
)
def test_terminal_client_modes(args, needle):
    result = run_script("05", *args, "--token-delay", "0")
    assert needle in result.stdout, result.stdout + result.stderr


def test_the_simulator_runs_alone_for_any_openai_client():
    with (
        start_path(EXAMPLES / "openai_sim.py", "--token-delay", "0") as server,
        OpenAI(api_key="any", base_url=f"{server.url}/v1", max_retries=0) as client,
    ):
        result = oa.stream_chat(client, "qwen-plus", ask(f"/echo {TRICKY}"))
    assert result.content == TRICKY
    assert server.proc.returncode == 0 and "模拟服务器已停止" in server.text()


# ---------- 工具调用: 按名字分派, 坏调用回给模型 ----------


@pytest.mark.parametrize(
    ("name", "arguments", "needle"),
    [
        ("get_weather", '{"city": "上海"}', "上海: 晴"),
        ("get_weather", '{"location": "Paris"}', "参数不对"),
        ("get_weather", '{"city": ', "不是合法的 JSON"),
        ("get_weather", "[1]", "JSON 对象"),
        ("send_email", "{}", "没有名为 'send_email' 的工具"),
    ],
)
def test_tool_calls_are_dispatched_by_name_and_mistakes_go_back_to_the_model(
    name, arguments, needle
):
    assert needle in oa.call_tool(name, arguments)


def test_tools_mode_survives_a_model_that_uses_other_argument_names():
    """另一个模型 (tests/bad_upstream.py) 用 location 而不是 city 调用工具: 不崩溃, 错误作为工具结果回给模型。"""
    with start_path(ROOT / "tests" / "bad_upstream.py") as upstream:
        args = ["tool-location", "--tools", "--base-url", f"{upstream.url}/v1", "--model", "bad"]
        result = run_script("05", *args, env={"OPENAI_API_KEY": "k"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "工具说:" in result.stdout and "参数不对" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["--async", "--tools"], ["--async", "--compare"], ["--async", "--max-chars", "5"],
     ["--raw", "--responses"], ["--responses", "--tools"], ["--max-output-tokens", "5"]],
)  # fmt: skip
def test_modes_that_do_not_combine_are_refused_clearly(args):
    result = run_script("05", "你好", *args)
    assert result.returncode == 2
    assert any(word in result.stderr for word in ("不能和", "只和", "只能选一个")), result.stderr


def test_compare_says_so_when_streaming_was_not_earlier():
    result = oa.StreamResult(first_reasoning=0.5, first_content=0.8)
    rows = dict(oa.compare_rows(0.2, result))
    assert "没有更早" in rows["流式: 第一个字 (思考过程)"], "不能说'快了 0 倍'"
    assert "早 0" not in "".join(rows.values())
    fast = dict(oa.compare_rows(2.0, oa.StreamResult(first_reasoning=0.1, first_content=0.4)))
    assert fast["流式: 第一个回答 token"].endswith("早 5.0 倍")


# ---------- 原始的读法与类型化的读法, 对模拟模型能发的每一个 chunk 都一致 ----------


def sim_chunks(sim, prompt: str, **extra) -> list[dict]:
    body = {"model": MODEL, "messages": ask(prompt), "stream": True,
            "stream_options": {"include_usage": True}, **extra}  # fmt: skip
    raw = httpx.post(f"{sim.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"})  # fmt: skip
    return [json.loads(e.data) for e in load_script("04").SSEDecoder().feed(raw.content) if e.data != "[DONE]"]  # fmt: skip


@pytest.mark.parametrize(
    ("prompt", "extra"),
    [("你好", {}), (f"/echo {TRICKY}", {}), ("/error", {}), ("/cut", {}),
     ("北京天气?", {"tools": [oa.WEATHER_TOOL]})],
)  # fmt: skip
def test_raw_and_typed_parsers_agree_on_every_chunk(sim, prompt, extra):
    from openai.types.chat import ChatCompletionChunk

    chunks = [c for c in sim_chunks(sim, prompt, **extra) if "error" not in c]
    assert chunks
    for data in chunks:
        typed = oa.parse_chunk(ChatCompletionChunk.model_validate(data))
        assert typed == oa.parse_chunk_data(data), data


# ---------- 模拟模型和真实的服务一样 ----------


FIXTURES = ROOT / "tests" / "fixtures"


def shape(value):
    """一个 JSON 值的"形状": 字典的键 (递归), 列表的元素形状, 叶子的类型。数字不分整数和小数。"""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__  # fmt: skip


def fixture_chunks(name: str) -> list[dict]:
    events = load_script("04").SSEDecoder().feed((FIXTURES / name).read_bytes())
    return [json.loads(e.data) for e in events if e.data != "[DONE]"]


def test_chat_chunks_have_every_field_a_real_stream_has(sim):
    real = fixture_chunks("chat_completion_stream.txt")
    ours = sim_chunks(sim, "/echo 你好！")
    pairs = [(real[0], ours[0]), (real[1], ours[1]), (real[3], ours[-2]), (real[4], ours[-1])]
    for expected, got in pairs:  # 第一个、文字、finish、用量
        assert shape(got) == shape(expected), (expected, got)
        assert list(got) == list(expected), "字段的顺序也一样"


def test_tool_call_chunks_have_every_field_a_real_stream_has(sim):
    real = fixture_chunks("chat_completion_tool_stream.txt")
    ours = sim_chunks(sim, "北京天气?", tools=[oa.WEATHER_TOOL])
    for expected, got in [(real[0], ours[0]), (real[1], ours[1]), (real[-2], ours[-2]), (real[-1], ours[-1])]:  # fmt: skip
        assert shape(got) == shape(expected), (expected, got)


def test_obfuscation_can_be_turned_off_and_ids_are_random(sim):
    plain = sim_chunks(sim, "/echo 好", stream_options={"include_usage": True, "include_obfuscation": False})  # fmt: skip
    assert all("obfuscation" not in c for c in plain)
    padded = sim_chunks(sim, "/echo 好")
    assert all(isinstance(c["obfuscation"], str) and c["obfuscation"] for c in padded)
    first, second = (sim_chunks(sim, "北京天气?", tools=[oa.WEATHER_TOOL]) for _ in range(2))
    ids = [chunks[0]["choices"][0]["delta"]["tool_calls"][0]["id"] for chunks in (first, second)]
    assert ids[0] != ids[1], "同一秒里的两次工具调用, id 也不能一样"
    assert all(i.startswith("call_") and len(i) == 29 for i in ids)
    assert first[-1]["usage"]["completion_tokens"] > 0, "工具调用的参数也是生成的 token"
    assert first[0]["id"] != second[0]["id"] and first[0]["id"].startswith("chatcmpl-")


def test_non_streamed_reply_has_the_fields_of_a_real_one(client):
    reply = client.chat.completions.create(model=MODEL, messages=ask("/echo 好"))
    assert reply.system_fingerprint.startswith("fp_") and reply.service_tier == "default"
    assert reply.choices[0].message.refusal is None and reply.choices[0].message.annotations == []
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0


def test_n_greater_than_one_is_refused_not_ignored(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=ask("hi"), n=2)
    assert info.value.body["param"] == "n"


def test_models_can_be_retrieved_one_by_one(client):
    assert client.models.retrieve("sim-reasoner").id == "sim-reasoner"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("no-such-model")
    assert info.value.body["code"] == "model_not_found"


def test_cut_ends_the_body_cleanly_but_drop_breaks_it(sim, client):
    url, auth = f"{sim.url}/v1/chat/completions", {"Authorization": "Bearer k"}
    body = {"model": MODEL, "messages": ask("/cut"), "stream": True}
    assert httpx.post(url, json=body, headers=auth).status_code == 200, "/cut: 响应体完整地结束了"
    with pytest.raises(httpx.RemoteProtocolError):  # /drop: 分块的响应体没有结尾
        httpx.post(url, json=body | {"messages": ask("/drop")}, headers=auth)
    cut, drop = (oa.stream_chat(client, MODEL, ask(p)) for p in ("/cut", "/drop"))
    partial = "".join(openai_sim.tokenize(expected("/cut")[1])[: openai_sim.ERROR_AFTER])
    assert cut.truncated and cut.error is None and cut.content == partial
    assert drop.error and drop.content == partial, "SDK 把断掉的连接报告为 APIConnectionError"


# ---------- Responses API ----------


def test_responses_stream_with_the_official_sdk(client):
    events = list(client.responses.create(model=MODEL, input="/echo 你好！", stream=True))
    types = [e.type for e in events]
    assert types == [e["type"] for e in fixture_events()], "和真实的流一样的事件顺序"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "你好！" and events[-1].response.output_text == "你好！"
    assert events[-1].response.usage.output_tokens == len(openai_sim.tokenize("你好！"))


def fixture_events() -> list[dict]:
    return fixture_chunks("responses_stream.txt")


def test_responses_events_have_every_field_a_real_stream_has(sim):
    body = {"model": MODEL, "input": "/echo 你好！", "stream": True}
    raw = httpx.post(f"{sim.url}/v1/responses", json=body, headers={"Authorization": "Bearer k"})
    assert b"[DONE]" not in raw.content, "Responses 的流没有 [DONE]"
    events = load_script("04").SSEDecoder().feed(raw.content)
    assert all(e.event == json.loads(e.data)["type"] for e in events), "event: 行和 type 一致"
    for expected, got in zip(fixture_events(), [json.loads(e.data) for e in events], strict=True):
        assert shape(got) == shape(expected), (expected["type"], got)


def test_responses_events_validate_against_the_sdk_types(sim):
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(ResponseStreamEvent)
    for prompt in ("你好", "/echo 好", "/error"):
        raw = httpx.post(f"{sim.url}/v1/responses", json={"model": MODEL, "input": prompt, "stream": True},
                         headers={"Authorization": "Bearer k"})  # fmt: skip
        for event in load_script("04").SSEDecoder().feed(raw.content):
            adapter.validate_python(json.loads(event.data), strict=True)  # 缺一个必需字段就会失败


def test_responses_reasoning_tools_errors_and_truncation(client):
    reasoning, answer = expected("你好")
    full = oa.stream_response(client, MODEL, "你好", lambda kind, text: None)
    assert (full.reasoning, full.text, full.status) == (reasoning, answer, "completed")
    assert full.in_order and full.usage.output_tokens_details.reasoning_tokens > 0
    failed = oa.stream_response(client, MODEL, "/error", lambda kind, text: None)
    assert failed.status == "failed" and "模拟的上游错误" in failed.detail
    cut = oa.stream_response(client, MODEL, "/cut", lambda kind, text: None)
    assert cut.status is None and cut.text, "没有终止事件: 被截断了"
    short = oa.stream_response(client, MODEL, "你好", lambda kind, text: None, max_output_tokens=40)
    assert (short.status, short.detail) == ("incomplete", "max_output_tokens")


def test_responses_tool_round_trip_and_non_streamed(client):
    tool = {"type": "function", "name": "get_weather", "parameters": oa.WEATHER_TOOL["function"]["parameters"]}  # fmt: skip
    first = client.responses.create(model=MODEL, input="北京天气?", tools=[tool])
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert call.call_id.startswith("call_") and json.loads(call.arguments) == {"city": "北京"}
    follow_up = [
        {"type": "item_reference", "id": call.id},  # 有的客户端只发上一轮输出项的 id
        {"type": "function_call_output", "call_id": call.call_id, "output": "北京: 晴, 22°C"},
    ]
    second = client.responses.create(model=MODEL, input=follow_up, tools=[tool])
    assert second.output_text == "根据工具的结果：北京: 晴, 22°C" and second.status == "completed"


def test_responses_non_streamed_passes_strict_validation(sim):
    with OpenAI(api_key="k", base_url=f"{sim.url}/v1", max_retries=0, _strict_response_validation=True) as strict:  # fmt: skip
        reply = strict.responses.create(model=MODEL, input="你好")
    assert reply.output_text == expected("你好")[1]
