"""nginx 的代理缓冲对一条流做了什么? 在一次运行里量出来: 第一个事件多久到、客户端一共读了几次。

一个很小的上游 (uvicorn, 可以指定 h11 或 httptools) 每隔 --interval 秒发一个 SSE 事件, 可以带或不带
X-Accel-Buffering: no; 前面是一个用默认缓冲设置的 nginx (proxy_buffering on, proxy_buffer_size = 一页 4 KB),
连上游的方式分别是 nginx 的默认 (HTTP/1.0) 和 proxy_http_version 1.1。所有的组合同时跑, 一轮的时间 = 一条流的时间。
只用 127.0.0.1; 进程都是自己启动、自己停掉的。

    python tools/nginx_buffering.py                        # 20 个 60 字节的事件, 每 0.2 秒一个
    python tools/nginx_buffering.py --size 1000            # 每个事件 1000 字节: 攒满 4 KB 就会转发
    python tools/nginx_buffering.py --upstream --port 0    # 只运行那个小上游 (测试用)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from procs import load_example, start

HERE = Path(__file__).resolve()
NGINX_CONF = """
worker_processes 1;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path @PREFIX@/client_body; proxy_temp_path @PREFIX@/proxy;
    fastcgi_temp_path @PREFIX@/fastcgi; uwsgi_temp_path @PREFIX@/uwsgi; scgi_temp_path @PREFIX@/scgi;
    server {
        listen 127.0.0.1:@PORT@;
        # 除了 proxy_http_version, 一切都是 nginx 的默认值: proxy_buffering on, 缓冲区一页 (4 KB)
@LOCATIONS@
    }
}
"""


# ---------- 上游: 每隔 interval 秒一个事件 ----------


async def upstream_app(scope, receive, send) -> None:
    """GET /?n=20&interval=0.2&size=60&header=1: n 个事件; header=1 时带 X-Accel-Buffering: no。"""
    if scope["type"] != "http":
        return
    query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
    n, interval = min(int(query.get("n", 20)), 1000), float(query.get("interval", 0.2))
    size = min(int(query.get("size", 60)), 100_000)
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    if query.get("header") == "1":
        headers.append((b"x-accel-buffering", b"no"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i in range(n):
        body = b"id: %d\ndata: %s\n\n" % (i + 1, b"x" * size)
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await asyncio.sleep(interval)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def run_upstream(port: int, http: str) -> int:
    import uvicorn

    sse = load_example("04_sse_protocol.py")
    config = uvicorn.Config(upstream_app, log_level="warning", http=http)
    sock = socket.create_server(("127.0.0.1", port))
    print(f"服务已启动: http://127.0.0.1:{sock.getsockname()[1]}  (HTTP 实现: {http})", flush=True)
    try:
        sse.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0


# ---------- 客户端: 原始 socket, 记下每一次读 ----------


@dataclass
class Reading:
    first: float  # 第一个事件到达用了几秒 (从发出请求算起)
    reads: int  # 一共读了几次 (每次 recv 拿到的是 nginx 一次写出的东西, 大致如此)
    total: float  # 整条流用了几秒
    events: int  # 收到了几个事件


def measure(port: int, path: str) -> Reading:
    start_at = time.perf_counter()
    first, reads, data = None, 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" not in data:
                continue  # 响应头还没收完
            reads += 1
            if first is None and b"\ndata: " in data.partition(b"\r\n\r\n")[2]:
                first = time.perf_counter() - start_at
    total = time.perf_counter() - start_at
    return Reading(first if first is not None else total, reads, total, data.count(b"\ndata: "))


# ---------- 把它们搭起来 ----------


@dataclass(frozen=True)
class Case:
    http: str  # 上游的 HTTP 实现: h11 / httptools
    header: bool  # 上游发不发 X-Accel-Buffering: no
    proxy: str  # "direct" (不经过 nginx) / "1.0" (nginx 的默认) / "1.1"


CASES = [
    Case("h11", True, "direct"),
    Case("h11", True, "1.0"),
    Case("h11", False, "1.0"),
    Case("h11", False, "1.1"),
    Case("httptools", True, "1.0"),
    Case("httptools", False, "1.0"),
]


def have_httptools() -> bool:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return False
    return True


def nginx_conf(prefix: Path, port: int, upstreams: dict[str, int]) -> str:
    locations = []
    for http, up in upstreams.items():
        for version in ("1.0", "1.1"):
            locations.append(
                f"        location /{http}/{version}/ {{ proxy_pass http://127.0.0.1:{up}/; "
                f"proxy_http_version {version}; }}"
            )
    text = NGINX_CONF.replace("@LOCATIONS@", "\n".join(locations))
    return text.replace("@PREFIX@", str(prefix)).replace("@PORT@", str(port))


def run_cases(
    cases: list[Case], n: int, interval: float, size: int, nginx: str
) -> dict[Case, Reading]:
    """启动需要的上游和一个 nginx, 所有组合同时量一遍, 停掉一切。"""
    services = load_example("local_services.py")  # 空闲端口、等端口、停进程
    results: dict[Case, Reading] = {}
    with tempfile.TemporaryDirectory(prefix="nginx-buffering-") as tmp, ExitStack() as stack:
        upstreams = {}
        for http in sorted({c.http for c in cases}):
            proc, _, port = start(HERE, "--upstream", "--http", http)
            stack.callback(services.stop_process, proc)
            upstreams[http] = port
        port = services.free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(nginx_conf(Path(tmp), port, upstreams), encoding="utf-8")

        proc = subprocess.Popen(
            [nginx, "-p", tmp, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(services.stop_process, proc)
        services.wait_for_port(port, proc)

        def one(case: Case) -> None:
            query = f"?n={n}&interval={interval}&size={size}&header={int(case.header)}"
            if case.proxy == "direct":
                results[case] = measure(upstreams[case.http], "/" + query)
            else:
                results[case] = measure(port, f"/{case.http}/{case.proxy}/{query}")

        threads = [threading.Thread(target=one, args=(c,)) for c in cases]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=n * interval + 60)
    return results


def report(results: dict[Case, Reading], n: int, interval: float, size: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{n} 个事件, 每个 {size + 12} 字节左右, 每 {interval:g} 秒一个 (一条流 {n * interval:g} 秒)")  # fmt: skip
    for column in ("上游", "X-Accel-Buffering: no", "nginx → 上游", "第一个事件", "读了几次", "收到事件"):  # fmt: skip
        table.add_column(column, justify="right" if column[0] in "第读收" else "left")
    proxies = {"direct": "不经过 nginx", "1.0": "HTTP/1.0 (默认)", "1.1": "HTTP/1.1"}
    for case in [c for c in CASES if c in results]:
        r = results[case]
        table.add_row(case.http, "有" if case.header else "没有", proxies[case.proxy],
                      f"{r.first:.2f} 秒", str(r.reads), str(r.events))  # fmt: skip
    Console(highlight=False, width=110).print(table)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(
        description="量一量 nginx 的代理缓冲对一条流做了什么 (只用本机)"
    )
    add = parser.add_argument
    add("--events", type=int, default=20, help="每条流几个事件 (默认 20, 最多 200)")
    add("--interval", type=float, default=0.2, help="两个事件之间的秒数 (默认 0.2)")
    add("--size", type=int, default=60, help="每个事件 data 的字节数 (默认 60, 像一小段回答)")
    add("--upstream", action="store_true", help="只运行那个小上游 (测试和本工具自己用)")
    add("--port", type=int, default=0, help="--upstream 的端口, 0 = 任意 (默认 0)")
    add("--http", default="h11", choices=["h11", "httptools"], help="--upstream 的 HTTP 实现 (默认 h11)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.upstream:
        return run_upstream(args.port, args.http)
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)  # fmt: skip
    if not nginx:
        print(
            "没有找到 nginx。Debian/Ubuntu: sudo apt-get install -y nginx; macOS: brew install nginx"
        )
        return 1
    cases = CASES if have_httptools() else [c for c in CASES if c.http == "h11"]
    if not have_httptools():
        print("没有安装 httptools, 只量 h11 (想对照: python -m pip install httptools)")
    n = min(args.events, 200)
    results = run_cases(cases, n, args.interval, args.size, nginx)
    report(results, n, args.interval, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
