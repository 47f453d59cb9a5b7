"""练习 01_rechunk (★★): 把任意长短的片重新切成固定长度

模型吐出来的片有长有短; 下游 (比如一个按固定大小发包的协议) 想要每片正好 size 个字符。

任务:
    rechunk(stream, size) 交出正好 size 个字符的片, 最后一片可以更短 (但不能是空串)。

做完的样子:
    - 攒够 size 个字符就立刻交出, 不多等上游的下一片;
    - 上游可以是无限的, 也可以有空串、有很长的片;
    - size 不是正数时, 调用 rechunk(...) 的那一刻就抛 ValueError, 而不是等到第一次 next()。

运行:
    python exercises/check.py 01_rechunk
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def rechunk(stream: Iterable[str], size: int) -> Iterator[str]:
    # TODO 1: size <= 0 时, 调用 rechunk(...) 就立刻抛 ValueError
    # TODO 2: 攒够 size 个字符就交出一片; 上游结束时, 交出剩下的 (如果有)
    raise NotImplementedError("TODO: 实现 rechunk")
