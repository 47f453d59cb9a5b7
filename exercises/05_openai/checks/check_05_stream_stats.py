"""检查 05_stream_stats: 用一条写好时刻的"时间线"喂进去 (确定的时间, 不依赖机器快慢)。"""

from __future__ import annotations

from checklib import expect_equal, fail, see

SEE = see("05_openai_stream", "4. 首字时间与总时间")
PARTS = see("05_openai_stream", "2. 从 chunk 到增量")
START = 100.0
USAGE = {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39}


def chunk(delta=None, finish=None):
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {"object": "chat.completion.chunk", "choices": [choice], "usage": None}


REASONING_ANSWER = [  # (到达时刻, chunk): 一个推理模型的完整回答
    (100.05, chunk({"role": "assistant", "content": ""})),
    (100.10, chunk({"reasoning_content": "", "content": None})),
    (100.20, chunk({"reasoning_content": "想一想", "content": None})),
    (100.90, chunk({"content": ""})),
    (101.00, chunk({"content": "答案"})),
    (101.50, chunk({"content": "是 42"})),
    (102.00, chunk({}, "stop")),
    (102.05, {"choices": [], "usage": USAGE}),
]


def run(ex, timeline, end=102.2):
    stats = ex.StreamStats(START)
    for at, data in timeline:
        stats.add(data, at)
    if end is not None:
        stats.finish(end)
    return stats


def close(a, b):
    return a is not None and b is not None and abs(a - b) < 1e-9


def expect_time(actual, expected, what, see_=SEE):
    if not (actual is None and expected is None or close(actual, expected)):
        fail(f"{what} 是 {expected}", "None" if actual is None else f"{actual:.3f}", see_)


def check_first_token_and_ttft(ex):
    """首字时间: 空的 content、只有 role 的 chunk 都不算; 推理在前, 回答在后"""
    stats = run(ex, REASONING_ANSWER)
    expect_time(stats.first_token, 0.2, "first_token (第一个非空的推理内容)", PARTS)
    expect_time(stats.ttft, 1.0, "ttft (第一个非空的回答内容)", PARTS)
    expect_equal(stats.chunks, len(REASONING_ANSWER), "chunks")


def check_total_usage_finish(ex):
    """总时间、用量 (在 choices 为空的 chunk 里)、finish_reason"""
    stats = run(ex, REASONING_ANSWER)
    expect_time(stats.total, 2.2, "total")
    expect_equal(stats.usage, USAGE, "usage")
    expect_equal(stats.finish_reason, "stop", "finish_reason")
    late_null = REASONING_ANSWER + [(102.1, {"choices": [], "usage": None})]
    expect_equal(run(ex, late_null).usage, USAGE, '最后又来一个 "usage": null 之后的 usage')


def check_tokens_per_second(ex):
    """生成速度 = completion_tokens / (total - first_token)"""
    stats = run(ex, REASONING_ANSWER)
    expect_time(stats.tokens_per_second, 30 / 2.0, "tokens_per_second (30 个 token, 2.0 秒)")


def check_no_division_errors(ex):
    """没有用量、没有任何 token、时间为零: 返回 None, 不抛异常"""
    no_usage = run(ex, REASONING_ANSWER[:-1])
    expect_equal(no_usage.tokens_per_second, None, "没有用量时的 tokens_per_second")
    empty = run(ex, [(100.1, chunk({}, "stop")), (100.2, {"choices": [], "usage": USAGE})])
    expect_equal((empty.first_token, empty.ttft), (None, None), "空回答的 (first_token, ttft)")
    expect_equal(empty.tokens_per_second, None, "空回答的 tokens_per_second")
    instant = run(
        ex, [(100.5, chunk({"content": "x"}, "stop")), (100.5, {"usage": USAGE})], end=100.5
    )
    expect_equal(instant.tokens_per_second, None, "total 等于 first_token 时的 tokens_per_second")


def check_truncated(ex):
    """流结束了却没有 finish_reason: truncated"""
    expect_equal(run(ex, REASONING_ANSWER).truncated, False, "正常结束的 truncated")
    cut = run(ex, REASONING_ANSWER[:5])
    expect_equal(
        (cut.finish_reason, cut.truncated), (None, True), "中途断开的 (finish_reason, truncated)"
    )
    length = run(ex, [(100.3, chunk({"content": "太长"})), (100.4, chunk({}, "length"))])
    expect_equal(
        (length.finish_reason, length.truncated), ("length", False), "因为 max_tokens 停下"
    )
