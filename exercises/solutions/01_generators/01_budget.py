"""参考答案: 练习 01_budget —— 字数用完就停, 并且立刻关闭上游。先自己做, 再来对照。"""

from __future__ import annotations

from collections.abc import Generator, Iterator


def within_budget(stream: Generator[str, None, None], max_chars: int) -> Iterator[str]:
    left = max_chars
    try:
        while left > 0:  # 先看额度, 再去取: 额度用完时不会多等一片
            try:
                piece = next(stream)
            except StopIteration:
                return
            yield piece[:left]
            left -= len(piece)
    finally:
        # 额度用完、上游读完或出错、消费者 close() 了我们 (GeneratorExit 出现在 yield 处): 都到这里。
        stream.close()
