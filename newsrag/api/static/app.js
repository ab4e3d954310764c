// newsrag chat UI. Plain DOM, no framework, no build step.
// Safety rule: server data only ever goes into the page as text nodes or
// attribute values (textContent, append(string), setAttribute) — never as HTML.
"use strict";

const KEY_STORAGE = "newsrag.apiKey";
const PAGE_SIZE = 50;
const TOP_K = 5;

/** Every element with an id, keyed by camelCased id: "add-title" -> ui.addTitle. */
const ui = Object.fromEntries([...document.querySelectorAll("[id]")].map((node) =>
  [node.id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), node]));

const state = {
  info: null,
  modeTouched: false,
  /** Completed turns sent as `history`: {role, content}. */
  history: [],
  turnCount: 0,
  /** Turns run one after another, so a follow-up sees the previous answer. */
  queue: Promise.resolve(),
  selected: new Set(),
  nextCursor: null,
  /** document_id -> Promise<document with text>; each text is fetched once. */
  docCache: new Map(),
  viewerDocId: null,
  viewerOpener: null,
  viewerToken: 0,
  uid: 0,
};

// ---------- DOM helpers ----------

/** Create an element. props: class, text, on<event>, anything else is an attribute. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setStatus(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle("is-error", isError);
}

function joinParts(parts, sep) {
  return parts.filter((p) => p !== null && p !== undefined && p !== "").join(sep);
}

/** Only http(s) links are rendered; anything else (javascript:, data:) is dropped. */
function safeUrl(url) {
  let parsed = null;
  try {
    parsed = url ? new URL(url, window.location.href) : null;
  } catch {
    parsed = null;
  }
  return parsed && (parsed.protocol === "http:" || parsed.protocol === "https:") ? parsed.href : null;
}

// ---------- API ----------

class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || problemMessage(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function formatDetail(detail) {
  if (!detail) return "";
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return JSON.stringify(detail);
  return detail.map((d) => (d && d.msg ? joinParts([(d.loc || []).join("."), d.msg], ": ") : JSON.stringify(d))).join("; ");
}

function problemMessage(status, problem) {
  if (status === 0) return "Network error: the server could not be reached.";
  const title = (problem && problem.title) || `Request failed (HTTP ${status})`;
  const detail = formatDetail(problem && problem.detail);
  let message = detail && detail !== title ? `${title}: ${detail}` : title;
  if (status === 401) message = `${message.replace(/[.!?]?$/, ".")} Enter an API key, then retry.`;
  if (status === 403 && !detail) message += ": this API key is not allowed to do that (read-only).";
  return message;
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

async function request(path, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  const response = await fetch(path, init).catch(() => { throw new ApiError(0, null); });
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    if (response.status === 401) askForKey();
    throw new ApiError(response.status, problem);
  }
  return response;
}

async function getJSON(path) {
  return (await request(path)).json();
}

// ---------- API key ----------

function askForKey() {
  ui.authMessage.textContent = apiKey()
    ? "The API key was rejected. Enter a valid key."
    : "This server requires an API key.";
  ui.authForm.hidden = false;
  ui.authToggle.hidden = true;
}

function onKeySubmit(event) {
  event.preventDefault();
  const key = ui.apiKey.value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  ui.apiKey.value = "";
  ui.authForm.hidden = true;
  ui.authToggle.hidden = false;
  state.docCache.clear();
  loadInfo();
  loadDocuments();
  ui.question.focus();
}

// ---------- info and answer mode ----------

async function loadInfo() {
  state.info = await getJSON("/v1/info").catch(() => null);
  applyInfo(state.info);
}

function applyInfo(info) {
  const generative = Boolean(info && info.generative_available);
  ui.modeGenerative.disabled = !generative;
  ui.modeNote.hidden = generative && !info.llm_model;
  if (!generative) {
    ui.modeNote.textContent = info ? "No LLM is configured on the server" : "Server info unavailable: extractive mode only.";
    ui.modeExtractive.checked = true;
  } else {
    const reads = info.reader === "llm" ? " It also reads the passages in extractive mode." : "";
    ui.modeNote.textContent = info.llm_model ? `${info.llm_model} answers.${reads}` : "";
    if (!state.modeTouched && info.answer_mode === "generative") ui.modeGenerative.checked = true;
  }
  ui.version.textContent = info && info.version ? `Version ${info.version}.` : "";
  if (info && info.auth_required) {
    if (!apiKey()) askForKey();
    else if (ui.authForm.hidden) ui.authToggle.hidden = false;
  }
}

function currentMode() {
  return ui.modeGenerative.checked && !ui.modeGenerative.disabled ? "generative" : "extractive";
}

// ---------- Server-Sent Events over fetch ----------

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const raw = data.join("\n");
  try { return { event, data: JSON.parse(raw) }; } catch { return { event, data: raw }; }
}

