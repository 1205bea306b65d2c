"""Style sheet and the one small script of the web chat (passed to `Blocks.launch`).

The look is a newspaper page beside a chat: a serif article column on warm paper with
cited spans highlighted in amber, and a compact sans-serif chat. Fonts are system fonts
only (nothing is fetched from the network); the stacks cover Vietnamese diacritics.

The script makes citation links work: a click on a link to ``#cite-n`` (an [n] marker
or a source in the chat) or ``#para-n`` (a paragraph number) scrolls the article column
to that element and flashes it, instead of jumping the whole page. Gradio's sanitizer
strips ``data-*`` attributes from chat messages, so the answer a link belongs to travels
as a ``turn-N`` class: for an older answer the server first re-renders the article with
that answer's highlights (Chatbot.select) and the script waits briefly for it.

It also puts Gradio's own few English messages into Vietnamese: the "busy, try again"
toast shown when the request queue is full (`ui.app.QUEUE_SIZE`), "connection errored
out", a file over the upload limit (an article file, or a long paste, which Gradio turns
into a file) and the "Error" titles.
"""

from __future__ import annotations

SANS = ["Noto Sans", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Liberation Sans", "DejaVu Sans",
        "sans-serif"]
SERIF = ["Noto Serif", "Georgia", "Cambria", "Times New Roman", "Liberation Serif", "DejaVu Serif", "serif"]


def _stack(fonts: list[str]) -> str:
    return ", ".join(f if f in {"serif", "sans-serif"} else f'"{f}"' for f in fonts)


