"""第 03 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "03_encode_chunked": [
        '一帧: f"{len(data):X}\\r\\n".encode() + data + b"\\r\\n"。len(data) 是字节数, 因为 data 已经是 bytes。',
        '"调用时就报错"和"惰性"要分开: encode_chunked 是普通函数, 检查 trailers, 然后 return 一个内部生成器'
        " (和练习 01_rechunk 一样)。",
        '结束块: b"0\\r\\n" + 每个 trailer 一行 "名字: 值\\r\\n" + b"\\r\\n"。名字可以用正则'
        " [!#$%&'*+\\-.^_`|~0-9A-Za-z]+ 检查 (HTTP 的 token)。",
    ],
    "03_request_head": [
        'readline() 返回的那一行如果不以 b"\\n" 结尾, 说明连接在这一行中间断了 —— 这就是课上那段代码漏掉的情况。'
        ' 第一行就是 b"" 时, 才是"什么都没收到"。',
        '按 latin-1 解码 (每个字节对应一个字符, 永远不会失败), 再 removesuffix("\\n").removesuffix("\\r")。',
        "请求行用正则: ([A-Z]+) (/\\S*) (HTTP/1\\.[01]), 配合 fullmatch。请求头: 名字 (token 字符) 紧跟冒号,"
        ' 所以 "Host : x" 和以空格开头的折行都匹配不上。',
        "reader.readline() 遇到超过 limit 的一行会抛 ValueError: 把它变成 BadRequest(431)。"
        " 循环最多读 max_headers + 1 行 (加上结尾的空行)。",
    ],
    "03_chunked_decoder": [
        "这是一个状态机。状态: 读长度行 / 读数据 / 读数据后面的 \\r\\n / 读 trailer 行。"
        " 收到的字节先放进一个 buffer, 每种状态只处理 buffer 里够用的那部分, 不够就等下一次 feed。",
        "读数据的状态: 还差 left 个字节, 就从 buffer 里拿 min(left, len(buffer)) 个, 马上放进返回值 —— 不要等整块到齐。",
        '长度行: 先 partition(";") 去掉扩展, 再去掉右边的空格和制表符; 然后检查每个字符都在 string.hexdigits 里,'
        " 最后才 int(x, 16)。",
        '读行时: buffer 里找不到 b"\\r\\n", 但已经超过 max_line 个字节 -> ValueError; 找到了单独的 b"\\n" -> ValueError。'
        " 读到 trailer 之后的空行: done = True, buffer 里剩下的都放进 unused。",
    ],
}