/** Yields {event, data} from a text/event-stream response body. */
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let carry = ""; // a trailing "\r" may be the first half of "\r\n"
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let chunk = carry + value;
      carry = chunk.endsWith("\r") ? "\r" : "";
      if (carry) chunk = chunk.slice(0, -1);
      buffer += chunk.replace(/\r\n?/g, "\n");
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event) yield event;
      }
    }
    const last = parseEvent((buffer + carry).replace(/\r\n?/g, "\n"));
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

// ---------- chat ----------

function onQuestionKeydown(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.askForm.requestSubmit();
  }
}

function onAsk(event) {
  event.preventDefault();
  const question = ui.question.value.trim();
  if (!question) return;
  ui.question.value = "";
  // history is taken when the turn runs, i.e. after earlier turns have finished.
  const turn = { question, number: ++state.turnCount, history: null, documentIds: [...state.selected], mode: currentMode() };
  const userMessage = el("div", { class: "msg user" },
    el("p", { class: "who", text: "You" }),
    el("p", { class: "msg-text", text: question }));
  turn.article = el("article", { class: "msg assistant", "aria-label": `Answer ${turn.number}` },
    el("p", { class: "who", text: "Assistant" }),
    el("p", { class: "pending", text: "Reading the articles… (a model reading them takes a few seconds)" }));
  ui.threadEmpty.hidden = true;
  ui.thread.append(userMessage, turn.article);
  userMessage.scrollIntoView({ block: "nearest" });
  enqueue(turn);
}

function enqueue(turn) {
  state.queue = state.queue.then(() => runTurn(turn));
}

function chatBody(turn) {
  const body = { question: turn.question, history: turn.history, mode: turn.mode, top_k: TOP_K };
  if (turn.documentIds.length) body.document_ids = turn.documentIds;
  return body;
}

async function runTurn(turn) {
  if (!turn.history) turn.history = state.history.slice();
  const article = turn.article;
  const streamed = document.createTextNode("");
  article.replaceChildren(el("p", { class: "who", text: "Assistant" }), el("div", { class: "answer-text" }, streamed));
  article.setAttribute("aria-busy", "true");
  try {
    const response = await request("/v1/chat", { method: "POST", accept: "text/event-stream", body: chatBody(turn) });
    const final = await consumeChat(response, streamed);
    renderAnswer(turn, final);
    state.history.push({ role: "user", content: turn.question }, { role: "assistant", content: final.answer || "" });
  } catch (err) {
    renderError(turn, err);
  } finally {
    article.removeAttribute("aria-busy");
  }
}

/** Streams tokens into `textNode`; resolves with the `done` payload. */
async function consumeChat(response, textNode) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) return response.json();
  for await (const { event, data } of readEvents(response)) {
    if (event === "token") textNode.appendData(typeof data === "string" ? data : (data && data.text) || "");
    else if (event === "error") throw new ApiError((data && data.status) || 500, data);
    else if (event === "done") return data || {};
    // "citation" events are informative only: `done` carries the full list.
  }
  throw new ApiError(0, null, "The answer stream ended before it was complete.");
}

function renderAnswer(turn, final) {
  const citations = Array.isArray(final.citations) ? final.citations : [];
  const byId = new Map(citations.map((c) => [Number(c.id), c]));
  const article = turn.article;
  const refused = Boolean(final.refused);
  article.classList.toggle("refused", refused);
  article.dataset.refused = String(refused);
  const answer = el("div", { class: "answer-text" });
  appendWithMarkers(answer, final.answer || "", byId);
  article.replaceChildren(
    el("p", { class: "who" }, "Assistant ", refused ? el("span", { class: "badge", text: "Not answered" }) : null));
  const short = refused ? null : shortAnswer(final.short_answer, byId);
  if (short) article.append(short);
  article.append(answer);
  if (final.note) article.append(el("p", { class: "note", text: final.note }));
  if (citations.length) article.append(citationList(citations, refused ? null : final.short_answer));
  article.append(answerActions(final));
}

