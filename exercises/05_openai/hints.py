"""第 05 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "05_parse_chunk": [
        'for choice in data.get("choices") or []: —— 键不存在、值是 null、值是 [] 都能正确处理。',
        'delta 也一样: delta = choice.get("delta") or {}。content 用 if delta.get("content"): 判断, "" 和 None 都不算。',
        'error 可能是 dict 也可能是字符串: isinstance(error, dict) 时取 error.get("message"), 否则 str(error)。',
    ],
    "05_tool_calls": [
        '用一个 dict 按 index 存放: calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})。',
        'function 可能没有或是 null: function = fragment.get("function") or {}; 然后 name 和 arguments 都用'
        ' (function.get(...) or "") 再拼接。',
        'id 不拼接: call["id"] = call["id"] or fragment.get("id") or ""。result() 里按 sorted(calls) 的顺序输出。',
    ],
    "05_stream_stats": [
        "时间都是相对的: t = now - self.start。first_token 和 ttft 只在它们还是 None 的时候设置。",
        '"非空"才算: if delta.get("content"): —— 第一个 chunk 的 content 是 "", 推理 chunk 的 content 是 None。',
        'if chunk.get("usage"): self.usage = chunk["usage"] —— 不要每个 chunk 都无条件赋值, 否则 null 会覆盖它。',
        "tokens_per_second: 先检查 usage、first_token、total 都不是 None, 再算 seconds = total - first_token,"
        " seconds > 0 才相除。",
    ],
    "05_raw_stream": [
        '和练习 02_line_reader 一样按字节切行: *lines, buffer = buffer.split(b"\\n"), 每行 removesuffix(b"\\r") 再解码。',
        '只处理以 "data:" 开头的行: payload = line[5:].strip()。payload == "[DONE]" 时直接 return ——'
        " 不要 break 内层循环然后回到 async for, 那样会再读一次 source。",
        "json.loads 失败会抛 ValueError (JSONDecodeError 是它的子类): 换成 StreamError。",
        "整个 async for 放进 try/finally, finally 里 await source.aclose()。",
    ],
}
