"""检查 01_budget: 截断得对、不多取、各种结束方式都关闭上游。

注意: 检查一直持有上游生成器的引用 (就像真实代码里还有别的对象引用着那条连接),
所以不能指望垃圾回收替你关闭它。
"""

from __future__ import annotations

from checklib import Source, expect_equal, fail, see

SEE = see("01_generator_basics", "8. close() 与 finally: 消费者提前停下时的清理")
WORDS = ["流式", "输出", "真", "好用"]


def check_results(ex):
    """一共最多 max_chars 个字符, 超出的那一片被截短"""
    cases = [(100, WORDS), (5, ["流式", "输出", "真"]), (4, ["流式", "输出"]), (3, ["流式", "输"])]
    for budget, expected in cases:
        got = list(ex.within_budget(Source(WORDS).gen(), budget))
        expect_equal(got, expected, f"within_budget({WORDS!r}, {budget})")


def check_no_extra_pull(ex):
    """额度用完就停: 不再从上游取下一片"""
    source = Source(WORDS)
    upstream = source.gen()
    list(ex.within_budget(upstream, 4))
    expect_equal(source.pulled, 2, "额度 4 个字、上游前两片正好 4 个字时, 从上游取的片数")
    source = Source(WORDS)
    upstream = source.gen()
    expect_equal(list(ex.within_budget(upstream, 0)), [], "额度 0 时交出的片")
    expect_equal(source.pulled, 0, "额度 0 时, 从上游取的片数")


def check_closed_when_budget_used(ex):
    """额度用完时, 上游的 finally 已经执行"""
    source = Source(WORDS)
    upstream = source.gen()
    list(ex.within_budget(upstream, 3))
    if not source.closed:
        fail("额度用完、你的生成器结束时, 上游已经被 close()", "上游还暂停在 yield 处, 连接没有关")


def check_closed_when_consumer_closes(ex):
    """消费者中途 close() 你的生成器: 上游也被关闭"""
    source = Source(WORDS)
    upstream = source.gen()
    limited = ex.within_budget(upstream, 100)
    next(limited)
    limited.close()  # 用户点了"停止"
    if not source.closed:
        fail(
            "对你的生成器调用 close() 之后, 上游也已经被 close()",
            "上游没有被关闭: GeneratorExit 出现在你的 yield 处, 需要 try/finally",
        )


def check_closed_when_upstream_ends_or_fails(ex):
    """上游读完: 正常结束; 上游出错: 异常原样传给消费者"""
    source = Source(["短"])
    upstream = source.gen()
    expect_equal(list(ex.within_budget(upstream, 100)), ["短"], "上游只有一片时交出的片")

    def broken():
        yield "一半"
        raise ConnectionError("连接断了")

    got = []
    try:
        for piece in ex.within_budget(broken(), 100):
            got.append(piece)
    except ConnectionError:
        expect_equal(got, ["一半"], "出错之前交出的片")
        return
    fail("上游抛出的 ConnectionError 传到消费者", f"没有异常, 拿到 {got!r}")
