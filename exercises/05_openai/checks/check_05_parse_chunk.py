"""检查 05_parse_chunk: 线上真实出现过的各种 chunk 形状。"""

from __future__ import annotations

from checklib import expect_equal, fail, see, show

SEE = see("05_openai_stream", "2. 从 chunk 到增量")
WIRE = see("05_openai_stream", "1. 线上的字节")
USAGE = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
CALL = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}


def chunk(delta=None, finish=None, **extra):
    """一个普通的 chunk, 和线上一样带着 "usage": null。"""
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "choices": [choice],
        "usage": None,
    } | extra


def expect_parts(ex, data, expected, what):
    try:
        got = ex.parse_chunk(data)
    except (IndexError, KeyError, TypeError, AttributeError) as exc:
        fail(f"{what}: {show(expected)}", f"{type(exc).__name__}: {exc}\nchunk 是 {show(data)}")
    expect_equal(got, expected, what)


def check_content_stream(ex):
    """一次普通的回答: 第一个 chunk、内容、结束"""
    expect_parts(ex, chunk({"role": "assistant", "content": ""}), [], "第一个 chunk (只有 role)")
    expect_parts(ex, chunk({"content": "你好"}), [("content", "你好")], "内容 chunk")
    expect_parts(ex, chunk({}, "stop"), [("finish", "stop")], "结束 chunk")


def check_usage_chunk(ex):
    """用量 chunk: choices 是空列表"""
    data = {"id": "chatcmpl-x", "choices": [], "usage": USAGE}
    expect_parts(ex, data, [("usage", USAGE)], "用量 chunk (choices 是 [])")


def check_missing_or_null_fields(ex):
    """没有 choices、choices 是 null、delta 是 null、content 是 null"""
    expect_parts(ex, {"id": "x", "usage": USAGE}, [("usage", USAGE)], "没有 choices 键的 chunk")
    expect_parts(ex, {"id": "x", "choices": None, "usage": None}, [], "choices 是 null 的 chunk")
    expect_parts(ex, chunk(None, "length"), [("finish", "length")], "delta 是 null 的 chunk")
    expect_parts(
        ex, chunk({"content": None, "tool_calls": None}), [], "content 和 tool_calls 都是 null"
    )
    expect_parts(ex, {"choices": [{"index": 0}]}, [], "choice 里只有 index")


def check_reasoning_and_tools(ex):
    """推理内容、工具调用片段 (原样交出)"""
    expect_parts(
        ex,
        chunk({"content": None, "reasoning_content": "先想想"}),
        [("reasoning", "先想想")],
        "推理 chunk",
    )
    expect_parts(
        ex,
        chunk(
            {"content": None, "tool_calls": [CALL, {"index": 1, "function": {"arguments": "{"}}]}
        ),
        [("tool_call", CALL), ("tool_call", {"index": 1, "function": {"arguments": "{"}})],
        "工具调用 chunk (两个片段)",
    )


def check_order_within_chunk(ex):
    """一个 chunk 里的顺序: 用量在前; 每个 choice 里 reasoning、content、finish"""
    data = {
        "choices": [
            {
                "index": 0,
                "delta": {"reasoning_content": "想", "content": "答"},
                "finish_reason": "stop",
            },
            {"index": 1, "delta": {"content": "另一个"}, "finish_reason": None},
        ],
        "usage": USAGE,
    }
    expected = [
        ("usage", USAGE),
        ("reasoning", "想"),
        ("content", "答"),
        ("finish", "stop"),
        ("content", "另一个"),
    ]
    expect_parts(ex, data, expected, "两个 choice 并且带用量的 chunk")


def check_error_chunk(ex):
    """流中途的错误: 抛 StreamError, 带着服务商的说明"""
    for data, message in [
        ({"error": {"message": "模型过载", "type": "server_error"}}, "模型过载"),
        ({"error": "上游超时"}, "上游超时"),
    ]:
        try:
            ex.parse_chunk(data)
        except ex.StreamError as exc:
            if message not in str(exc):
                fail(f"StreamError 的说明里有 {message!r}", show(str(exc)), WIRE)
            continue
        fail(f"{show(data)}: 抛 StreamError", "没有抛出")