_CSS = """
.gradio-container { max-width: 1440px !important; margin: 0 auto !important; }
#app-head, #app-head .html-container, #article-view .html-container { padding: 0 !important; }
#app-header h1 { font-family: $SERIF; font-size: 1.7rem; margin: 0 0 2px; letter-spacing: -0.01em; }
#app-header p { margin: 0; color: var(--body-text-color-subdued); }
#app-status { font-size: 0.8rem; color: var(--body-text-color-subdued); }
#app-status p { margin: 0; }
#app-status strong { font-weight: 600; color: var(--body-text-color); }
#chat-col, #article-col { gap: 10px; }

/* --- the article column: a newspaper page ------------------------------------------ */
#article-view { background: #fffdf7; border: 1px solid #e9e1d2; border-radius: 12px;
  padding: 26px 36px 30px; max-height: calc(100vh - 32px); overflow-y: auto !important;
  position: sticky; top: 12px; box-shadow: 0 1px 3px rgba(60, 40, 10, 0.06); }
.art-view { font-family: $SERIF; color: #1d1a16; font-size: 17.5px; line-height: 1.72;
  hyphens: auto; text-rendering: optimizeLegibility; }
.art-view p, .art-view h2 { margin: 0 0 0.9em; scroll-margin-top: 40px; }
.art-view .art-legend { font-family: $SANS; font-size: 12px; color: #8a7d6b; text-transform: uppercase;
  letter-spacing: 0.06em; border-bottom: 1px solid #ece4d6; padding-bottom: 8px; margin-bottom: 14px; }
.art-view .art-date { font-family: $SANS; font-size: 13px; color: #8a7d6b; margin-bottom: 4px; }
.art-view .art-title { font-size: 30px; line-height: 1.22; font-weight: 700; color: #14110d;
  letter-spacing: -0.01em; margin-bottom: 14px; }
.art-view .art-lead { font-weight: 700; font-size: 18px; color: #2b261f; }
.art-view .art-caption { font-family: $SANS; font-style: italic; font-size: 14px; line-height: 1.5;
  color: #6e6355; background: #f5efe3; border-left: 3px solid #c9b48f; padding: 8px 12px; border-radius: 4px; }
.art-view .art-byline { text-align: right; font-weight: 700; letter-spacing: 0.04em; font-size: 15px; }
.art-view mark.cite-mark.ans-span, .qa-sources mark.qa-span { background: #ffc53d; font-weight: 600;
  text-decoration: underline; text-decoration-thickness: 2px; text-underline-offset: 2px; color: inherit; }
.dark .art-view mark.cite-mark.ans-span, .dark .qa-sources mark.qa-span { background: #a87400; color: #fff; }
.art-view mark.cite-mark { background: #ffe58a; color: inherit; padding: 1px 0; border-radius: 2px;
  box-shadow: 0 2px 0 #f2b705; scroll-margin-top: 80px; }
.art-view mark.cite-overlap { background: #ffd45c; }
.art-view sup.cite-sup { font-family: $SANS; font-size: 11px; font-weight: 700; color: #fff;
  background: #b45309; border-radius: 8px; padding: 0 5px; margin-left: 2px; }
.art-view .cite-flash { animation: cite-flash 1.8s ease-out; }
@keyframes cite-flash { 0%, 35% { background: #ff9f43; box-shadow: 0 0 0 4px rgba(255, 159, 67, 0.45); } }

/* --- the chat --------------------------------------------------------------------- */
#chatbot { font-family: $SANS; }
.qa-question { white-space: pre-wrap; word-break: break-word; }
.qa-answer .qa-text { line-height: 1.6; }
.qa-answer a.cite-ref { display: inline-block; font-size: 0.78em; font-weight: 700; line-height: 1.2;
  color: #9a3412 !important; background: #ffedd5; border-radius: 6px; padding: 0 5px; margin: 0 1px;
  text-decoration: none !important; vertical-align: 0.15em; cursor: pointer; }
.qa-answer a.cite-ref:hover { background: #fed7aa; }
.qa-answer a.para-ref { color: inherit; text-decoration: underline dotted; cursor: pointer; }
.qa-answer .qa-notice { margin: 6px 0 0; font-size: 0.9em; color: #6b5b45; }
.qa-answer details { margin-top: 8px; border-top: 1px solid rgba(128, 110, 80, 0.25); padding-top: 6px; }
.qa-answer summary { cursor: pointer; font-weight: 600; font-size: 0.9em; color: #7c5a1e; }
.qa-answer .qa-list { margin: 6px 0 0 1.1em; padding: 0; font-size: 0.9em; }
.qa-answer .qa-list li { margin-bottom: 6px; }
.qa-answer .qa-list q { font-family: $SERIF; }
.qa-answer .qa-meta { color: #8a7d6b; font-size: 0.88em; white-space: nowrap; }
.qa-answer .qa-wait { color: #8a7d6b; font-style: italic; }
.qa-answer.qa-error p, .qa-answer.qa-refusal p { margin: 0; color: #9a3412; }
.qa-answer .qa-detail { color: #8a7d6b; font-size: 0.85em; }

/* --- bringing another article (ui/articles.py) ------------------------------------- */
#add-article { border-radius: 12px; }
#add-article .label-wrap span { font-weight: 600; }
#article-bar { align-items: center; gap: 8px; }
#article-status, #article-status .html-container { padding: 0 !important; }
.src-status { margin: 0; font-family: $SANS; font-size: 0.88rem; line-height: 1.45; }
.src-status.src-busy { color: #7c5a1e; }
.src-status.src-busy::before { content: "⏳ "; }
.src-status.src-ok { color: #166534; }
.src-status.src-ok::before { content: "✓ "; }
.src-status.src-error { color: #9a3412; font-weight: 600; }
.src-status.src-error::before { content: "⚠ "; }

.dark #article-view { background: #1f1c18; border-color: #3a342c; }
.dark .art-view, .dark .art-view .art-title, .dark .art-view .art-lead { color: #eee6d8; }
.dark .art-view .art-caption { background: #2a251f; color: #c9bca6; }
.dark .art-view mark.cite-mark { background: #7a5b00; color: #fff7e0; }

@media (max-width: 820px) {
  #article-view { max-height: none; overflow-y: visible !important; position: static; padding: 18px 20px; }
  .art-view { font-size: 16.5px; }
  .art-view .art-title { font-size: 24px; }
  #app-header h1 { font-size: 1.35rem; }
}
"""
CSS = _CSS.replace("$SERIF", _stack(SERIF)).replace("$SANS", _stack(SANS))

