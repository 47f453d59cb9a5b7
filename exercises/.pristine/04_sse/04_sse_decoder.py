r"""练习 04_sse_decoder (★★★): 按规范的增量 SSE 解码器 (id 在派发时才生效)

第 04 课的 SSEDecoder 几乎完全按 HTML 标准实现, 只差一处: 一读到 "id:" 行就更新了 last_event_id。
规范里, id 行只写进一个缓冲区; 要等这条事件的空行到了 (派发时), 才成为 "last event ID" ——
重连时放进 Last-Event-ID 请求头的那个值。差别在连接断在一条事件中间的时候:

    id: 7
    data: 第七条的前半    <- 连接在这里断了, 第 7 条从没派发

按课上的写法, 客户端会带着 Last-Event-ID: 7 重连, 第 7 条就永远丢了。

任务:
    写出完整的 SSEDecoder: feed(字节) 返回这段字节里完整结束的事件; last_event_id 是已经生效的 id。

规则 (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
    - 字节可能在任何地方被切开 (包括一个汉字中间、\r 和 \n 之间); 按 UTF-8 增量解码, 坏字节变成 U+FFFD
    - 流开头的一个 BOM (U+FEFF) 去掉; 只去一个, 只在开头
    - \r\n、\r、\n 都是换行
    - 空行: 派发事件。以 ":" 开头的行: 注释, 忽略
    - "名字:值" —— 冒号后面如果有一个空格, 只去掉这一个; 没有冒号的行, 整行是名字, 值为空
    - data: 追加一行 (多行用 \n 连接); event: 设置事件类型; retry: 全是 ASCII 数字才设置 self.retry
    - id: 值里没有 NUL 才写进 id 缓冲区 (空值也算, 它会把 id 清空); 其他名字一律忽略, 名字区分大小写
    - 派发时: 先让 id 缓冲区生效 (self.last_event_id = 缓冲区); data 为空就到此为止, 不产生事件;
      否则产生 Event(data, 事件类型或 "message", self.last_event_id), 然后清空 data 和事件类型
    - 最后没有空行的半条事件不派发, 它的 id 也不生效

运行:
    python exercises/check.py 04_sse_decoder
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    data: str
    event: str = "message"
    id: str = ""


class SSEDecoder:
    def __init__(self, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id  # 已经生效的 id: 重连时放进 Last-Event-ID
        self.retry: int | None = None  # 服务器建议的重连间隔 (毫秒)
        # TODO: 你需要的其他状态 (UTF-8 增量解码器、半行、data 行、事件类型、id 缓冲区……)

    def feed(self, chunk: bytes) -> list[Event]:
        # TODO: 解码、切行、逐行处理, 返回这段字节里完整结束的事件
        raise NotImplementedError("TODO: 实现 SSEDecoder.feed")
