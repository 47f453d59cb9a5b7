"""FastAPI 自带的 SSE (fastapi.sse, FastAPI ≥ 0.140): 路由函数本身是生成器, 交出 ServerSentEvent。

照 FastAPI 文档: response_class=EventSourceResponse, data= 的值由 FastAPI 编码成 JSON。
协议和第 06 课相同: POST /chat → event: delta / done。
"""

import os
from collections.abc import AsyncIterable

from fastapi import FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent
from openai import AsyncOpenAI
from pydantic import BaseModel

client = AsyncOpenAI()  # 地址和 key 来自 OPENAI_BASE_URL / OPENAI_API_KEY
MODEL = os.environ.get("OPENAI_MODEL", "bench")
app = FastAPI()


class ChatRequest(BaseModel):
    messages: list[dict[str, str]]


@app.post("/chat", response_class=EventSourceResponse)
async def chat(request: ChatRequest) -> AsyncIterable[ServerSentEvent]:
    stream = await client.chat.completions.create(
        model=MODEL, messages=request.messages, stream=True
    )
    finish_reason = None
    async for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            yield ServerSentEvent(data={"text": choice.delta.content}, event="delta")
        finish_reason = choice.finish_reason or finish_reason
    yield ServerSentEvent(data={"finish_reason": finish_reason}, event="done")
