"""第 04 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "04_sse_encoder": [
        'SSE 只认三种换行: re.split(r"\\r\\n|\\r|\\n", data)。注意顺序: \\r\\n 要写在 \\r 前面。',
        "str.splitlines() 还会在 \\v、\\f、\\x1c、\\x85、U+2028、U+2029 处切开 —— 那些字符客户端不认为是换行,"
        " 所以编码器也不能在那里切。",
        '每一行 f"data: {line}"; event 和 id 行放在前面; 用 "\\n" 连起来, 最后再加 "\\n\\n", encode("utf-8")。',
    ],
    "04_resume": [
        '先把 last_event_id 分成三类: 没有 (None 或 "")、认得的编号、认不出。',
        '判断"是不是编号"不要用 isdigit() 或 try: int(...): 用 re.fullmatch(r"[0-9]{1,18}", s)。'
        " 太长的数字 int() 也会抛 ValueError (Python 限制了字符串转整数的位数)。",
        "编号连续, 所以认得的编号 n 在 first - 1 <= n <= last 之间, 要发的是 history[n - first + 1:]。",
    ],
    "04_sse_decoder": [
        "从第 04 课的 SSEDecoder 开始 (lessons/04_sse_protocol.md 第 3 节), 它已经处理了切开的 UTF-8、BOM、"
        "被切开的 \\r\\n。你要改的是 id 什么时候生效。",
        "加一个 self._id_buffer: id 行只写它。派发 (空行) 的第一步: self.last_event_id = self._id_buffer ——"
        " 在判断 data 是否为空之前, 所以只有 id 的事件也会让它生效。",
        '构造函数里 self._id_buffer 也要从 last_event_id 开始, 否则 SSEDecoder("41") 之后的第一条事件会变成 id=""。',
    ],
}
