// Parley agent workspace: the composer's emoji picker, template parameter
// fields and file checks. Plain JavaScript, no inline script (the
// Content-Security-Policy forbids it); everything degrades to the plain
// form without it.
(function () {
  "use strict";
  var doc = document;

  // ---- Emoji picker: a disclosure button and a grid of emoji buttons.
  // Arrow keys move (one roving tab stop), Home/End jump, Enter or Space
  // inserts at the reply box's caret, Escape closes. ----
  var toggle = doc.getElementById("emoji-toggle");
  var panel = doc.getElementById("emoji-panel");
  var reply = doc.getElementById("reply-text");

  function emojis() { return Array.prototype.slice.call(panel.querySelectorAll("button.emoji")); }
  function columns() {
    var grid = panel.querySelector("[data-columns]");
    return grid ? parseInt(grid.getAttribute("data-columns"), 10) || 8 : 8;
  }
  function focusEmoji(i) {
    var list = emojis();
    if (!list.length) return;
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (b, j) { b.tabIndex = j === i ? 0 : -1; });
    list[i].focus();
  }
  function openPanel() {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    var list = emojis();
    var cur = list.findIndex(function (b) { return b.tabIndex === 0; });
    focusEmoji(cur < 0 ? 0 : cur);
  }
  function closePanel(focusToggle) {
    if (panel.hidden) return;
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (focusToggle) toggle.focus();
  }
  function insert(text) {
    if (!reply || reply.disabled) return;
    var start = reply.selectionStart, end = reply.selectionEnd;
    if (typeof start !== "number") { start = end = reply.value.length; }
    reply.focus();
    reply.setRangeText(text, start, end, "end");
    // The live preview listens for input.
    reply.dispatchEvent(new Event("input", { bubbles: true }));
  }

  if (toggle && panel && reply) {
    emojis().forEach(function (b, j) { b.tabIndex = j === 0 ? 0 : -1; });
    toggle.addEventListener("click", function () {
      if (panel.hidden) openPanel(); else closePanel(false);
    });
    panel.addEventListener("click", function (ev) {
      var b = ev.target.closest("button.emoji");
      if (!b) return;
      emojis().forEach(function (x) { x.tabIndex = x === b ? 0 : -1; });
      closePanel(false);
      insert(b.getAttribute("data-emoji"));
    });
    panel.addEventListener("keydown", function (ev) {
      var list = emojis();
      var i = list.indexOf(doc.activeElement);
      var handled = true;
      switch (ev.key) {
        case "ArrowRight": focusEmoji(i + 1); break;
        case "ArrowLeft": focusEmoji(i - 1); break;
        case "ArrowDown": focusEmoji(i + columns()); break;
        case "ArrowUp": focusEmoji(i - columns()); break;
        case "Home": focusEmoji(0); break;
        case "End": focusEmoji(list.length - 1); break;
        case "Escape": closePanel(true); break;
        default: handled = false;
      }
      if (handled) {
        ev.preventDefault();
        ev.stopPropagation(); // not the workspace's shortcuts
      }
    });
    // Leaving the picker (Tab, a click elsewhere) closes it.
    panel.addEventListener("focusout", function (ev) {
      if (!panel.contains(ev.relatedTarget) && ev.relatedTarget !== toggle) closePanel(false);
    });
    doc.addEventListener("click", function (ev) {
      if (!panel.hidden && !panel.contains(ev.target) && !toggle.contains(ev.target)) closePanel(false);
    });
  }

  // ---- Templates: only the chosen template's parameter fields are shown
  // and sent; a template goes alone (no text, answers or files beside
  // it, as the platform sends it). ----
  var tpl = doc.getElementById("tpl");
  function applyTemplate() {
    var chosen = tpl.value;
    doc.querySelectorAll("fieldset.tpl-params").forEach(function (fs) {
      var on = fs.getAttribute("data-template") === chosen;
      fs.hidden = !on;
      fs.disabled = !on;
    });
    var form = doc.getElementById("reply-form");
    if (!form) return;
    form.querySelectorAll("#reply-text, #quick-replies input, #reply-files, #emoji-toggle").forEach(function (el) {
      el.disabled = chosen !== "";
    });
    form.classList.toggle("template-chosen", chosen !== "");
  }
  if (tpl) {
    tpl.addEventListener("change", applyTemplate);
    applyTemplate();
    // The file input arrives after the page: keep it in step.
    doc.addEventListener("htmx:afterSettle", function (ev) {
      if (ev.target && ev.target.id === "composer-files") applyTemplate();
    });
  }

  // ---- Files: the limits are checked before the upload starts (the
  // server checks them again). ----
  doc.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || input.id !== "reply-files") return;
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10) || 0;
    var msg = "";
    if (maxFiles && input.files.length > maxFiles) {
      msg = input.getAttribute("data-msg-too-many");
    } else {
      for (var i = 0; i < input.files.length; i++) {
        if (maxBytes && input.files[i].size > maxBytes) {
          msg = input.getAttribute("data-msg-too-large").replace("{name}", input.files[i].name);
          break;
        }
      }
    }
    input.setCustomValidity(msg);
    if (msg) input.reportValidity();
  });

  // ---- One send per click: the button waits for the answer. ----
  var form = doc.getElementById("reply-form");
  if (form) {
    form.addEventListener("submit", function () {
      var send = doc.getElementById("send");
      if (!send) return;
      setTimeout(function () {
        send.disabled = true;
        send.setAttribute("aria-busy", "true");
      }, 0);
    });
    window.addEventListener("pageshow", function () {
      var send = doc.getElementById("send");
      if (send) { send.disabled = false; send.removeAttribute("aria-busy"); }
    });
  }
})();