/** The short answer (a verified span of a cited sentence, or yes/no) shown before the sentences. */
function shortAnswer(short, byId) {
  if (!short || typeof short.text !== "string" || !short.text) return null;
  const ids = Array.isArray(short.citations) ? short.citations : [short.citation];
  const markers = ids.map((id) => byId.get(Number(id))).filter(Boolean).map(markerButton);
  const text = short.text === "yes" || short.text === "no" ? short.text[0].toUpperCase() + short.text.slice(1) : short.text;
  return el("p", { class: "short-answer" }, el("span", { class: "visually-hidden", text: "Short answer: " }),
    el("strong", { text }), " ", ...markers);
}

/** The quote with the short answer's span marked, when it lies inside this citation. */
function quoteWithSpan(citation, short) {
  const quote = el("q", { class: "quote" });
  const text = citation.quote || "";
  const inside = short && short.citation === citation.id && short.document_id === citation.document_id;
  const from = inside ? codePointToIndex(text, short.start - citation.start) : null;
  const to = inside ? codePointToIndex(text, short.end - citation.start) : null;
  if (from !== null && to !== null && text.slice(from, to) === short.text) {
    quote.append(text.slice(0, from), el("mark", { text: text.slice(from, to) }), text.slice(to));
  } else {
    quote.append(text);
  }
  return quote;
}

/** Replaces each "[n]" that matches a citation with a marker button. */
function appendWithMarkers(parent, text, byId) {
  const pattern = /\[(\d+)\]/g;
  let last = 0;
  let match;
  while ((match = pattern.exec(text))) {
    const citation = byId.get(Number(match[1]));
    if (!citation) continue;
    parent.append(text.slice(last, match.index), markerButton(citation));
    last = pattern.lastIndex;
  }
  parent.append(text.slice(last));
}

function markerButton(citation) {
  const label = `[${citation.id}] Source: ${citation.title || "Untitled"}`;
  return el("button", { type: "button", class: "marker", text: `[${citation.id}]`, "aria-label": label,
    onclick: (event) => openSource(citation, event.currentTarget) });
}

/** Cited passages; an answer resting on several articles shows one group per article (outlet,
 *  date, title), so a journalist sees which outlet said what. */
function citationList(citations, short) {
  const groups = [];
  const byDocument = new Map();
  for (const c of citations) {
    if (!byDocument.has(c.document_id)) {
      byDocument.set(c.document_id, []);
      groups.push(byDocument.get(c.document_id));
    }
    byDocument.get(c.document_id).push(c);
  }
  const several = groups.length > 1;
  const heading = several ? `Cited passages from ${groups.length} articles` : "Cited passages";
  const section = el("section", { class: "sources", "aria-label": "Cited passages" },
    el("h3", { class: "sources-heading", text: heading }));
  if (!several) {
    section.append(passageList(citations, short));
    return section;
  }
  for (const group of groups) {
    const first = group[0];
    const outlet = joinParts([first.source || first.title || "Untitled", String(first.published_at || "").slice(0, 10)], " · ");
    section.append(el("section", { class: "source-group", "aria-label": `From ${outlet}` },
      el("h4", { class: "source-group-heading", text: outlet }),
      first.source && first.title ? el("p", { class: "source-group-title", text: first.title }) : null,
      passageList(group, short)));
  }
  return section;
}

function passageList(citations, short) {
  const list = el("ol", { class: "citations" });
  for (const c of citations) {
    const meta = joinParts([c.title || "Untitled", c.source, c.published_at], ", ");
    const button = el("button", { type: "button", class: "passage", onclick: (e) => openSource(c, e.currentTarget) },
      quoteWithSpan(c, short),
      el("span", { class: "passage-meta", text: `— ${meta}` }));
    const item = el("li", { value: String(c.id) }, button);
    if (c.correction) {
      const when = String(c.correction.corrected_at || "").slice(0, 10);
      const before = c.correction.previous ? ` Previously: “${c.correction.previous}”` : " (added)";
      item.append(el("p", { class: "passage-note correction",
        text: `Corrected in version ${c.correction.version}${when ? ` (${when})` : ""}.${before}` }));
    }
    const copies = Array.isArray(c.also_in) ? c.also_in : [];
    if (copies.length) {
      const names = copies.map((copy) => joinParts([copy.source || copy.title, copy.published_at], " "));
      item.append(el("p", { class: "passage-note", text: `Also in: ${names.join("; ")}` }));
    }
    list.append(item);
  }
  return list;
}

