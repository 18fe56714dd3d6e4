// A small markdown renderer for model output that is safe by construction: it builds DOM
// nodes with createElement/textContent only (never innerHTML), so no HTML in the input
// can become markup. Links are kept only for http(s) and mailto URLs.
//
// Supported: paragraphs (single newlines are line breaks), # headings, fenced code
// (``` or ~~~, with a copy button), > quotes, - * + and 1. lists, --- rules,
// `code`, **bold**, *italic*, _italic_, ~~strike~~, [text](url) and bare http(s) links.
// Unfinished syntax (a stream still arriving) renders as what it is so far.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const LIST = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const ESCAPABLE = "\\`*_{}[]()#+-.!~>|";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function safeUrl(raw) {
  try {
    const url = new URL(raw, window.location.href);
    if (url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:") return url.href;
  } catch (e) {
    /* not a URL */
  }
  return null;
}

function link(href, parent, label) {
  const a = el("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  inline(label, a);
  parent.appendChild(a);
}

// Find the closing delimiter for emphasis starting at `from`; -1 when there is none.
function closing(text, delim, from) {
  let i = from;
  while ((i = text.indexOf(delim, i)) !== -1) {
    if (text[i - 1] !== " " && text[i - 1] !== "\\" && i > from) {
      // `_` and `__` never close inside a word (snake_case, __dunder__names)
      if (delim[0] !== "_" || !/[A-Za-z0-9]/.test(text[i + delim.length] || "")) return i;
    }
    i += delim.length;
  }
  return -1;
}

function inline(text, parent) {
  let buf = "";
  const flush = () => {
    if (buf) parent.appendChild(document.createTextNode(buf));
    buf = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === "\\" && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const ticks = rest.match(/^`+/)[0];
      const end = text.indexOf(ticks, i + ticks.length);
      if (end !== -1) {
        flush();
        parent.appendChild(el("code", "", text.slice(i + ticks.length, end).trim() || " "));
        i = end + ticks.length;
        continue;
      }
    }
    if ((c === "*" || c === "_") && !(c === "_" && /[A-Za-z0-9]/.test(text[i - 1] || ""))) {
      const double = text[i + 1] === c;
      const delim = double ? c + c : c;
      const start = i + delim.length;
      if (text[start] && text[start] !== " ") {
        const end = closing(text, delim, start);
        if (end !== -1) {
          flush();
          const node = el(double ? "strong" : "em");
          inline(text.slice(start, end), node);
          parent.appendChild(node);
          i = end + delim.length;
          continue;
        }
      }
      buf += delim; // an unmatched run stays literal as a whole
      i += delim.length;
      continue;
    }
    if (c === "~" && text[i + 1] === "~") {
      const end = text.indexOf("~~", i + 2);
      if (end > i + 2) {
        flush();
        const node = el("del");
        inline(text.slice(i + 2, end), node);
        parent.appendChild(node);
        i = end + 2;
        continue;
      }
    }
    if (c === "[") {
      const m = rest.match(/^\[([^\]\n]+)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/);
      if (m) {
        const href = safeUrl(m[2]);
        flush();
        if (href) link(href, parent, m[1]);
        else inline(m[1], parent);
        i += m[0].length;
        continue;
      }
    }
    if ((c === "h" || c === "H") && /^https?:\/\//i.test(rest) && !/[A-Za-z0-9]/.test(text[i - 1] || "")) {
      let url = rest.match(/^[^\s<>"]+/)[0];
      url = url.replace(/[.,;:!?)\]'"]+$/, "");
      const href = safeUrl(url);
      if (href) {
        flush();
        const a = el("a", "", url);
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        parent.appendChild(a);
        i += url.length;
        continue;
      }
    }
    buf += c;
    i += 1;
  }
  flush();
}

function lines(parent, textLines) {
  textLines.forEach((line, index) => {
    if (index > 0) parent.appendChild(el("br"));
    inline(line, parent);
  });
}

function codeBlock(language, code) {
  const wrap = el("div", "code-block");
  const bar = el("div", "code-bar");
  bar.appendChild(el("span", "code-lang", language || "code"));
  const copy = el("button", "code-copy", "Copy");
  copy.type = "button";
  copy.addEventListener("click", () => {
    const done = () => {
      copy.textContent = "Copied";
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(code).then(done, () => {});
  });
  bar.appendChild(copy);
  const pre = el("pre");
  const codeEl = el("code", language ? "language-" + language.replace(/[^\w+#-]/g, "") : "", code);
  pre.appendChild(codeEl);
  wrap.appendChild(bar);
  wrap.appendChild(pre);
  return wrap;
}

function blocks(source, parent) {
  const all = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < all.length) {
    const line = all[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    let m;
    if ((m = line.match(FENCE))) {
      const fence = m[1];
      const body = [];
      i += 1;
      const closes = (l) => {
        const t = l.trim();
        return t.length >= fence.length && t === fence[0].repeat(t.length);
      };
      while (i < all.length && !closes(all[i])) {
        body.push(all[i]);
        i += 1;
      }
      i += 1; // the closing fence (or the end of an unfinished stream)
      parent.appendChild(codeBlock(m[2], body.join("\n")));
      continue;
    }
    if ((m = line.match(HEADING))) {
      const node = el("h" + Math.min(6, m[1].length + 2));
      inline(m[2], node);
      parent.appendChild(node);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      parent.appendChild(el("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < all.length && (m = all[i].match(QUOTE))) {
        body.push(m[1]);
        i += 1;
      }
      const quote = el("blockquote");
      blocks(body.join("\n"), quote);
      parent.appendChild(quote);
      continue;
    }
    if ((m = line.match(LIST))) {
      const ordered = /\d/.test(m[2]);
      const list = el(ordered ? "ol" : "ul");
      if (ordered && parseInt(m[2], 10) !== 1) list.start = parseInt(m[2], 10);
      let item = null;
      while (i < all.length) {
        const current = all[i];
        const lm = current.match(LIST);
        if (lm && /\d/.test(lm[2]) === ordered) {
          item = el("li");
          inline(lm[3], item);
          list.appendChild(item);
        } else if (item && current.trim() && /^\s+/.test(current) && !FENCE.test(current)) {
          item.appendChild(el("br"));
          inline(current.trim(), item);
        } else {
          break;
        }
        i += 1;
      }
      parent.appendChild(list);
      continue;
    }
    const para = [];
    while (i < all.length && all[i].trim() && !FENCE.test(all[i]) && !HEADING.test(all[i]) && !QUOTE.test(all[i]) && !LIST.test(all[i]) && !RULE.test(all[i])) {
      para.push(all[i]);
      i += 1;
    }
    if (!para.length) {
      para.push(line);
      i += 1;
    }
    const p = el("p");
    lines(p, para);
    parent.appendChild(p);
  }
}

// Render `source` into a new DocumentFragment.
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  blocks(String(source || ""), fragment);
  return fragment;
}

window.renderMarkdown = renderMarkdown; // for tests: they render samples in the page
