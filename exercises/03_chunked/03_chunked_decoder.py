r"""练习 03_chunked_decoder (★★★): 增量的分块解码器 —— 一个字节一个字节地喂

第 03 课的 read_chunks 靠 readline()/read(n) "拉"数据。事件驱动的程序 (asyncio 的 Protocol、
浏览器、代理) 反过来: 网络送来一段字节, 就"推"给解码器, 切在哪里都有可能。

任务:
    ChunkedDecoder 的 feed(data) 每次收到任意一段字节, 返回这段字节里新解出来的响应体数据。

规则:
    - 一块 = 长度行 + 数据 + \r\n。长度行: 十六进制数字, 后面可以有空格或制表符, 再可以有 ";扩展" (忽略);
      只接受 0-9 a-f A-F (Python 的 int(x, 16) 还接受 "0x10"、"1_0"、"+5"、" 5", 这些都要拒绝)
    - 长度为 0 的块之后是 trailer 行 ("名字: 值", 存进 self.trailers, 名字小写, 值去掉两边空白), 以空行结束;
      读完这个空行, self.done 变成 True
    - 每一行都以 \r\n 结尾, 数据之后必须紧跟 \r\n; 只有 \n 是格式错误
    - 数据一到就交出: 一块 5 个字节的数据只到了 2 个, 就先返回这 2 个
    - done 之后再喂进来的字节 (属于下一个响应) 放进 self.unused
    - 格式错误抛 ValueError; 一行超过 max_line 个字节还没结束, 也抛 ValueError (别无限地攒下去)

运行:
    python exercises/check.py 03_chunked_decoder
"""

from __future__ import annotations


class ChunkedDecoder:
    def __init__(self, max_line: int = 4096) -> None:
        self.max_line = max_line
        self.done = False
        self.trailers: dict[str, str] = {}
        self.unused = b""
        # TODO: 你需要的其他状态 (还没处理完的字节、当前在读什么、这一块还剩几个字节……)

    def feed(self, data: bytes) -> bytes:
        # TODO: 解出这段字节里的响应体数据并返回; 格式错误抛 ValueError
        raise NotImplementedError("TODO: 实现 ChunkedDecoder.feed")
