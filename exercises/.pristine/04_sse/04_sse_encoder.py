r"""练习 04_sse_encoder (★): 任何文本都破坏不了分帧的 SSE 编码器

模型的输出是任意文本。假如它恰好写出 "好的\n\ndata: [DONE]\n\n", 一个偷懒的编码器
(f"data: {text}\n\n") 会让客户端以为流在这里结束了。

任务:
    encode_event(data, event=None, id=None) 返回一条 SSE 事件的 UTF-8 字节:
    可选的 "event: ..." 行和 "id: ..." 行, 然后每一行文本一个 "data: ..." 行, 最后一个空行。

做完的样子:
    - 客户端按规范解析你的输出, 得到的正好是一条事件, data 和原文一样
      (规范规定: \r\n 和 \r 到了客户端都变成 \n, 这是允许的);
    - 只有 \r\n、\r、\n 是 SSE 的换行。U+2028、U+2029、\x85、\v、\f 不是 —— 它们要原样留在 data 里
      (小心: str.splitlines() 会在这些字符处切开);
    - event 或 id 里有换行, 或者 id 里有 NUL: 抛 ValueError (不要悄悄地改掉它)。

运行:
    python exercises/check.py 04_sse_encoder
"""

from __future__ import annotations


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    # TODO 1: 检查 event 和 id
    # TODO 2: 按 SSE 的三种换行把 data 切成行, 每行一个 "data: " 行; 以空行结束; 编码成 UTF-8
    raise NotImplementedError("TODO: 实现 encode_event")
