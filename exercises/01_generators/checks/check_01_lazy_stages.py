"""检查 01_lazy_stages: 结果、惰性、无限上游、流水线顺序。"""

from __future__ import annotations

import inspect
import itertools

from checklib import Source, expect_equal, fail, see

SEE = see("01_generator_basics", "5. 流水线: 每一片走完全程, 下一片才开始")
LAZY = see("01_generator_basics", "3. 惰性: 要一个, 算一个")


def check_results(ex):
    """keep 只留下符合条件的片, transform 变换每一片"""
    words = ["流", "式输", "", "出真", "好用"]
    expect_equal(list(ex.keep(words, bool)), ["流", "式输", "出真", "好用"], "keep(片, bool)")
    expect_equal(
        list(ex.keep(words, lambda s: len(s) == 2)), ["式输", "出真", "好用"], "keep(片, 长度为 2)"
    )
    expect_equal(list(ex.transform(["ab", "c"], str.upper)), ["AB", "C"], "transform(片, upper)")
    expect_equal(list(ex.keep([], bool)), [], "keep([], bool)")


def check_lazy(ex):
    """调用时不从上游取任何东西, 返回的是生成器"""
    for name in ("keep", "transform"):
        source = Source(["a", "b"])
        stage = getattr(ex, name)(source.gen(), str.upper if name == "transform" else bool)
        if not inspect.isgenerator(stage):
            fail(f"{name}(...) 返回一个生成器", f"返回了 {type(stage).__name__}", LAZY)
        if source.pulled:
            fail(f"调用 {name}(...) 之后, 上游一片都没被取", f"已经取了 {source.pulled} 片", LAZY)


def check_infinite(ex):
    """上游无限也能用, 而且只取需要的那几片"""
    source = Source(itertools.count(1), limit=100)
    got = list(itertools.islice(ex.transform(source.gen(), lambda n: n * 10), 3))
    expect_equal(got, [10, 20, 30], "前 3 片")
    expect_equal(source.pulled, 3, "transform 取前 3 片时, 上游产出的片数")
    source = Source(itertools.count(1), limit=100)
    got = list(itertools.islice(ex.keep(source.gen(), lambda n: n % 2 == 0), 3))
    expect_equal(got, [2, 4, 6], "keep(偶数) 的前 3 片")
    expect_equal(source.pulled, 6, "keep(偶数) 取前 3 片时, 上游产出的片数 (1~6)")


def check_pipeline_order(ex):
    """串成流水线: 每一片走完全程, 下一片才开始"""
    log: list[str] = []
    source = Source(["a", "b", "c"], log=log)
    for piece in ex.transform(ex.keep(source.gen(), lambda s: s != "b"), str.upper):
        log.append(f"消费者拿到 {piece!r}")
    expected = [
        "上游产出 'a'",
        "消费者拿到 'A'",
        "上游产出 'b'",
        "上游产出 'c'",
        "消费者拿到 'C'",
    ]
    expect_equal(log, expected, "发生的顺序")
