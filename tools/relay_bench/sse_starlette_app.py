"""sse-starlette 的写法: EventSourceResponse + AsyncOpenAI 的类型化 chunk。

照 sse-starlette 的 README: 生成器交出 {"event": ..., "data": ...} 字典, 库负责编码、保活和断开检测。
协议和第 06 课相同: POST /chat → event: delta / done。
"""

import json
import os

from fastapi import FastAPI
from openai import AsyncOpenAI
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

client = AsyncOpenAI()  # 地址和 key 来自 OPENAI_BASE_URL / OPENAI_API_KEY
MODEL = os.environ.get("OPENAI_MODEL", "bench")
app = FastAPI()


class ChatRequest(BaseModel):
    messages: list[dict[str, str]]


@app.post("/chat")
async def chat(request: ChatRequest) -> EventSourceResponse:
    async def events():
        stream = await client.chat.completions.create(
            model=MODEL, messages=request.messages, stream=True
        )
        finish_reason = None
        async for chunk in stream:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta.content:
                text = json.dumps({"text": choice.delta.content}, ensure_ascii=False)
                yield {"event": "delta", "data": text}
            finish_reason = choice.finish_reason or finish_reason
        yield {"event": "done", "data": json.dumps({"finish_reason": finish_reason})}

    return EventSourceResponse(events())
