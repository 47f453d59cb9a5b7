"""检查 01_rechunk: 切得对、参数立刻检查、攒够就交出、无限上游。"""

from __future__ import annotations

import itertools

from checklib import Source, expect_equal, fail, see

SEE = see("01_generator_basics", "5. 流水线: 每一片走完全程, 下一片才开始")
MISTAKES = see("01_generator_basics", "常见误区")


def check_results(ex):
    """切成正好 size 个字符的片, 最后一片可以更短"""
    cases = [
        (["ab", "cde", "f"], 2, ["ab", "cd", "ef"]),
        (["abcdefg"], 3, ["abc", "def", "g"]),
        (["a", "", "b", "", "c"], 2, ["ab", "c"]),
        (["流式输出", "🚀好"], 4, ["流式输出", "🚀好"]),
        ([], 3, []),
        (["", ""], 3, []),
        (["x" * 10], 1, ["x"] * 10),
    ]
    for pieces, size, expected in cases:
        expect_equal(list(ex.rechunk(pieces, size)), expected, f"rechunk({pieces!r}, {size})")


def check_size_checked_at_call(ex):
    """size 不是正数: 调用的那一刻就抛 ValueError"""
    for size in (0, -1):
        try:
            ex.rechunk(["abc"], size)  # 注意: 没有 next(), 也没有 list()
        except ValueError:
            continue
        fail(
            f"rechunk(..., {size}) 一调用就抛 ValueError",
            "调用时没有报错 (生成器的函数体要等第一次 next() 才执行, 检查被推迟了)",
            MISTAKES,
        )


def check_yields_as_soon_as_full(ex):
    """攒够 size 个字符就交出, 不等上游的下一片"""
    log: list[str] = []
    source = Source(["abcd", "ef"], log=log)
    for piece in ex.rechunk(source.gen(), 2):
        log.append(f"交出 {piece!r}")
    expected = ["上游产出 'abcd'", "交出 'ab'", "交出 'cd'", "上游产出 'ef'", "交出 'ef'"]
    expect_equal(log, expected, "发生的顺序")


def check_infinite(ex):
    """上游无限也能用, 只取需要的片"""
    source = Source(itertools.cycle(["ab"]), limit=100)
    got = list(itertools.islice(ex.rechunk(source.gen(), 3), 4))
    expect_equal(got, ["aba", "bab", "aba", "bab"], "无限的 'ab' 流, 每 3 个字符一片的前 4 片")
    expect_equal(source.pulled, 6, "拿到 12 个字符时, 上游产出的片数")
