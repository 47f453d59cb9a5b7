r"""练习 07_by_sentence (★★): 按句子发, 但一段文字最多攒 max_wait 秒

语音合成要整句才能读, 引用 [n] 也跟在句子后面: 有时要按句子发 (第 07 课 §6)。
可是一句很长的话, 或者模型说到一半停下来想一想 —— 读者不能一直对着已经生成的文字干等。

任务:
    by_sentence(source, max_wait) 是一个异步生成器。source 交出 (种类, 值):
    ("content", 文本) 是回答的文字; 其他种类 ("reasoning"、"event"、"finish"、"usage"……) 不是文字。
    你交出同样的 (种类, 值), 只是文字被重新切成了句子。

做完的样子:
    - 文字攒着, 直到出现句子的结尾 (SENTENCE_END: 。！？!? 和换行 \n): 到结尾为止的部分立刻交出, 剩下的接着攒;
      一片里有好几个结尾时, 到最后一个结尾为止的都交出 (拆成每句一项也可以);
    - 但一段文字最多攒 max_wait 秒 (从它最早的那个字到达时算起): 到时还没等到结尾, 没说完也先交出 ——
      即使这时上游一片都没有来 (模型说到一半停下来想了几秒);
    - 不是文字的一项: 立刻交出, 但先交出攒着的文字 (顺序不能乱: finish 不能跑到最后几个字前面);
    - 上游结束: 交出剩下的文字, 然后结束; 上游出错: 先交出攒着的文字, 再把错误抛出去;
    - 拼起来的文字和上游的一字不差; 不交出空字符串;
    - 消费者提前关闭 (aclose) 或任务被取消: 上游被关闭 (它的 finally 执行), 不留下任何任务。

运行:
    python exercises/check.py 07_by_sentence
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

SENTENCE_END = re.compile(r"[。！？!?\n]")

Item = tuple[str, Any]  # ("content", "你好。")、("finish", "stop")……


async def by_sentence(source: AsyncGenerator[Item, None], max_wait: float) -> AsyncIterator[Item]:
    # TODO 1: 等上游的下一项, 但有攒着的文字时最多等到它的期限 (注意: 超时不能取消上游的读取!)
    # TODO 2: 到了期限: 交出攒着的文字, 接着等同一次读取
    # TODO 3: 文字: 拼上, 交出到最后一个句子结尾为止的部分; 其他种类: 先交出攒着的文字, 再交出它
    # TODO 4: 结束、出错、提前关闭时的收尾 (finally 里: 还没完成的读取要取消, 上游要关闭)
    raise NotImplementedError("TODO: 实现 by_sentence")
    yield  # 有了 yield, 这个函数才是异步生成器
