// Grove dashboard feedback (served with app.js as /static/app.js, web/assets): what an action did,
// and that it is running.
// - Toasts: a region at the foot of every page (made here: polite for what worked, an alert for what
//   did not), fed by the `grove:toast` event an htmx response triggers (HX-Trigger, web/toast) and by
//   requests that fail; the Files tab's #toast (a deletion, with Undo) joins it. Each goes after a
//   few seconds (not while hovered or focused), has a Dismiss button and never takes the focus. A
//   toast answered with HX-Redirect (Restore, Purge) waits in sessionStorage for the next page.
// - Confirmations: hx-confirm asks in a <dialog> in the page instead of window.confirm; its button
//   is named after the action (data-confirm-label), Cancel and Escape do nothing.
// - Busy: the button of an htmx post (or of the form posted) is disabled and aria-busy while its
//   request runs, with a spinner and, when the button or form has data-busy, that label.
(function () {
  "use strict";
  var OK_MS = 6000;
  var LONG_MS = 12000; // errors, and the Files toast with Undo
  var MAX_SHOWN = 3;
  var CARRY_KEY = "grove-toast";

  // ---- Toasts ----
  var stack = null;
  var polite = null;
  var alerts = null;
  function region() {
    if (stack && stack.isConnected) return stack;
    stack = document.createElement("div");
    stack.className = "toast-stack";
    alerts = document.createElement("div");
    alerts.id = "toast-alerts";
    alerts.setAttribute("role", "alert");
    polite = document.createElement("div");
    polite.id = "toast-region";
    polite.setAttribute("role", "status");
    polite.setAttribute("aria-live", "polite");
    stack.append(alerts, polite);
    document.body.appendChild(stack);
    var files = document.getElementById("toast");
    if (files) stack.appendChild(files);
    return stack;
  }
  // Where the focus goes when a toast holding it leaves: what was used last, else nowhere.
  var lastActor = null;
  function hideToast(el) {
    if (!el || !el.isConnected) return;
    var hadFocus = el.contains(document.activeElement);
    if (el.id === "toast") el.innerHTML = "";
    else el.remove();
    if (!hadFocus) return;
    if (lastActor && lastActor.isConnected && !lastActor.disabled) lastActor.focus();
    else if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  }
  // Hide `el` after `ms`, the clock stopped while the pointer or the focus is on it.
  function autoHide(el, ms) {
    var left = ms;
    var started = 0;
    var timer = null;
    var run = function () {
      started = Date.now();
      timer = setTimeout(function () {
        hideToast(el);
      }, left);
    };
    var pause = function () {
      if (!timer) return;
      clearTimeout(timer);
      timer = null;
      left = Math.max(1500, left - (Date.now() - started));
    };
    var resume = function () {
      if (timer || !el.isConnected || el.matches(":hover") || el.contains(document.activeElement)) return;
      run();
    };
    el.addEventListener("mouseenter", pause);
    el.addEventListener("mouseleave", resume);
    el.addEventListener("focusin", pause);
    el.addEventListener("focusout", function () {
      setTimeout(resume, 0);
    });
    run();
  }
  function closeButton() {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "toast-close";
    b.setAttribute("data-dismiss-toast", "");
    b.setAttribute("aria-label", "Dismiss");
    b.textContent = "×";
    return b;
  }
  function showToast(message, kind) {
    region();
    var error = kind === "error";
    var box = error ? alerts : polite;
    var el = document.createElement("div");
    el.className = error ? "toast error" : "toast";
    el.setAttribute("data-kind", error ? "error" : "ok");
    var text = document.createElement("span");
    text.textContent = message;
    el.append(text, closeButton());
    box.appendChild(el);
    while (box.children.length > MAX_SHOWN) box.removeChild(box.firstChild);
    autoHide(el, error ? LONG_MS : OK_MS);
  }
  window.groveToast = showToast;

  // The Files tab's toast, swapped in by htmx (views/trash Toast): it goes too, later (it has Undo).
  function timeFilesToast() {
    var el = document.getElementById("toast");
    if (!el || !el.firstElementChild || el.hasAttribute("data-timed")) return;
    region();
    if (el.parentNode !== stack) stack.appendChild(el);
    el.setAttribute("data-timed", "");
    autoHide(el, LONG_MS);
  }

  var redirecting = false;
  var toasted = false;
  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    var xhr = ev.detail && ev.detail.xhr;
    redirecting = Boolean(xhr && xhr.getResponseHeader("HX-Redirect"));
    toasted = false;
  });
  document.addEventListener("grove:toast", function (ev) {
    var d = ev.detail || {};
    if (typeof d.message !== "string" || !d.message) return;
    toasted = true;
    var kind = d.kind === "error" ? "error" : "ok";
    if (redirecting) {
      try {
        sessionStorage.setItem(CARRY_KEY, JSON.stringify({ message: d.message, kind: kind, at: Date.now() }));
        return;
      } catch (_) {
        // no storage: shown now, for the moment the page has left
      }
    }
    showToast(d.message, kind);
  });
  // A request that failed says so (unless its answer carried a toast already).
  document.addEventListener("htmx:responseError", function (ev) {
    if (toasted) return;
    var xhr = ev.detail && ev.detail.xhr;
    var why = "";
    try {
      var doc = new DOMParser().parseFromString((xhr && xhr.responseText) || "", "text/html");
      var p = doc.querySelector("main .error, .error");
      why = p ? p.textContent.trim() : "";
    } catch (_) {
      why = "";
    }
    showToast(why || "That did not work" + (xhr ? " (" + xhr.status + ")" : "") + ". Try again; the cell's log has the details.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("The cell did not answer. Check that it is running, then try again.", "error");
  });
  document.addEventListener("htmx:oobAfterSwap", timeFilesToast);
  document.addEventListener("htmx:afterSettle", timeFilesToast);
  document.addEventListener("click", function (ev) {
    var b = ev.target && ev.target.closest && ev.target.closest("[data-dismiss-toast]");
    if (b) hideToast(b.closest(".toast"));
  });
  document.addEventListener("DOMContentLoaded", function () {
    region();
    var carried = null;
    try {
      carried = JSON.parse(sessionStorage.getItem(CARRY_KEY) || "null");
      sessionStorage.removeItem(CARRY_KEY);
    } catch (_) {
      carried = null;
    }
    if (carried && typeof carried.message === "string" && Date.now() - Number(carried.at) < 15000) showToast(carried.message, carried.kind);
  });

  // ---- Confirmations ----
  var dialog = null;
  var dialogText = null;
  var dialogOk = null;
  var onConfirm = null;
  var opener = null;
  function confirmDialog() {
    if (dialog && dialog.isConnected) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-text");
    var form = document.createElement("form");
    form.method = "dialog";
    dialogText = document.createElement("p");
    dialogText.id = "confirm-text";
    var row = document.createElement("div");
    row.className = "dialog-buttons";
    var cancel = document.createElement("button");
    cancel.type = "submit";
    cancel.value = "cancel";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    dialogOk = document.createElement("button");
    dialogOk.type = "submit";
    dialogOk.value = "ok";
    dialogOk.className = "danger-solid";
    row.append(cancel, dialogOk);
    form.append(dialogText, row);
    dialog.appendChild(form);
    dialog.addEventListener("close", function () {
      var go = dialog.returnValue === "ok" ? onConfirm : null;
      onConfirm = null;
      if (opener && opener.isConnected) opener.focus();
      opener = null;
      if (go) go();
    });
    document.body.appendChild(dialog);
    return dialog;
  }
  /** Ask `question` in the page; `yes` runs when the `label` button is pressed (not on Cancel or Escape). */
  function ask(question, label, yes) {
    var d = confirmDialog();
    if (d.open) d.close("");
    opener = document.activeElement;
    onConfirm = yes;
    dialogText.textContent = question;
    dialogOk.textContent = label;
    d.returnValue = "";
    d.showModal();
  }
  function confirmLabel(elt, trigger) {
    var named = elt && elt.closest && elt.closest("[data-confirm-label]");
    if (named) return named.getAttribute("data-confirm-label");
    var b = (trigger && trigger.submitter) || (elt && elt.tagName === "BUTTON" ? elt : null);
    var text = b ? b.textContent.replace(/…/g, "").trim() : "";
    return text || "OK";
  }
  document.addEventListener("htmx:confirm", function (ev) {
    var d = ev.detail || {};
    if (!d.question || typeof HTMLDialogElement !== "function") return; // no question, or the browser's confirm()
    ev.preventDefault();
    ask(d.question, confirmLabel(d.elt, d.triggeringEvent), function () {
      d.issueRequest(true);
    });
  });

  // ---- Busy buttons ----
  var busyOf = new WeakMap();
  function busyButton(d) {
    var elt = d.elt;
    var cfg = d.requestConfig || {};
    if (!elt || !elt.tagName || (cfg.verb === "get" && !elt.hasAttribute("data-busy"))) return null;
    if (elt.tagName === "BUTTON") return elt;
    if (elt.tagName !== "FORM") return null;
    var trig = cfg.triggeringEvent;
    return (trig && trig.submitter) || elt.querySelector("button[type=submit], button:not([type])");
  }
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var d = ev.detail || {};
    var btn = busyButton(d);
    if (!btn || !d.xhr || btn.getAttribute("aria-busy") === "true") return;
    lastActor = btn;
    var label = btn.getAttribute("data-busy") || (d.elt !== btn && d.elt.getAttribute("data-busy"));
    busyOf.set(d.xhr, { btn: btn, was: btn.disabled, text: label ? btn.textContent : null });
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    btn.classList.add("is-busy");
    if (label) btn.textContent = label;
  });
  function done(ev) {
    var xhr = ev.detail && ev.detail.xhr;
    var b = xhr && busyOf.get(xhr);
    if (!b) return;
    busyOf.delete(xhr);
    b.btn.disabled = b.was;
    b.btn.removeAttribute("aria-busy");
    b.btn.classList.remove("is-busy");
    if (b.text !== null) b.btn.textContent = b.text;
  }
  ["htmx:afterRequest", "htmx:sendError", "htmx:timeout", "htmx:sendAbort"].forEach(function (name) {
    document.addEventListener(name, done);
  });
})();
