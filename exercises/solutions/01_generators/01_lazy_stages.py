"""参考答案: 练习 01_lazy_stages —— 惰性的过滤与变换。先自己做, 再来对照。"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


def keep(stream: Iterable[str], predicate: Callable[[str], bool]) -> Iterator[str]:
    for piece in stream:  # 取一片, 判断一片, 交出一片: 从不多取
        if predicate(piece):
            yield piece


def transform(stream: Iterable[str], func: Callable[[str], str]) -> Iterator[str]:
    for piece in stream:
        yield func(piece)
