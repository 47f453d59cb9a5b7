"""练习 01_budget (★★): 字数用完就停, 并且立刻关闭上游

上游是一个生成器, 就像一条到模型服务商的连接: 它的 finally 里会关闭连接。
用户的额度只剩 max_chars 个字, 超出的部分不能发, 连接也要马上关掉 —— 不能等垃圾回收。

任务:
    within_budget(stream, max_chars) 把上游的片原样交出, 一共最多 max_chars 个字符;
    会超出额度的那一片, 只交出额度以内的部分。

做完的样子:
    - 额度用完就停, 不再从上游取下一片 (取下一片 = 再等模型一个 token);
    - 无论怎样结束 —— 额度用完、上游读完、上游出错、消费者对你的生成器调用 close() ——
      都调用上游的 close(), 让它的 finally 立刻执行。

运行:
    python exercises/check.py 01_budget
"""

from __future__ import annotations

from collections.abc import Generator, Iterator


def within_budget(stream: Generator[str, None, None], max_chars: int) -> Iterator[str]:
    # TODO 1: 交出上游的片, 累计不超过 max_chars 个字符; 额度用完就停, 不再取下一片
    # TODO 2: 无论怎样结束, 都要 stream.close()
    raise NotImplementedError("TODO: 实现 within_budget")
    yield  # 有了 yield, 这个函数才是生成器
