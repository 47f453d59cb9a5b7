// 练习 06_safe_render (★★): 把模型的输出安全地显示在页面上 —— 在真的浏览器 (Chromium) 里检查
//
// 模型的回答是 Markdown, 页面要把它显示成格式化的文字 (粗体、代码块、列表、链接)。可是模型的输出来自你控制不了的地方:
// 用户的提问、检索到的网页、工具的返回值都能诱导它输出任何东西, 包括 HTML。所以它是**不可信的 HTML**。
//
// 页面上已经有两个库 (和 chat.html 用的一样, 在 vendor/ 里):
//   marked      marked.parse(text) 把 Markdown 转成 HTML 字符串 —— 文字里的 HTML 原样保留, 它不管安全;
//               marked.use({...}) 改它的设置 (全局的, 调用一次就够)
//   DOMPurify   DOMPurify.sanitize(html, 设置) 把 HTML 清理干净, 返回字符串; DOMPurify.addHook(...) 加一个钩子 (也是全局的)
//
// 任务:
//   renderAnswer(box, text): 把 Markdown 文字 text 显示在元素 box 里。流式回答每来一片, 页面就用**到目前为止的全文**
//   再调用它一次 (所以它会被调用几百次, 也会遇到被切在半路的 HTML, 比如 "<img src=x onerr")。
//   renderAnswer 返回时, box 里就是渲染好的结果 (不要自己推迟渲染: 合并渲染是调用者的事, 见 chat.html 的 scheduleRender)。
//
// 做完的样子:
//   - 模型输出里的东西不能执行脚本: <script>、on* 属性 (onerror、onload……)、javascript: 链接都不行;
//   - 也不能加载任何东西: 图片、视频、音频、样式表、背景图……加载一张别处的图片, 就等于告诉别人"有人正在看这段回答";
//     Markdown 图片 ![说明](网址) 只显示成文字 (说明要还在), 不去请求;
//   - 不能破坏页面: 不能用 <style>、style 属性、表单、<base> 改页面, 也不能用 id/name 冒充页面自己的元素;
//   - 普通的 Markdown 照常显示, 文字一字不差 ("1 < 2 && 3 > 2" 就显示成这样); 链接在新窗口打开, 且带 rel="noopener noreferrer"。
//
// 运行 (需要 Chromium 或 Chrome, 以及 requirements-dev.txt 里的 playwright):
//   python exercises/check.py 06_safe_render

// TODO: 下面这一行是网上最常见的写法, 也是错的: 模型输出里的 HTML 被浏览器当成页面的一部分执行。
//       先运行检查, 看它怎么被攻破; 然后改好它 (第 06 课第 10 节)。
function renderAnswer(box, text) {
  box.innerHTML = marked.parse(text);
}
