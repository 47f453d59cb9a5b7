"""常见写法: FastAPI StreamingResponse + AsyncOpenAI 的类型化 chunk, 自己拼 SSE 文本。

大多数教程就是这样把 OpenAI 的流转给浏览器的。协议和第 06 课相同: POST /chat {"messages": [...]},
回 event: delta / data: {"text": ...}, 最后 event: done。
"""

import json
import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI
from pydantic import BaseModel

client = AsyncOpenAI()  # 地址和 key 来自 OPENAI_BASE_URL / OPENAI_API_KEY
MODEL = os.environ.get("OPENAI_MODEL", "bench")
app = FastAPI()


class ChatRequest(BaseModel):
    messages: list[dict[str, str]]


def sse(event: str, payload: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


@app.post("/chat")
async def chat(request: ChatRequest) -> StreamingResponse:
    async def generate():
        stream = await client.chat.completions.create(
            model=MODEL, messages=request.messages, stream=True
        )
        finish_reason = None
        async for chunk in stream:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta.content:
                yield sse("delta", {"text": choice.delta.content})
            finish_reason = choice.finish_reason or finish_reason
        yield sse("done", {"finish_reason": finish_reason})

    return StreamingResponse(generate(), media_type="text/event-stream")
