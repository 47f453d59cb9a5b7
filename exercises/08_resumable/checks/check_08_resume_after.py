"""检查 08_resume_after: 没有 id、认得的位置、在任何地方断开再重连都不重复不遗漏、204、太新的位置、各种假 id。"""

from __future__ import annotations

from checklib import expect_equal, fail, see, show

SEE = see("08_resumable_streams", "3. 读者: 从日志读, 哪个 worker 都行")
IDS = see("08_resumable_streams", "2. 日志是唯一的真相: 事件 id = 它在日志里的位置")
NO_CONTENT = see("04_sse_protocol", "4. 服务器: 有编号的事件, 以及续传")

TEXT = "日志是唯一的真相"
LOG = [(i + 1, "delta", f'{{"text": "{ch}"}}') for i, ch in enumerate(TEXT)] + [
    (len(TEXT) + 1, "done", '{"finish_reason": "stop"}')
]
LAST = len(LOG)  # 9
FAKES = {  # 假 id → 它为什么骗人
    "abc": "不是数字",
    "-1": "负数: int() 认它, 做下标时 entries[-1:] 只剩最后一条",
    "-3": "负数",
    "+3": "int() 认它, 可我们从来不发带符号的 id",
    " 3": "int() 会去掉空格, 可我们从来不发带空格的 id",
    "3 ": "同上",
    "3\n": "同上 (换行)",
    "1_0": "int() 认下划线: int('1_0') == 10",
    "0x3": "十六进制",
    "3.0": "小数",
    "3e0": "科学计数法",
    "٣": "阿拉伯-印度数字 3: isdigit() 是 True, int() 也认",
    "３": "全角数字 3: isdigit() 是 True, int() 也认",
    "²": "上标 2: isdigit() 是 True, int() 却抛 ValueError",
    "3\x00": "带 NUL",
    "9" * 40: "四十位的数字",
    "9" * 5000: "五千位的数字: int() 会抛 ValueError (Python 限制了字符串转整数的位数)",
}


def ids(events) -> list[int] | None:
    return None if events is None else [entry[0] for entry in events]


def call(ex, entries, finished: bool, raw):
    """调用 to_send; 抛异常就是没通过 (坏的请求头不能变成 500)。"""
    try:
        result = ex.to_send(entries, finished, raw)
    except Exception as exc:
        fail(
            f"Last-Event-ID={show(raw)}: 不抛异常 (坏的请求头不能变成 500)",
            f"{type(exc).__name__}: {exc}",
        )
    return None if result is None else list(result)


def expect_sent(ex, entries, finished: bool, raw, first: int | None, why: str, where=None) -> None:
    """first: 期望从哪个位置开始发; None: 期望 204。"""
    got = call(ex, entries, finished, raw)
    state = "已结束" if finished else "还在生成"
    if first is None:
        if got is not None:
            fail(
                f"日志{state}、共 {len(entries)} 条, Last-Event-ID={show(raw)} ({why}): 返回 None (204)",
                f"返回了位置 {ids(got)}",
                where or NO_CONTENT,
            )
        return
    want = list(entries[first - 1 :])
    if got != want:
        if got is None:
            actual = "返回了 None (204): 读者会以为已经读完了"
        else:
            actual = f"返回了位置 {ids(got)}"
            if extra := [p for p in ids(got) if p < first]:
                actual += f"; 多了 {extra}: Last-Event-ID 是客户端收到的最后一条, 它已经有了"
            if missing := [p for p in ids(want) if p not in ids(got)]:
                actual += f"; 漏掉了 {missing}"
        fail(
            f"日志{state}、共 {len(entries)} 条, Last-Event-ID={show(raw)} ({why}): 发位置 {ids(want)}",
            actual,
            where,
        )


