"""检查 05_tool_calls: 一个调用切成很多碎片、两个调用交错、一次到齐、重复的 id、null 字段。"""

from __future__ import annotations

import json

from checklib import expect_equal, fail, see, show

SEE = see("05_openai_stream", "6. 工具调用: 碎片要拼完整")


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def fragments(index: int, call_id: str, name: str, arguments: str, size: int = 3) -> list[dict]:
    """像 OpenAI 一样: 第一片带 id、type、名字和空参数, 之后每片只有一小段参数。"""
    first = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    rest = [{"index": index, "function": {"arguments": part}} for part in pieces(arguments, size)]
    return [first, *rest]


def run(ex, chunks: list[list[dict] | None]) -> list[dict[str, str]]:
    calls = ex.ToolCalls()
    for delta_tool_calls in chunks:
        calls.add(delta_tool_calls)
    return calls.result()


def expect_json(call: dict, expected: dict) -> None:
    try:
        arguments = json.loads(call["arguments"])
    except (ValueError, KeyError):
        fail(
            "拼好的 arguments 是合法的 JSON",
            f"{show(call.get('arguments'))}: 碎片少了、多了或顺序乱了",
        )
    expect_equal(arguments, expected, "解析后的参数")


def check_single_call(ex):
    """一个调用, 参数被切成很多碎片"""
    arguments = json.dumps({"city": "北京"})  # ensure_ascii: 碎片会切在 \\u5317 的中间
    got = run(ex, [[f] for f in fragments(0, "call_1", "get_weather", arguments)])
    expect_equal(len(got), 1, "调用的个数")
    expect_equal((got[0]["id"], got[0]["name"]), ("call_1", "get_weather"), "(id, name)")
    expect_json(got[0], {"city": "北京"})


def check_interleaved_calls(ex):
    """两个调用的碎片交错到达, index 1 先到; 结果按 index 排序"""
    a = fragments(0, "call_a", "get_weather", '{"city": "上海"}', size=2)
    b = fragments(1, "call_b", "get_time", '{"zone": "Asia/Shanghai"}', size=4)
    order = [
        b[0],
        a[0],
        *[f for pair in zip(b[1:], a[1:], strict=False) for f in pair],
        *b[len(a) :],
        *a[len(b) :],
    ]
    got = run(ex, [[f] for f in order])
    expect_equal([c["id"] for c in got], ["call_a", "call_b"], "按 index 排序后的 id")
    expect_json(got[0], {"city": "上海"})
    expect_json(got[1], {"zone": "Asia/Shanghai"})


def check_many_fragments_in_one_chunk(ex):
    """一个 chunk 里有两个调用的片段, 或者整个调用一次到齐"""
    whole = {"index": 0, "id": "c0", "function": {"name": "f", "arguments": '{"a": 1}'}}
    other = {"index": 1, "id": "c1", "function": {"name": "g", "arguments": "{}"}}
    got = run(ex, [[whole, other]])
    expect_equal(got, [
        {"id": "c0", "name": "f", "arguments": '{"a": 1}'},
        {"id": "c1", "name": "g", "arguments": "{}"},
    ], "拼好的调用")  # fmt: skip


def check_repeated_id_and_split_name(ex):
    """每个片段都重复 id: id 不拼接; 名字被切开: 拼起来"""
    chunks = [
        [{"index": 0, "id": "call_9", "function": {"name": "get_", "arguments": '{"q"'}}],
        [{"index": 0, "id": "call_9", "function": {"name": "weather", "arguments": ': "x"}'}}],
    ]
    got = run(ex, chunks)
    expect_equal(got[0]["id"], "call_9", "重复出现的 id")
    expect_equal(got[0]["name"], "get_weather", "切开的名字拼起来")
    expect_json(got[0], {"q": "x"})


def check_null_fields(ex):
    """片段里的字段缺失或为 null; add(None) 和 add([]) 什么都不做"""
    chunks = [
        None,
        [],
        [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": None}}],
        [{"index": 0, "id": None, "function": None}],
        [{"index": 0, "function": {"name": None, "arguments": "{}"}}],
    ]
    got = run(ex, chunks)
    expect_equal(got, [{"id": "c", "name": "f", "arguments": "{}"}], "拼好的调用")
