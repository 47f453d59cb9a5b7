"""在空闲端口上运行 relay_bench 里的一个应用, 打印就绪行 (和 06 一样的 uvicorn 设置)。

    python tools/relay_bench/serve.py upstream --port 8100
    python tools/relay_bench/serve.py usual --port 8101 --base-url http://127.0.0.1:8100/v1
    curl -N http://127.0.0.1:8101/chat -H 'Content-Type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "/bench tokens=5"}]}'
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket

import uvicorn

HOST = "127.0.0.1"  # 基准只在本机跑
APPS = {  # 名字 → 模块 (同目录)
    "upstream": "upstream",
    "raw": "raw_asgi",
    "usual": "usual",
    "sse-starlette": "sse_starlette_app",
    "fastapi.sse": "fastapi_sse_app",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="运行 relay 基准里的一个应用")
    parser.add_argument("app", choices=APPS, help="哪一个应用")
    parser.add_argument("--port", type=int, default=0, help="端口, 0 = 任意空闲端口 (默认 0)")
    parser.add_argument("--base-url", help="relay 读的上游, 例如 http://127.0.0.1:8100/v1")
    args = parser.parse_args(argv)
    if args.base_url:
        # 各个 relay 照官方文档写 AsyncOpenAI(): 地址和 key 从环境变量读, 所以要在导入之前设好。
        os.environ["OPENAI_BASE_URL"] = args.base_url
        os.environ.setdefault("OPENAI_API_KEY", "bench")
    module = importlib.import_module(APPS[args.app])
    # 和 06 (openai_sim.serve) 相同的 uvicorn 设置, 比较才公平。
    config = uvicorn.Config(module.app, log_level="warning", timeout_graceful_shutdown=1)
    sock = socket.create_server((HOST, args.port))  # 先绑定: --port 0 时也能报出真实端口
    print(f"服务已启动: http://{HOST}:{sock.getsockname()[1]}", flush=True)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