def check_no_header(ex):
    """没有 Last-Event-ID (None 或 ""): 从头读"""
    expect_equal(ex.resume_after(None, LAST), 0, "resume_after(None, 9)")
    expect_equal(ex.resume_after("", LAST), 0, 'resume_after("", 9)')
    expect_sent(ex, LOG, True, None, 1, "新的读者")
    expect_sent(ex, LOG, False, "", 1, "空的请求头也是新的读者")
    expect_sent(ex, [], False, None, 1, "还没有任何事件: 返回 []")


def check_known_positions(ex):
    """认得的位置 n: 从 n + 1 接着发"""
    expect_equal(ex.resume_after("4", LAST), 4, 'resume_after("4", 9)')
    expect_equal(ex.resume_after("0", LAST), 0, 'resume_after("0", 9)')
    expect_equal(ex.resume_after("9", LAST), 9, 'resume_after("9", 9)')
    expect_sent(ex, LOG, True, "4", 5, "收到了第 4 条", IDS)
    expect_sent(ex, LOG, True, "0", 1, "0 也是我们认得的位置: 从头")
    expect_sent(ex, LOG, True, "8", 9, "只差最后一条")


def check_reconnect_anywhere(ex):
    """在任何一条之后断开、带着它的 id 重连: 两次连接合起来, 恰好是整个日志, 不重复不遗漏"""
    for finished in (False, True):
        entries = LOG if finished else LOG[:-1]
        for k in range(len(entries) + 1):
            first = list(entries[:k])  # 第一次连接收到了前 k 条, 然后断开
            raw = str(first[-1][0]) if first else None
            rest = call(ex, entries, finished, raw)
            if finished and k == len(entries):
                continue  # 全部收到了: 应当是 204, 下一项检查专门看它
            both = first + (rest or [])
            if both != list(entries):
                state = "已结束" if finished else "还在生成"
                fail(
                    f"日志{state}, 收到前 {k} 条后带着 Last-Event-ID={show(raw)} 重连: "
                    f"两次合起来是位置 {ids(entries)}",
                    f"第二次返回 {ids(rest)}, 合起来是 {ids(both)}",
                    IDS,
                )


def check_no_content_only_when_complete(ex):
    """204 只在"已经结束、而且最后一条已经收到"时; 还在生成时返回 [] 接着等"""
    expect_sent(ex, LOG, True, str(LAST), None, "已结束, 最后一条已经收到了")
    expect_sent(ex, LOG[:-1], False, str(LAST - 1), LAST, "还在生成、已是最新: 返回 [], 接着等")
    expect_sent(ex, LOG, True, None, 1, "已结束, 新的读者 (另一个标签页) 照样从头读")
    expect_sent(ex, LOG, True, "abc", 1, "已结束, 看不懂的 id: 从头读, 不是 204")


def check_future_positions_restart(ex):
    """比最后一条还大的位置: 从头读 (宁可重复, 不可遗漏)"""
    expect_equal(ex.resume_after("10", LAST), 0, 'resume_after("10", 9) (位置 10 还不存在)')
    expect_equal(ex.resume_after("1", 0), 0, 'resume_after("1", 0) (日志还是空的)')
    expect_sent(ex, LOG, True, "10", 1, "比最后一条还大: 多半是一个新 run, 从头读")
    expect_sent(ex, LOG, True, "999999999", 1, "比最后一条大得多")
    expect_sent(ex, LOG[:3], False, "7", 1, "同一个 run id 的新日志只有 3 条: 不能等到第 8 条才发")


def check_fake_ids_restart(ex):
    """看起来像数字的假 id (负数、符号、空格、全角、上标、超长): 从头读, 而且不抛异常"""
    for raw, why in FAKES.items():
        try:
            after = ex.resume_after(raw, LAST)
        except Exception as exc:
            fail(
                f"resume_after({show(raw)}, 9) 返回 0, 不抛异常 ({why})",
                f"{type(exc).__name__}: {exc}",
            )
        if after != 0:
            fail(f"resume_after({show(raw)}, 9) 是 0 ({why})", f"{after}")
        expect_sent(ex, LOG, True, raw, 1, f"不是我们发出去的 id: {why}")