JS = r"""
() => {
  if (window.__citeNav) return;
  window.__citeNav = true;
  const VI = {
    'This application is currently busy. Please try again.':
      'Trợ lý đang bận vì có nhiều người hỏi cùng lúc. Câu hỏi vẫn còn trong ô nhập: bạn vui lòng bấm Gửi lại ' +
      'sau giây lát.',
    'Connection errored out.': 'Mất kết nối tới máy chủ. Bạn vui lòng tải lại trang rồi hỏi lại.',
    'Error': 'Lỗi',
  };
  const translate = () => document.querySelectorAll(
    '[data-testid="toast-text"], .toast-title, [data-testid="status-tracker"] span.error').forEach((el) => {
    el.childNodes.forEach((node) => {  // text nodes only: Svelte's comment anchors stay in place
      const text = node.nodeType === 3 ? node.nodeValue.trim() : '';
      const big = text.match(/^File\(s\) exceed the maximum allowed size of ([^:]+): (.*)$/);
      const vi = big ? `Tệp quá lớn (giới hạn ${big[1].replace('Mb', 'MB')}): ${big[2]}. Bạn hãy dùng tệp nhỏ hơn, ` +
        'hoặc đường link của trang báo.' : text && VI[text];
      if (vi) node.nodeValue = vi + ' ';
    });
  });
  new MutationObserver(translate).observe(document.body, {childList: true, subtree: true, characterData: true});
  const flash = (els) => els.forEach((el) => {
    el.classList.remove('cite-flash'); void el.offsetWidth; el.classList.add('cite-flash');
  });
  const reveal = (panel, target) => {
    const scrollable = panel && panel.scrollHeight > panel.clientHeight + 4 &&
      getComputedStyle(panel).overflowY !== 'visible';
    if (scrollable) {
      const top = target.getBoundingClientRect().top - panel.getBoundingClientRect().top + panel.scrollTop;
      panel.scrollTo({top: Math.max(0, top - panel.clientHeight / 3), behavior: 'smooth'});
    } else {
      target.scrollIntoView({behavior: 'smooth', block: 'center'});
    }
  };
  const go = (id, turn, tries) => {
    const root = document.querySelector('.art-view');
    const ready = root && (!turn || root.classList.contains(turn) || tries <= 0);
    const target = ready ? root.querySelector('#' + id) : null;
    if (target) {
      reveal(document.getElementById('article-view'), target);
      const n = id.startsWith('cite-') ? id.slice(5) : null;
      flash(n ? root.querySelectorAll('mark.c-' + n) : [target]);
    } else if (tries > 0) {
      setTimeout(() => go(id, turn, tries - 1), 100);
    }
  };
  let lastTurn = null;
  let clickedAt = 0;
  setInterval(() => {
    const root = document.querySelector('.art-view');
    if (!root) return;
    const turn = Array.from(root.classList).find((c) => c.startsWith('turn-')) || '';
    if (turn === lastTurn) return;
    lastTurn = turn;
    const panel = document.getElementById('article-view');
    const first = root.querySelector('mark.cite-mark');
    const scrollable = panel && getComputedStyle(panel).overflowY !== 'visible';
    if (first && scrollable && Date.now() - clickedAt > 2000) reveal(panel, first);
  }, 250);
  document.addEventListener('click', (ev) => {
    const link = ev.target.closest && ev.target.closest('a[href^="#cite-"], a[href^="#para-"], [data-cite]');
    if (!link || link.closest('.art-view')) return;
    ev.preventDefault();
    clickedAt = Date.now();
    const href = link.getAttribute('href');
    const id = href && href.startsWith('#') ? href.slice(1) : 'cite-' + link.dataset.cite;
    const turn = Array.from(link.classList).find((c) => c.startsWith('turn-'));
    go(id, turn, 15);
  }, true);
}
"""