function answerActions(final) {
  const feedback = el("span", { class: "copy-feedback", role: "status" });
  const copy = el("button", { type: "button", class: "secondary copy", text: "Copy" });
  copy.addEventListener("click", async () => {
    const ok = await copyText(formatForCopy(final), copy);
    feedback.textContent = ok ? "Copied" : "Copy failed";
    window.setTimeout(() => { feedback.textContent = ""; }, 3000);
  });
  return el("div", { class: "answer-actions" }, copy, feedback);
}

function formatForCopy(final) {
  const lines = (final.citations || []).map((c) =>
    `[${c.id}] "${c.quote || ""}" — ${joinParts([c.title, c.source, c.published_at, c.url], ", ")}`);
  const answer = final.answer || "";
  return lines.length ? `${answer}\n\n${lines.join("\n")}` : answer;
}

/** Clipboard API first; if it is not allowed, fall back to a hidden textarea + execCommand. */
async function copyText(text, returnFocusTo) {
  const copied = await navigator.clipboard.writeText(text).then(() => true, () => false);
  if (copied) return true;
  const area = el("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true", tabindex: "-1" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { /* copying not allowed at all */ }
  area.remove();
  returnFocusTo.focus();
  return ok;
}

function renderError(turn, err) {
  const message = err instanceof ApiError ? err.message : `Something went wrong: ${err && err.message}`;
  const retry = el("button", { type: "button", class: "retry", text: "Retry" });
  retry.addEventListener("click", () => {
    retry.disabled = true;
    enqueue(turn);
  });
  turn.article.classList.remove("refused");
  turn.article.replaceChildren(
    el("p", { class: "who", text: "Assistant" }),
    el("div", { class: "error", role: "alert" }, el("p", { text: message }), retry));
}

// ---------- source viewer ----------

function fetchDocument(documentId) {
  if (!state.docCache.has(documentId)) {
    const pending = getJSON(`/v1/documents/${encodeURIComponent(documentId)}`);
    pending.catch(() => {
      if (state.docCache.get(documentId) === pending) state.docCache.delete(documentId);
    });
    state.docCache.set(documentId, pending);
  }
  return state.docCache.get(documentId);
}

/** Python str offsets count code points; JS strings index UTF-16 code units. */
function codePointToIndex(text, codePoints) {
  if (!Number.isInteger(codePoints) || codePoints < 0) return null;
  if (!/[\uD800-\uDFFF]/.test(text)) return codePoints <= text.length ? codePoints : null;
  let index = 0;
  for (let n = 0; n < codePoints; n++) {
    if (index >= text.length) return null;
    index += text.codePointAt(index) > 0xffff ? 2 : 1;
  }
  return index;
}

/** Returns [start, end) in UTF-16 units; falls back to searching the quote. */
function locateSpan(text, citation) {
  const start = codePointToIndex(text, citation.start);
  const end = codePointToIndex(text, citation.end);
  const valid = start !== null && end !== null && end > start;
  if (valid && (!citation.quote || text.slice(start, end) === citation.quote)) return [start, end];
  const found = citation.quote ? text.indexOf(citation.quote) : -1;
  if (found >= 0) return [found, found + citation.quote.length];
  return valid ? [start, end] : null;
}

function showViewerHeader(doc) {
  ui.viewerTitle.textContent = doc.title || "Untitled";
  ui.viewerMeta.textContent = joinParts([doc.source, doc.published_at], " · ");
  const url = safeUrl(doc.url);
  ui.viewerLinkWrap.hidden = !url;
  if (url) {
    ui.viewerLink.href = url;
    ui.viewerLink.textContent = doc.url;
  }
}

/** Opens the viewer for a citation (highlighted) or a whole document (citation without offsets). */
async function openSource(citation, opener) {
  const token = ++state.viewerToken;
  state.viewerDocId = citation.document_id;
  state.viewerOpener = opener || null;
  showViewerHeader(citation);
  setStatus(ui.viewerNotice, "Loading the article…");
  ui.viewerText.replaceChildren();
  ui.sourceViewer.hidden = false;
  ui.viewerTitle.focus({ preventScroll: true });
  ui.sourceViewer.scrollIntoView({ block: "nearest" });
  let doc;
  try {
    doc = await fetchDocument(citation.document_id);
  } catch (err) {
    if (token !== state.viewerToken) return;
    setStatus(ui.viewerNotice, `Could not load the article: ${err.message}`, true);
    if (citation.quote) ui.viewerText.replaceChildren(el("mark", { text: citation.quote }));
    return;
  }
  if (token !== state.viewerToken) return;
  setStatus(ui.viewerNotice, "");
  renderDocumentText(doc, citation);
}

function renderDocumentText(doc, citation) {
  showViewerHeader(doc);
  const text = doc.text || "";
  const span = citation.quote !== undefined || citation.start !== undefined ? locateSpan(text, citation) : null;
  if (!span) {
    ui.viewerText.replaceChildren(text);
    ui.viewerText.scrollTop = 0;
    return;
  }
  const mark = el("mark", { text: text.slice(span[0], span[1]) });
  ui.viewerText.replaceChildren(text.slice(0, span[0]), mark, text.slice(span[1]));
  mark.scrollIntoView({ block: "center" });
}

function closeViewer() {
  ui.sourceViewer.hidden = true;
  state.viewerDocId = null;
  state.viewerToken++;
  const opener = state.viewerOpener;
  state.viewerOpener = null;
  if (opener && opener.isConnected) opener.focus();
  else ui.question.focus();
}

// ---------- documents panel ----------

function updateFilterStatus() {
  const count = state.selected.size;
  ui.filterStatus.textContent = count
    ? `Searching ${count} selected document${count === 1 ? "" : "s"}.`
    : "Searching all documents.";
  ui.clearSelection.hidden = count === 0;
}

async function loadDocuments(append = false) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (append && state.nextCursor) params.set("cursor", state.nextCursor);
  setStatus(ui.docStatus, "Loading documents…");
  try {
    const data = await getJSON(`/v1/documents?${params}`);
    if (!append) ui.docList.replaceChildren();
    for (const doc of data.documents || []) ui.docList.append(documentItem(doc));
    state.nextCursor = data.next_cursor || null;
    ui.docMore.hidden = !state.nextCursor;
    setStatus(ui.docStatus, ui.docList.children.length ? "" : "No documents yet. Add one below.");
  } catch (err) {
    setStatus(ui.docStatus, `Could not load documents: ${err.message}`, true);
  }
}

