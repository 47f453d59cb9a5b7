"""练习 01_lazy_stages (★): 惰性的过滤与变换 —— 一次只从上游取一片

任务:
    写两个流水线环节, 都用 yield 写成生成器:
    - keep(stream, predicate): 只交出 predicate(片) 为真的片 (像 filter)
    - transform(stream, func): 把每一片换成 func(片) 再交出 (像 map)

做完的样子:
    - 调用 keep(...) / transform(...) 时什么都不发生, 第一次 next() 才开始从上游取;
    - 上游是无限的也没关系: islice(transform(无限流, f), 3) 只让上游产出 3 片;
    - 串起来时, 每一片走完全程, 下一片才开始 (第 01 课 §5 的流水线顺序)。
    不要用 list()、sorted()、"".join() 把流攒起来; 也不要直接返回 filter()/map(), 自己用 yield 写。

运行:
    python exercises/check.py 01_lazy_stages
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


def keep(stream: Iterable[str], predicate: Callable[[str], bool]) -> Iterator[str]:
    # TODO: 遍历 stream, 只 yield 让 predicate 返回真的片
    raise NotImplementedError("TODO: 实现 keep (for + if + yield)")


def transform(stream: Iterable[str], func: Callable[[str], str]) -> Iterator[str]:
    # TODO: 遍历 stream, yield func(片)
    raise NotImplementedError("TODO: 实现 transform (for + yield)")
