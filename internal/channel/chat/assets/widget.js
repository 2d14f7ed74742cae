/* Parley chat widget. Plain JavaScript, no dependencies.
 * <script src="https://<parley>/widget.js" data-point-of-contact="<id>" [data-identity-token="<token>"] async></script>
 * Visitor text is only ever set with textContent; the only HTML inserted is
 * the server-sanitised "html" of html/markdown messages. */
(function () {
  "use strict";
  if (window.ParleyChat) return;
  var CSS = "__PARLEY_CSS__";
  var VERSION = "__PARLEY_VERSION__";
  var script = document.currentScript || document.querySelector("script[data-point-of-contact]");
  if (!script) return;
  var POC = script.getAttribute("data-point-of-contact") || "";
  if (!POC) return;
  var IDENTITY = script.getAttribute("data-identity-token") || "";
  var BASE = new URL(script.src, location.href).origin;
  var API = BASE + "/chat/" + encodeURIComponent(POC);
  var KEY = "parley-chat:" + POC;

  var cfg = null, sess = null, ws = null, attempts = 0, reconnectTimer = null, isOpen = false;
  var unread = 0, typingOn = false, typingTimer = null, agentTypingTimer = null;
  var byId = {}, byClient = {}, unacked = {}, readSent = {};
  var els = {};

  // ---- small helpers ----
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  function store(k, v) { try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function newID() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    var h = "";
    for (var i = 0; i < b.length; i++) h += (b[i] < 16 ? "0" : "") + b[i].toString(16);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function safeHref(u, allowTel) {
    if (typeof u !== "string") return null;
    var l = u.trim().toLowerCase();
    if (l.indexOf("https://") === 0 || l.indexOf("http://") === 0 || l.indexOf("mailto:") === 0) return u.trim();
    if (allowTel && l.indexOf("tel:") === 0) return u.trim();
    if (l.charAt(0) === "/" && l.charAt(1) !== "/") return BASE + u.trim();
    return null;
  }
  function link(href, text, cls) {
    var a = el("a", cls, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }
  function img(src, alt, cls) {
    var h = safeHref(src, false);
    if (!h || h.indexOf("mailto:") === 0) return null;
    var i = el("img", cls);
    i.src = h;
    i.alt = alt || "";
    i.loading = "lazy";
    return i;
  }
  function setState(s) { if (els.root) els.root.setAttribute("data-state", s); if (els.conn) els.conn.textContent = s === "connected" ? "" : (s === "offline" ? "Reconnecting…" : "Connecting…"); }
  function api(method, path, body) {
    var opts = { method: method, headers: {}, mode: "cors", credentials: "omit" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(API + path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.error || ("HTTP " + r.status)); e.status = r.status; throw e; }
        return j;
      });
    });
  }

  // ---- DOM ----
  function build() {
    var st = el("style");
    st.id = "parley-style";
    st.textContent = CSS;
    document.head.appendChild(st);
    var root = el("div", "parley-root");
    root.id = "parley-chat";
    root.setAttribute("data-version", VERSION);
    var launcher = el("button", "parley-launcher");
    launcher.id = "parley-launcher";
    launcher.type = "button";
    launcher.setAttribute("aria-label", "Open chat");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "parley-window");
    launcher.appendChild(el("span", "parley-launcher-icon", "\uD83D\uDCAC"));
    var badge = el("span", "parley-badge");
    badge.hidden = true;
    badge.setAttribute("aria-hidden", "true");
    launcher.appendChild(badge);

    var win = el("section", "parley-window");
    win.id = "parley-window";
    win.hidden = true;
    win.setAttribute("role", "dialog");
    win.setAttribute("aria-label", "Chat");
    var header = el("header", "parley-header");
    var title = el("h2", "parley-title", "Chat");
    title.id = "parley-title";
    win.setAttribute("aria-labelledby", "parley-title");
    var conn = el("span", "parley-conn");
    conn.setAttribute("aria-live", "polite");
    var close = el("button", "parley-close", "\u00D7");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
    header.appendChild(title);
    header.appendChild(conn);
    header.appendChild(close);

    var list = el("div", "parley-messages");
    list.id = "parley-messages";
    list.setAttribute("role", "log");
    list.setAttribute("aria-live", "polite");
    list.setAttribute("aria-label", "Messages");
    list.tabIndex = 0;
    var greeting = el("div", "parley-greeting");
    greeting.hidden = true;
    list.appendChild(greeting);

    var typing = el("div", "parley-typing");
    typing.id = "parley-typing";
    typing.hidden = true;
    typing.setAttribute("aria-live", "polite");

    var prechat = el("form", "parley-prechat");
    prechat.id = "parley-prechat";
    prechat.hidden = true;
    prechat.noValidate = true;

    var composer = el("form", "parley-composer");
    composer.id = "parley-composer";
    var attach = el("button", "parley-attach", "\uD83D\uDCCE");
    attach.type = "button";
    attach.id = "parley-attach";
    attach.setAttribute("aria-label", "Attach a file");
    var file = el("input");
    file.type = "file";
    file.id = "parley-file";
    file.hidden = true;
    file.setAttribute("aria-hidden", "true");
    file.tabIndex = -1;
    var input = el("textarea", "parley-input");
    input.id = "parley-input";
    input.rows = 1;
    input.placeholder = "Write a message\u2026";
    input.setAttribute("aria-label", "Message");
    var send = el("button", "parley-send", "Send");
    send.type = "submit";
    send.id = "parley-send";
    send.setAttribute("aria-label", "Send message");
    composer.appendChild(attach);
    composer.appendChild(file);
    composer.appendChild(input);
    composer.appendChild(send);

    win.appendChild(header);
    win.appendChild(list);
    win.appendChild(typing);
    win.appendChild(prechat);
    win.appendChild(composer);
    root.appendChild(win);
    root.appendChild(launcher);
    document.body.appendChild(root);
    els = { root: root, launcher: launcher, badge: badge, win: win, title: title, conn: conn, close: close, list: list,
      greeting: greeting, typing: typing, prechat: prechat, composer: composer, attach: attach, file: file, input: input, send: send };

    launcher.addEventListener("click", function () { isOpen ? closeWin() : openWin(); });
    close.addEventListener("click", closeWin);
    win.addEventListener("keydown", function (e) { if (e.key === "Escape") { closeWin(); launcher.focus(); } });
    composer.addEventListener("submit", function (e) { e.preventDefault(); sendText(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
    });
    input.addEventListener("input", onInput);
    attach.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () { if (file.files && file.files[0]) upload(file.files[0]); file.value = ""; });
    document.addEventListener("visibilitychange", markVisibleRead);
    setState("connecting");
  }

  function openWin() {
    isOpen = true;
    els.win.hidden = false;
    els.launcher.setAttribute("aria-expanded", "true");
    els.launcher.setAttribute("aria-label", "Close chat");
    unread = 0;
    els.badge.hidden = true;
    scrollDown();
    if (!els.prechat.hidden) { var f = els.prechat.querySelector("input"); if (f) f.focus(); } else els.input.focus();
    markVisibleRead();
  }
  function closeWin() {
    isOpen = false;
    els.win.hidden = true;
    els.launcher.setAttribute("aria-expanded", "false");
    els.launcher.setAttribute("aria-label", "Open chat");
  }
  function scrollDown() { els.list.scrollTop = els.list.scrollHeight; }

  // ---- session and connection ----
  function start() {
    api("GET", "/config").then(function (c) {
      cfg = c;
      els.title.textContent = c.title || "Chat";
      if (c.greeting) { els.greeting.textContent = c.greeting; els.greeting.hidden = false; }
      if (c.max_message_length) els.input.maxLength = c.max_message_length;
      if (c.accept) els.file.accept = c.accept;
      return session();
    }).then(connect).catch(function () { setState("offline"); retry(); });
  }

  function session(prechat) {
    var body = { token: load(KEY) || "", identity_token: IDENTITY };
    if (prechat) body.prechat = prechat;
    return api("POST", "/session", body).then(function (s) {
      sess = s;
      store(KEY, s.token);
      showPrechat(s.prechat_needed && cfg && cfg.prechat_form);
      return s;
    });
  }

  function connect() {
    if (ws) { try { ws.onclose = null; ws.close(); } catch (e) { /* ignore */ } ws = null; }
    clearTimeout(reconnectTimer);
    setState("connecting");
    var url = API.replace(/^http/, "ws") + "/ws?token=" + encodeURIComponent(sess.token);
    var sock = new WebSocket(url);
    ws = sock;
    sock.onopen = function () {
      attempts = 0;
      setState("connected");
      for (var k in unacked) if (Object.prototype.hasOwnProperty.call(unacked, k)) sock.send(JSON.stringify(unacked[k]));
    };
    sock.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      onFrame(f);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      setState("offline");
      retry();
    };
  }

  function retry() {
    clearTimeout(reconnectTimer);
    attempts++;
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempts - 1, 5)));
    delay = delay / 2 + Math.random() * delay / 2;
    reconnectTimer = setTimeout(function () {
      // After a few failures the token may have expired: renew it first.
      var p = (!cfg) ? api("GET", "/config").then(function (c) { cfg = c; return session(); })
        : (attempts > 2 || !sess) ? session() : Promise.resolve(sess);
      p.then(connect).catch(function () { retry(); });
    }, delay);
  }

  function sendFrame(f) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; }
    return false;
  }

  // ---- frames from the server ----
  function onFrame(f) {
    switch (f.type) {
      case "history":
        (f.messages || []).forEach(function (m) { addMessage(m, true); });
        scrollDown();
        markVisibleRead();
        break;
      case "message":
        addMessage(f, false);
        if (f.direction !== "inbound") {
          showAgentTyping(false);
          if (!isOpen) { unread++; els.badge.textContent = String(unread); els.badge.hidden = false; }
        }
        scrollDown();
        markVisibleRead();
        break;
      case "ack":
        delete unacked[f.client_id];
        var b = byClient[f.client_id];
        if (b) { if (f.message_id) { b.setAttribute("data-id", f.message_id); byId[f.message_id] = b; } setStatus(b, "received"); }
        break;
      case "status":
        var t = (f.client_id && byClient[f.client_id]) || (f.message_id && byId[f.message_id]);
        if (t) setStatus(t, f.status);
        break;
      case "typing":
        showAgentTyping(!!f.on, f.author_name);
        break;
      case "error":
        if (f.client_id && byClient[f.client_id]) {
          delete unacked[f.client_id];
          failed(byClient[f.client_id], f.error);
        }
        break;
    }
  }

  function showAgentTyping(on, name) {
    clearTimeout(agentTypingTimer);
    els.typing.hidden = !on;
    els.typing.textContent = on ? ((name || "Agent") + " is typing\u2026") : "";
    if (on) agentTypingTimer = setTimeout(function () { showAgentTyping(false); }, 30000);
  }

  // ---- messages ----
  function addMessage(m, fromHistory) {
    if (!m || !m.id) return;
    var existing = byId[m.id] || (m.client_id && byClient[m.client_id]);
    if (existing) {
      existing.setAttribute("data-id", m.id);
      byId[m.id] = existing;
      if (m.client_id) delete unacked[m.client_id];
      if (m.status) setStatus(existing, m.status);
      return;
    }
    var node = renderMessage(m);
    byId[m.id] = node;
    if (m.client_id) byClient[m.client_id] = node;
    insertSorted(node, m.created_at);
  }

  function insertSorted(node, at) {
    node.setAttribute("data-at", at || new Date().toISOString());
    var t = Date.parse(node.getAttribute("data-at"));
    var kids = els.list.querySelectorAll(".parley-msg");
    for (var i = kids.length - 1; i >= 0; i--) {
      if (Date.parse(kids[i].getAttribute("data-at")) <= t) { kids[i].after(node); return; }
    }
    if (kids.length) kids[0].before(node); else els.list.appendChild(node);
  }

  function bubble(mine, m) {
    var b = el("div", "parley-msg " + (mine ? "parley-msg-mine" : "parley-msg-theirs"));
    b.setAttribute("role", "article");
    if (m && m.id) b.setAttribute("data-id", m.id);
    if (m && m.client_id) b.setAttribute("data-client-id", m.client_id);
    if (!mine && m) {
      var who = m.author_name || (m.author_type === "bot" ? "Assistant" : (m.author_type === "system" ? "" : "Agent"));
      if (who) b.appendChild(el("div", "parley-author", who));
    }
    return b;
  }

  function setStatus(b, s) {
    if (!b.classList.contains("parley-msg-mine")) return;
    var rank = { pending: 0, received: 1, sent: 1, delivered: 2, read: 3 };
    var cur = b.getAttribute("data-status");
    if (cur && rank[cur] != null && rank[s] != null && rank[s] < rank[cur]) return;
    b.setAttribute("data-status", s);
    b.classList.remove("parley-failed");
    var st = b.querySelector(".parley-status");
    if (!st) { st = el("span", "parley-status"); b.appendChild(st); }
    var label = { pending: "Sending", received: "Sent", sent: "Sent", delivered: "Delivered", read: "Read" }[s] || s;
    st.textContent = s === "read" ? "\u2713\u2713" : (s === "pending" ? "\u25F7" : "\u2713");
    st.setAttribute("aria-label", label);
    st.title = label;
  }

  function failed(b, why) {
    b.classList.add("parley-failed");
    var st = b.querySelector(".parley-status");
    if (!st) { st = el("span", "parley-status"); b.appendChild(st); }
    st.textContent = why === "rate_limited" ? "Not sent (too fast) " : "Not sent ";
    var again = el("button", "parley-retry", "Retry");
    again.type = "button";
    again.addEventListener("click", function () {
      var f = b._frame;
      if (!f) return;
      unacked[f.client_id] = f;
      setStatus(b, "pending");
      sendFrame(f);
    });
    st.appendChild(again);
  }

  function renderMessage(m) {
    var mine = m.direction === "inbound";
    var b = bubble(mine, m);
    if (mine) {
      b.appendChild(el("div", "parley-text", m.text || ""));
      renderAttachments(b, m.attachments);
      setStatus(b, m.status || "received");
      return b;
    }
    var n = m.native;
    var body = el("div", "parley-body");
    b.appendChild(body);
    try {
      if (m.html && n && (n.type === "html" || n.type === "markdown")) {
        var h = el("div", "parley-html");
        h.innerHTML = m.html; // sanitised by Parley (bluemonday), never visitor input
        h.querySelectorAll("a").forEach(function (a) { a.target = "_blank"; a.rel = "noopener noreferrer nofollow"; });
        body.appendChild(h);
      } else if (n && n.v === 1) {
        renderNative(body, n, m);
      } else {
        body.appendChild(el("div", "parley-text", m.text || ""));
      }
    } catch (e) {
      body.textContent = "";
      body.appendChild(el("div", "parley-text", m.text || ""));
    }
    renderAttachments(b, m.attachments);
    b.setAttribute("data-outbound-status", m.status || "sent");
    if (m.status === "read") readSent[m.id] = true;
    observe(b);
    return b;
  }

  function renderAttachments(b, atts) {
    (atts || []).forEach(function (a) {
      var href = safeHref(a.url, false);
      var box = el("div", "parley-attachment");
      if (href && /^image\//.test(a.mime_type || "")) {
        var i = img(href, a.name, "parley-image");
        if (i) { var l = link(href, "", ""); l.appendChild(i); box.appendChild(l); }
      } else if (href) {
        box.appendChild(link(href, "\uD83D\uDCC4 " + (a.name || "file"), "parley-file-link"));
      } else {
        box.appendChild(el("span", "parley-file-name", "\uD83D\uDCC4 " + (a.name || "file")));
      }
      b.appendChild(box);
    });
  }

  function text(body, n) {
    if (n.title) body.appendChild(el("div", "parley-card-title", n.title));
    if (n.text) body.appendChild(el("div", "parley-text", n.text));
  }

  function renderNative(body, n, m) {
    switch (n.type) {
      case "quick_replies": text(body, n); quickReplies(body, n, m); break;
      case "list_picker": text(body, n); listPicker(body, n, m); break;
      case "form": text(body, n); form(body, n, m); break;
      case "rich_link": text(body, n); richLink(body, n.link); break;
      case "card": card(body, { title: n.title, subtitle: n.text, media_url: n.media && n.media.url, url: n.link && n.link.url, actions: n.options }, m); break;
      case "carousel":
        if (n.text) body.appendChild(el("div", "parley-text", n.text));
        var row = el("div", "parley-carousel");
        row.setAttribute("role", "list");
        (n.items || []).forEach(function (it) { var c = el("div", "parley-card-wrap"); c.setAttribute("role", "listitem"); card(c, it, m); row.appendChild(c); });
        body.appendChild(row);
        break;
      case "adaptive_card":
        if (!adaptiveCard(body, n.card, m)) body.appendChild(el("div", "parley-text", n.fallback_text || m.text || ""));
        break;
      case "file":
        if (n.text) body.appendChild(el("div", "parley-text", n.text));
        var md = n.media || {};
        var href = safeHref(md.url, false);
        if (href && /^image\//.test(md.mime_type || "")) { var i = img(href, md.alt || md.file_name, "parley-image"); if (i) body.appendChild(i); }
        else if (href) body.appendChild(link(href, "\uD83D\uDCC4 " + (md.file_name || "Download"), "parley-file-link"));
        break;
      case "location":
        var loc = n.location || {};
        if (n.text) body.appendChild(el("div", "parley-text", n.text));
        var label = loc.title || loc.address || "Location";
        body.appendChild(link("https://www.openstreetmap.org/?mlat=" + encodeURIComponent(loc.latitude) + "&mlon=" + encodeURIComponent(loc.longitude),
          "\uD83D\uDCCD " + label, "parley-location"));
        break;
      default:
        body.appendChild(el("div", "parley-text", m.text || n.text || ""));
    }
  }

  // choose sends the visitor's answer to a prompt as a message frame.
  function choose(m, ids, label) {
    sendMessage(label, ids.join(","), m.id);
  }

  function optionButton(o, m, cls, onPick) {
    if (o.kind === "url" || o.kind === "call") {
      var h = safeHref(o.url, o.kind === "call");
      if (!h) return el("span", cls + " parley-disabled", o.label);
      var a = link(h, o.label, cls + " parley-option-link");
      if (o.kind === "call") a.removeAttribute("target");
      return a;
    }
    var btn = el("button", cls, o.label);
    btn.type = "button";
    btn.setAttribute("data-option-id", o.id);
    if (o.description) btn.title = o.description;
    btn.addEventListener("click", function () { onPick(o, btn); });
    return btn;
  }

  function quickReplies(body, n, m) {
    var box = el("div", "parley-quick-replies");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Suggested replies");
    (n.options || []).forEach(function (o) {
      box.appendChild(optionButton(o, m, "parley-quick-reply", function (opt, btn) {
        if (!n.persistent) box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        btn.classList.add("parley-chosen");
        choose(m, [opt.id], opt.label);
      }));
    });
    body.appendChild(box);
  }

  function listPicker(body, n, m) {
    var box = el("div", "parley-list");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", n.title || "Options");
    var opts = {};
    (n.options || []).forEach(function (o) { opts[o.id] = o; });
    var picked = [];
    var sendBtn = null;
    function row(o) {
      var r = optionButton(o, m, "parley-list-row", function (opt, btn) {
        if (n.multi_select) {
          var i = picked.indexOf(opt.id);
          if (i >= 0) picked.splice(i, 1); else picked.push(opt.id);
          btn.setAttribute("aria-pressed", i >= 0 ? "false" : "true");
          btn.classList.toggle("parley-selected", i < 0);
          sendBtn.disabled = picked.length === 0;
          return;
        }
        if (!n.persistent) box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        btn.classList.add("parley-chosen");
        choose(m, [opt.id], opt.label);
      });
      if (n.multi_select && r.tagName === "BUTTON") r.setAttribute("aria-pressed", "false");
      if (o.description && r.tagName === "BUTTON") { r.textContent = ""; r.appendChild(el("span", "parley-row-label", o.label)); r.appendChild(el("span", "parley-row-desc", o.description)); }
      var icon = o.icon_url && img(o.icon_url, "", "parley-row-icon");
      if (icon) r.insertBefore(icon, r.firstChild);
      return r;
    }
    var done = {};
    (n.sections || []).forEach(function (s) {
      if (s.title) box.appendChild(el("div", "parley-list-section", s.title));
      (s.option_ids || s.optionIds || []).forEach(function (id) { if (opts[id] && !done[id]) { done[id] = true; box.appendChild(row(opts[id])); } });
    });
    (n.options || []).forEach(function (o) { if (!done[o.id]) box.appendChild(row(o)); });
    if (n.multi_select) {
      sendBtn = el("button", "parley-list-send", "Send");
      sendBtn.type = "button";
      sendBtn.disabled = true;
      sendBtn.addEventListener("click", function () {
        if (!picked.length) return;
        var labels = picked.map(function (id) { return opts[id].label; });
        if (!n.persistent) box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        choose(m, picked.slice(), labels.join(", "));
      });
      box.appendChild(sendBtn);
    }
    body.appendChild(box);
  }

  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var PHONE_RE = /^\+?[0-9 ().-]{5,32}$/;

  function form(body, n, m) {
    var f = el("form", "parley-form");
    f.noValidate = true;
    var inputs = [];
    (n.fields || []).forEach(function (fd, idx) {
      var id = "parley-f-" + m.id.replace(/[^A-Za-z0-9_-]/g, "") + "-" + idx;
      var wrap = el("div", "parley-field");
      var lab = el("label", "parley-label", fd.label + (fd.required ? " *" : ""));
      lab.htmlFor = id;
      wrap.appendChild(lab);
      var inp;
      if (fd.type === "select") {
        inp = el("select", "parley-select");
        if (fd.multi_select) inp.multiple = true; else inp.appendChild(el("option", "", ""));
        (fd.options || []).forEach(function (o) { var op = el("option", "", o.label); op.value = o.id; inp.appendChild(op); });
      } else {
        inp = el("input", "parley-field-input");
        inp.type = { email: "email", phone: "tel", number: "number", date: "date" }[fd.type] || "text";
        if (fd.placeholder) inp.placeholder = fd.placeholder;
        if (fd.max_len) inp.maxLength = fd.max_len;
      }
      inp.id = id;
      inp.name = fd.name;
      if (fd.required) inp.setAttribute("aria-required", "true");
      var err = el("div", "parley-field-error");
      err.id = id + "-err";
      inp.setAttribute("aria-describedby", err.id);
      wrap.appendChild(inp);
      wrap.appendChild(err);
      f.appendChild(wrap);
      inputs.push({ fd: fd, inp: inp, err: err });
    });
    var submit = el("button", "parley-form-submit", "Submit");
    submit.type = "submit";
    f.appendChild(submit);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var values = {}, ok = true, first = null;
      inputs.forEach(function (x) {
        var v;
        if (x.inp.multiple) v = Array.prototype.filter.call(x.inp.options, function (o) { return o.selected; }).map(function (o) { return o.value; }).join(",");
        else v = (x.inp.value || "").trim();
        var msg = validateField(x.fd, v);
        x.err.textContent = msg;
        x.inp.setAttribute("aria-invalid", msg ? "true" : "false");
        if (msg) { ok = false; if (!first) first = x.inp; }
        if (v !== "") values[x.fd.name] = v;
      });
      if (!ok) { first.focus(); return; }
      var cid = newID();
      var frame = { type: "form", client_id: cid, prompt_id: m.id, values: values };
      f.querySelectorAll("input,select,button").forEach(function (x) { x.disabled = true; });
      var lines = (n.fields || []).filter(function (fd) { return values[fd.name]; }).map(function (fd) { return fd.label + ": " + values[fd.name]; });
      queue(frame, lines.join("\n"));
    });
    body.appendChild(f);
  }

  function validateField(fd, v) {
    if (!v) return fd.required ? "Required" : "";
    if (fd.min_len && v.length < fd.min_len) return "At least " + fd.min_len + " characters";
    if (fd.max_len && v.length > fd.max_len) return "At most " + fd.max_len + " characters";
    if (fd.type === "email" && !EMAIL_RE.test(v)) return "Enter an email address";
    if (fd.type === "phone" && !PHONE_RE.test(v)) return "Enter a phone number";
    if (fd.type === "number" && !/^-?\d+(\.\d+)?$/.test(v)) return "Enter a number";
    if (fd.type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(v)) return "Enter a date";
    if (fd.pattern) { try { if (!new RegExp("^(?:" + fd.pattern + ")$").test(v)) return "Invalid format"; } catch (e) { /* server checks */ } }
    return "";
  }

  function richLink(body, l) {
    if (!l) return;
    var h = safeHref(l.url, false);
    if (!h) return;
    var a = link(h, "", "parley-rich-link");
    var i = l.image_url && img(l.image_url, "", "parley-rich-link-image");
    if (i) a.appendChild(i);
    a.appendChild(el("span", "parley-rich-link-title", l.title || l.url));
    body.appendChild(a);
  }

  function card(box, it, m) {
    var c = el("div", "parley-card");
    var i = it.media_url && img(it.media_url, it.title, "parley-card-image");
    if (i) c.appendChild(i);
    var h = safeHref(it.url, false);
    if (it.title) c.appendChild(h ? link(h, it.title, "parley-card-title") : el("div", "parley-card-title", it.title));
    if (it.subtitle) c.appendChild(el("div", "parley-card-subtitle", it.subtitle));
    if (it.actions && it.actions.length) {
      var acts = el("div", "parley-card-actions");
      it.actions.forEach(function (o) {
        acts.appendChild(optionButton(o, m, "parley-card-action", function (opt, btn) {
          btn.classList.add("parley-chosen");
          choose(m, [opt.id], opt.label);
        }));
      });
      c.appendChild(acts);
    }
    box.appendChild(c);
  }

  // A basic Adaptive Card renderer: TextBlock, Image, FactSet, Container,
  // ColumnSet, Input.Text; Action.Submit and Action.OpenUrl.
  function adaptiveCard(body, cardJSON, m) {
    if (!cardJSON || cardJSON.type !== "AdaptiveCard") return false;
    var root = el("div", "parley-ac");
    var inputs = [];
    var count = 0;
    function elements(parent, items, depth) {
      if (!Array.isArray(items) || depth > 5) return;
      items.forEach(function (it) {
        if (!it || typeof it !== "object") return;
        switch (it.type) {
          case "TextBlock":
            var t = el("div", "parley-ac-text", it.text || "");
            if (it.weight === "Bolder" || it.weight === "bolder") t.classList.add("parley-ac-bold");
            if (it.size) t.classList.add("parley-ac-size-" + String(it.size).toLowerCase().replace(/[^a-z]/g, ""));
            if (it.isSubtle) t.classList.add("parley-ac-subtle");
            parent.appendChild(t); count++;
            break;
          case "Image":
            var i = img(it.url, it.altText, "parley-ac-image");
            if (i) { parent.appendChild(i); count++; }
            break;
          case "FactSet":
            var dl = el("dl", "parley-ac-facts");
            (it.facts || []).forEach(function (f) { dl.appendChild(el("dt", "", f.title || "")); dl.appendChild(el("dd", "", f.value || "")); });
            parent.appendChild(dl); count++;
            break;
          case "Container":
            var c = el("div", "parley-ac-container");
            elements(c, it.items, depth + 1);
            parent.appendChild(c);
            break;
          case "ColumnSet":
            var cs = el("div", "parley-ac-columns");
            (it.columns || []).forEach(function (col) { var cc = el("div", "parley-ac-column"); elements(cc, col && col.items, depth + 1); cs.appendChild(cc); });
            parent.appendChild(cs);
            break;
          case "Input.Text":
            var id = "parley-ac-" + newID();
            if (it.label) { var lab = el("label", "parley-label", it.label); lab.htmlFor = id; parent.appendChild(lab); }
            var inp = it.isMultiline ? el("textarea", "parley-field-input") : el("input", "parley-field-input");
            inp.id = id;
            if (it.placeholder) inp.placeholder = it.placeholder;
            if (it.value) inp.value = it.value;
            if (it.maxLength) inp.maxLength = it.maxLength;
            if (!it.label) inp.setAttribute("aria-label", it.placeholder || it.id || "Input");
            parent.appendChild(inp);
            inputs.push({ id: String(it.id || ""), inp: inp, required: !!it.isRequired });
            count++;
            break;
        }
      });
    }
    elements(root, cardJSON.body, 0);
    var acts = el("div", "parley-card-actions");
    (cardJSON.actions || []).forEach(function (a) {
      if (!a || typeof a !== "object") return;
      if (a.type === "Action.OpenUrl") {
        var h = safeHref(a.url, false);
        if (h) { acts.appendChild(link(h, a.title || a.url, "parley-card-action parley-option-link")); count++; }
      } else if (a.type === "Action.Submit") {
        var btn = el("button", "parley-card-action", a.title || "Submit");
        btn.type = "button";
        btn.addEventListener("click", function () {
          var values = {}, ok = true;
          if (a.data && typeof a.data === "object") Object.keys(a.data).forEach(function (k) { var v = a.data[k]; if (v != null && typeof v !== "object") values[k] = String(v); });
          inputs.forEach(function (x) {
            var v = (x.inp.value || "").trim();
            if (!v && x.required) { ok = false; x.inp.setAttribute("aria-invalid", "true"); }
            if (x.id && v) values[x.id] = v;
          });
          if (!ok) return;
          if (!Object.keys(values).length) values.action = a.title || "submit";
          root.querySelectorAll("input,textarea,button").forEach(function (x) { x.disabled = true; });
          queue({ type: "form", client_id: newID(), prompt_id: m.id, values: values }, a.title || "Submitted");
        });
        acts.appendChild(btn);
        count++;
      }
    });
    if (acts.childNodes.length) root.appendChild(acts);
    if (!count) return false;
    body.appendChild(root);
    return true;
  }

  // ---- sending ----
  function sendText() {
    var t = els.input.value;
    if (!t.trim()) return;
    if (cfg && cfg.max_message_length && t.length > cfg.max_message_length) return;
    els.input.value = "";
    stopTyping();
    sendMessage(t, "", "");
  }

  function sendMessage(t, choiceID, promptID) {
    var f = { type: "message", client_id: newID(), text: t };
    if (choiceID) f.choice_id = choiceID;
    if (promptID) f.message_id = promptID;
    queue(f, t);
  }

  // queue shows the visitor's message at once and sends it until acked
  // (resent after a reconnect; the server dedupes by client_id).
  function queue(f, shown) {
    var b = bubble(true, { client_id: f.client_id });
    b.appendChild(el("div", "parley-text", shown));
    b._frame = f;
    byClient[f.client_id] = b;
    insertSorted(b, new Date().toISOString());
    setStatus(b, "pending");
    unacked[f.client_id] = f;
    sendFrame(f);
    scrollDown();
  }

  function onInput() {
    if (!typingOn) { typingOn = true; sendFrame({ type: "typing", on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) { typingOn = false; sendFrame({ type: "typing", on: false }); }
  }

  function upload(file) {
    if (!sess) return;
    var max = (cfg && cfg.max_upload_bytes) || 10485760;
    var cid = newID();
    var b = bubble(true, { client_id: cid });
    b.appendChild(el("div", "parley-text", "\uD83D\uDCC4 " + file.name));
    byClient[cid] = b;
    insertSorted(b, new Date().toISOString());
    scrollDown();
    if (file.size > max) { failed(b, "too_large"); b.querySelector(".parley-status").firstChild.textContent = "Too large (max 10 MB) "; return; }
    setStatus(b, "pending");
    var fd = new FormData();
    fd.append("client_id", cid);
    fd.append("file", file, file.name);
    fetch(API + "/upload?token=" + encodeURIComponent(sess.token), { method: "POST", body: fd, mode: "cors", credentials: "omit" })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { if (!r.ok) throw new Error(j.error || "upload failed"); return j; }); })
      .then(function (j) { b.setAttribute("data-id", j.message_id); byId[j.message_id] = b; setStatus(b, "received"); })
      .catch(function (e) {
        b.classList.add("parley-failed");
        var st = b.querySelector(".parley-status");
        st.textContent = "Not sent: " + e.message;
      });
  }

  // ---- read receipts ----
  var observer = ("IntersectionObserver" in window) ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) e.target.setAttribute("data-visible", "1"); else e.target.removeAttribute("data-visible"); });
    markVisibleRead();
  }, { threshold: 0.5 }) : null;
  function observe(b) { if (observer) observer.observe(b); }
  function markVisibleRead() {
    if (!isOpen || document.visibilityState === "hidden" || !els.list) return;
    els.list.querySelectorAll(".parley-msg-theirs").forEach(function (b) {
      var id = b.getAttribute("data-id");
      if (!id || readSent[id]) return;
      if (observer && !b.getAttribute("data-visible")) return;
      if (sendFrame({ type: "read", message_id: id })) readSent[id] = true;
    });
  }

  // ---- pre-chat form ----
  function showPrechat(form) {
    var p = els.prechat;
    if (!form || !form.enabled) { p.hidden = true; els.composer.hidden = false; return; }
    p.textContent = "";
    p.appendChild(el("p", "parley-prechat-intro", "Before we start, tell us a little about you."));
    var inputs = [];
    (form.fields || []).forEach(function (fd) {
      var id = "parley-pre-" + fd.name;
      var wrap = el("div", "parley-field");
      var lab = el("label", "parley-label", fd.label + (fd.required ? " *" : ""));
      lab.htmlFor = id;
      var inp = el("input", "parley-field-input");
      inp.id = id;
      inp.name = fd.name;
      inp.type = { email: "email", phone: "tel" }[fd.type] || "text";
      inp.maxLength = 256;
      if (fd.required) inp.setAttribute("aria-required", "true");
      var err = el("div", "parley-field-error");
      err.id = id + "-err";
      inp.setAttribute("aria-describedby", err.id);
      wrap.appendChild(lab); wrap.appendChild(inp); wrap.appendChild(err);
      p.appendChild(wrap);
      inputs.push({ fd: fd, inp: inp, err: err });
    });
    var go = el("button", "parley-form-submit", "Start chat");
    go.type = "submit";
    go.id = "parley-prechat-submit";
    p.appendChild(go);
    p.onsubmit = function (e) {
      e.preventDefault();
      var values = {}, ok = true, first = null;
      inputs.forEach(function (x) {
        var v = x.inp.value.trim();
        var msg = validateField(x.fd, v);
        x.err.textContent = msg;
        x.inp.setAttribute("aria-invalid", msg ? "true" : "false");
        if (msg) { ok = false; if (!first) first = x.inp; }
        values[x.fd.name] = v;
      });
      if (!ok) { first.focus(); return; }
      go.disabled = true;
      session(values).then(function () { connect(); els.input.focus(); })
        .catch(function (err) { go.disabled = false; inputs[0].err.textContent = err.message; });
    };
    p.hidden = false;
    els.composer.hidden = true;
  }

  // ---- start ----
  function boot() {
    build();
    window.ParleyChat = {
      version: VERSION,
      open: openWin,
      close: closeWin,
      send: function (t) { sendMessage(String(t), "", ""); },
      visitorID: function () { return sess && sess.visitor_id; }
    };
    start();
  }
  window.ParleyChat = { version: VERSION, pending: true };
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
})();