function documentItem(doc) {
  const title = doc.title || doc.document_id;
  const checkId = `doc-check-${++state.uid}`;
  const check = el("input", { type: "checkbox", id: checkId, class: "doc-check" });
  check.checked = state.selected.has(doc.document_id);
  check.addEventListener("change", () => {
    if (check.checked) state.selected.add(doc.document_id);
    else state.selected.delete(doc.document_id);
    updateFilterStatus();
  });
  const meta = joinParts([doc.source, doc.published_at, doc.chunks !== undefined ? `${doc.chunks} chunk${doc.chunks === 1 ? "" : "s"}` : ""], " · ");
  const item = el("li", { class: "doc" });
  const view = el("button", { type: "button", class: "secondary small", text: "View", "aria-label": `View ${title}` });
  // Without quote/offsets, openSource shows the whole article with nothing highlighted.
  view.addEventListener("click", () => openSource({ ...doc, text: undefined }, view));
  const remove = el("button", { type: "button", class: "danger small", text: "Delete", "aria-label": `Delete ${title}` });
  remove.addEventListener("click", () => deleteDocument(doc, item, remove));
  item.append(
    el("div", { class: "doc-head" }, check, el("label", { for: checkId, class: "doc-title", text: title })),
    el("p", { class: "meta", text: meta }),
    el("div", { class: "doc-actions" }, view, remove));
  return item;
}

