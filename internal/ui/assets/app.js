// Parley agent workspace: sign-in, live updates over the event stream,
// local times, offer countdowns, keyboard shortcuts. No build step; no
// inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  var doc = document;
  var body = doc.body;
  var lang = body.getAttribute("data-lang") || "en";
  doc.documentElement.classList.add("js");

  // ---- Sign in with the session API ----
  var login = doc.getElementById("login-form");
  if (login) {
    login.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = doc.getElementById("login-error");
      var btn = doc.getElementById("login-submit");
      err.hidden = true;
      btn.disabled = true;
      fetch(login.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: login.elements.email.value, password: login.elements.password.value })
      }).then(function (res) {
        if (res.ok) {
          window.location.assign(login.getAttribute("data-next"));
          return;
        }
        btn.disabled = false;
        var key = res.status === 401 ? "data-msg-bad" : res.status === 429 ? "data-msg-limited" : "data-msg-error";
        err.textContent = login.getAttribute(key);
        err.hidden = false;
        login.elements.password.focus();
      }, function () {
        btn.disabled = false;
        err.textContent = login.getAttribute("data-msg-error");
        err.hidden = false;
      });
    });
  }

  // ---- Small form helpers ----
  doc.addEventListener("change", function (ev) {
    var form = ev.target.form;
    if (form && form.hasAttribute("data-autosubmit")) form.requestSubmit();
  });
  doc.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  doc.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var input = doc.getElementById(btn.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () {
      var old = btn.textContent;
      btn.textContent = btn.getAttribute("data-copied");
      setTimeout(function () { btn.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { doc.execCommand("copy"); done(); });
    } else {
      doc.execCommand("copy");
      done();
    }
  });

  // ---- Times in the reader's zone and language ----
  var absFmt, relFmt;
  try {
    absFmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    relFmt = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  } catch (e) { /* old browser: keep the server's UTC text */ }
  function relative(date) {
    var s = Math.round((date.getTime() - Date.now()) / 1000);
    var a = Math.abs(s);
    if (a < 45) return relFmt.format(0, "second");
    if (a < 3600) return relFmt.format(Math.round(s / 60), "minute");
    if (a < 86400) return relFmt.format(Math.round(s / 3600), "hour");
    return relFmt.format(Math.round(s / 86400), "day");
  }
  function localizeTimes(root) {
    if (!absFmt) return;
    (root || doc).querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = absFmt.format(d);
      t.textContent = t.hasAttribute("data-relative") && relFmt ? relative(d) : absFmt.format(d);
    });
  }

  // ---- Offer countdowns ----
  function tickCountdowns() {
    doc.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.max(0, Math.round((new Date(el.getAttribute("data-expires")).getTime() - Date.now()) / 1000));
      el.textContent = (el.getAttribute("data-template") || "{n}").replace("{n}", String(left));
      if (left === 0) {
        var offer = el.closest(".offer");
        if (offer) {
          offer.classList.add("expired");
          offer.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        }
      }
    });
  }
  setInterval(tickCountdowns, 1000);

  // ---- Live updates: the event stream says what changed; the server
  // renders the fragments again. After every (re)connection everything is
  // fetched again, since the stream does not replay what was missed. ----
  var pending = new Map();
  function refresh(el) {
    if (!el.id || pending.has(el.id)) return;
    pending.set(el.id, setTimeout(function () {
      pending.delete(el.id);
      var cur = doc.getElementById(el.id);
      if (cur && window.htmx) window.htmx.trigger(cur, "refresh");
    }, 120));
  }
  function onEvent(type, data) {
    doc.querySelectorAll("[data-live]").forEach(function (el) {
      var types = el.getAttribute("data-live").split(" ");
      if (types.indexOf(type) < 0) return;
      var only = el.getAttribute("data-live-case");
      if (only && data && data.case_id && data.case_id !== only) return;
      refresh(el);
    });
  }
  var liveState = doc.getElementById("live-state");
  function setLive(on) {
    body.setAttribute("data-live-state", on ? "on" : "off");
    if (liveState) {
      liveState.textContent = liveState.getAttribute(on ? "data-label-live" : "data-label-offline");
      liveState.classList.toggle("off", !on);
    }
  }
  if (window.EventSource && doc.querySelector("[data-live]")) {
    var types = ["case.created", "case.updated", "message.created", "message.status", "note.created", "offer.created", "offer.accepted",
      "offer.rejected", "offer.expired", "offer.cancelled", "agent.state", "sla.warning", "sla.breached"];
    var es;
    var connect = function () {
      es = new EventSource("/api/v1/events");
      es.onopen = function () {
        // Whatever changed between this page's rendering (or the last
        // connection) and now was not streamed: fetch it once.
        setLive(true);
        doc.querySelectorAll("[data-live]").forEach(refresh);
      };
      es.onerror = function () { setLive(false); };
      types.forEach(function (t) {
        es.addEventListener(t, function (m) {
          var data = null;
          try { data = JSON.parse(m.data); } catch (e) { /* ignore */ }
          onEvent(t, data);
        });
      });
    };
    connect();
    window.addEventListener("pagehide", function () { if (es) es.close(); });
  }

  // ---- Inbox selection and keyboard shortcuts ----
  var selected = null;
  function rows() { return Array.prototype.slice.call(doc.querySelectorAll("#case-list .case-row")); }
  function select(row, focus) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
    selected = row.getAttribute("data-case-id");
    if (focus) {
      var a = row.querySelector("a");
      if (a) a.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }
  function restoreSelection() {
    if (!selected) return;
    var row = doc.querySelector('#case-list .case-row[data-case-id="' + CSS.escape(selected) + '"]');
    if (row) select(row, false);
  }
  function move(delta) {
    var rs = rows();
    if (!rs.length) return;
    var i = rs.findIndex(function (r) { return r.classList.contains("selected"); });
    i = i < 0 ? (delta > 0 ? 0 : rs.length - 1) : Math.min(rs.length - 1, Math.max(0, i + delta));
    select(rs[i], true);
  }
  function post(action, fields) {
    var f = doc.createElement("form");
    f.method = "post";
    f.action = action;
    Object.keys(fields).forEach(function (k) {
      var i = doc.createElement("input");
      i.type = "hidden";
      i.name = k;
      i.value = fields[k];
      f.appendChild(i);
    });
    body.appendChild(f);
    f.submit();
  }
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  doc.addEventListener("focusin", function (ev) {
    var row = ev.target.closest && ev.target.closest("#case-list .case-row");
    if (row) select(row, false);
  });
  if (body.hasAttribute("data-shortcuts")) {
    doc.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) {
        if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter" && ev.target.id === "reply-text") {
          ev.preventDefault();
          doc.getElementById("reply-form").requestSubmit();
        }
        return;
      }
      if (typing(ev.target)) {
        if (ev.key === "Escape") ev.target.blur();
        return;
      }
      var page = body.getAttribute("data-page");
      var inCase = !!doc.querySelector(".case-page");
      var row = doc.querySelector("#case-list .case-row.selected");
      switch (ev.key) {
        case "j": if (!inCase) { move(1); ev.preventDefault(); } break;
        case "k": if (!inCase) { move(-1); ev.preventDefault(); } break;
        case "o":
        case "Enter":
          if (!inCase && row && ev.target === body) { window.location.assign(row.querySelector("a").href); ev.preventDefault(); }
          break;
        case "r":
          if (inCase) {
            var t = doc.getElementById("reply-text");
            if (t) { t.focus(); ev.preventDefault(); }
          } else if (row) {
            window.location.assign(row.querySelector("a").href + "#reply");
            ev.preventDefault();
          }
          break;
        case "e":
          if (inCase) {
            var b = doc.querySelector('[data-shortcut="e"]');
            if (b) { b.click(); ev.preventDefault(); }
          } else if (row && row.hasAttribute("data-resolve")) {
            post(row.getAttribute("data-resolve"), { status: "resolved", next: window.location.pathname + window.location.search });
            ev.preventDefault();
          }
          break;
        case "/":
          var q = doc.getElementById("f-q");
          if (q && page === "inbox") { q.focus(); ev.preventDefault(); }
          break;
        case "?":
          var d = doc.getElementById("shortcuts-help");
          if (d && d.showModal) { d.showModal(); ev.preventDefault(); }
          break;
      }
    });
  }

  // ---- Case page: newest message in view, reply box on #reply ----
  function scrollTimeline(force) {
    var tl = doc.getElementById("timeline");
    if (!tl) return;
    var near = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 160;
    if (force || near) tl.scrollTop = tl.scrollHeight;
  }

  doc.addEventListener("htmx:beforeSwap", function (ev) {
    // Keep the agent's reading position unless they were at the bottom.
    var tl = doc.getElementById("timeline");
    body.__stick = tl ? tl.scrollHeight - tl.scrollTop - tl.clientHeight < 160 : false;
  });
  doc.addEventListener("htmx:afterSettle", function (ev) {
    localizeTimes(ev.target);
    restoreSelection();
    tickCountdowns();
    if (body.__stick) scrollTimeline(true);
  });

  localizeTimes(doc);
  tickCountdowns();
  scrollTimeline(true);
  if (window.location.hash === "#reply") {
    var rt = doc.getElementById("reply-text");
    if (rt) rt.focus();
  }
  setInterval(function () {
    doc.querySelectorAll("time[data-relative]").forEach(function (t) { localizeTimes(t.parentNode); });
  }, 30000);
})();