async function deleteDocument(doc, item, button) {
  const title = doc.title || doc.document_id;
  if (!window.confirm(`Delete "${title}"? This cannot be undone.`)) return;
  button.disabled = true;
  try {
    await request(`/v1/documents/${encodeURIComponent(doc.document_id)}`, { method: "DELETE" });
  } catch (err) {
    button.disabled = false;
    item.querySelector(".inline-error")?.remove();
    item.append(el("p", { class: "inline-error", role: "alert", text: err.message }));
    return;
  }
  state.selected.delete(doc.document_id);
  state.docCache.delete(doc.document_id);
  updateFilterStatus();
  if (state.viewerDocId === doc.document_id) closeViewer();
  await loadDocuments();
  setStatus(ui.docStatus, `Deleted "${title}".`);
  ui.docsHeading.focus();
}

function addPayload() {
  const payload = { title: ui.addTitle.value.trim(), text: ui.addText.value };
  const optional = { url: ui.addUrl.value.trim(), source: ui.addSource.value.trim(), published_at: ui.addDate.value };
  for (const [key, value] of Object.entries(optional)) if (value) payload[key] = value;
  return payload;
}

/** Marks the field a 422 problem names, so the error is next to its cause. */
function flagInvalidField(message) {
  const inputs = { title: ui.addTitle, text: ui.addText, url: ui.addUrl, source: ui.addSource, published_at: ui.addDate };
  let first = null;
  for (const [name, input] of Object.entries(inputs)) {
    const hit = new RegExp(`\\b${name}\\b`).test(message);
    if (hit) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    first = first || (hit ? input : null);
  }
  if (first) first.focus();
}

async function onAddDocument(event) {
  event.preventDefault();
  const payload = addPayload();
  if (!payload.title || !payload.text.trim()) {
    setStatus(ui.addStatus, "Title and Text are required.", true);
    return;
  }
  ui.addSubmit.disabled = true;
  setStatus(ui.addStatus, "Adding the document…");
  try {
    const result = await (await request("/v1/documents", { method: "POST", body: payload })).json();
    state.docCache.delete(result.document_id);
    ui.addForm.reset();
    flagInvalidField("");
    await loadDocuments();
    const chunks = result.chunks !== undefined ? `, ${result.chunks} chunks` : "";
    setStatus(ui.addStatus, `Saved "${result.title || payload.title}" (${result.status || "ok"}${chunks}).`);
  } catch (err) {
    setStatus(ui.addStatus, err.message, true);
    if (err.status === 422) flagInvalidField(err.message);
  } finally {
    ui.addSubmit.disabled = false;
  }
}

async function onFileChosen() {
  const file = ui.addFile.files && ui.addFile.files[0];
  if (!file) return;
  if (!/\.(txt|md|markdown)$/i.test(file.name) && !file.type.startsWith("text/")) {
    return setStatus(ui.addStatus, "Choose a .txt or .md file.", true);
  }
  const content = await file.text().catch(() => null);
  if (content === null) return setStatus(ui.addStatus, `Could not read ${file.name}.`, true);
  ui.addText.value = content;
  if (!ui.addTitle.value.trim()) ui.addTitle.value = file.name.replace(/\.[^.]+$/, "");
  setStatus(ui.addStatus, `Loaded ${file.name} into Text.`);
}

// ---------- wiring ----------

function init() {
  ui.authForm.addEventListener("submit", onKeySubmit);
  ui.authToggle.addEventListener("click", () => {
    ui.authMessage.textContent = "";
    ui.authForm.hidden = false;
    ui.authToggle.hidden = true;
    ui.apiKey.focus();
  });
  for (const radio of [ui.modeExtractive, ui.modeGenerative]) {
    radio.addEventListener("change", () => { state.modeTouched = true; });
  }
  ui.question.addEventListener("keydown", onQuestionKeydown);
  ui.askForm.addEventListener("submit", onAsk);
  ui.viewerClose.addEventListener("click", closeViewer);
  ui.sourceViewer.addEventListener("keydown", (event) => { if (event.key === "Escape") closeViewer(); });
  ui.docMore.addEventListener("click", () => loadDocuments(true));
  ui.clearSelection.addEventListener("click", () => {
    state.selected.clear();
    for (const box of ui.docList.querySelectorAll(".doc-check")) box.checked = false;
    updateFilterStatus();
    ui.docsHeading.focus();
  });
  ui.addForm.addEventListener("submit", onAddDocument);
  ui.addFile.addEventListener("change", onFileChosen);
  updateFilterStatus();
  loadInfo();
  loadDocuments();
}

init();
