// Grove dashboard: uploads with a progress bar. Everything else is plain HTML + htmx (toasts,
// confirmations and busy buttons: public/feedback.js, served after this file).
// Files go to the same API the CLI uses (PUT /api/files/<path>, raw body), authenticated by
// the session cookie and the page's CSRF token.
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function encodePath(p) {
    return p.split("/").map(encodeURIComponent).join("/");
  }
  function fmt(n) {
    if (n < 1024) return n + " B";
    var u = ["KiB", "MiB", "GiB", "TiB"],
      i = -1;
    do {
      n /= 1024;
      i++;
    } while (n >= 1024 && i < u.length - 1);
    return (n < 10 ? n.toFixed(1) : Math.round(n)) + " " + u[i];
  }
  /** The largest upload this cell takes (data-max-upload on the upload card), or 0 when the page does not say. */
  function maxUpload() {
    var el = document.querySelector("[data-max-upload]");
    return el ? Number(el.getAttribute("data-max-upload")) || 0 : 0;
  }
  function tooLarge(max) {
    return (
      (max ? "too large: this cell takes uploads of up to " + fmt(max) + "." : "too large for this cell's upload limit.") +
      " Whoever runs this cell can raise this limit in the cell's settings file (it applies after a restart)."
    );
  }
  /**
   * Why an upload failed, in the dashboard's words: a file over the limit, a session that ended,
   * the cell's own sentence for a refusal it explains (a 4xx with JSON), else what to try.
   * Never a bare status or a proxy's page.
   */
  function failure(xhr, msg) {
    if (xhr.status === 413) return tooLarge(maxUpload());
    if (xhr.status === 401 || xhr.status === 403) return "your session has ended: reload the page, log in again, and retry.";
    if (xhr.status >= 400 && xhr.status < 500 && msg && typeof msg.error === "string") return msg.error;
    if (xhr.status === 502 || xhr.status === 503 || xhr.status === 504)
      return "the cell did not answer (it may be restarting). Try again in a moment.";
    return "the cell could not store it. Try again; if it keeps failing, the cell's log says why.";
  }
  // `name`: the path under the folder shown (a file's name, or its path inside a folder dropped or chosen).
  function uploadOne(file, dir, box, name) {
    return new Promise(function (resolve) {
      var row = document.createElement("div");
      row.className = "progress-row";
      var label = document.createElement("span");
      label.textContent = name;
      var bar = document.createElement("progress");
      bar.max = file.size || 1;
      bar.value = 0;
      var status = document.createElement("span");
      status.className = "status";
      status.textContent = "0%";
      row.append(label, bar, status);
      box.append(row);
      var max = maxUpload();
      if (max && file.size > max) {
        status.textContent = "not uploaded: " + tooLarge(max);
        row.classList.add("failed");
        return resolve(false);
      }
      var xhr = new XMLHttpRequest();
      var path = (dir ? dir + "/" : "") + name;
      xhr.open("PUT", "/api/files/" + encodePath(path));
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.value = e.loaded;
        status.textContent = Math.floor((100 * e.loaded) / e.total) + "% of " + fmt(e.total);
        if (e.loaded === e.total) status.textContent = "sealing…";
      };
      xhr.onload = function () {
        var ok = xhr.status >= 200 && xhr.status < 300;
        bar.value = bar.max;
        var msg;
        try {
          msg = JSON.parse(xhr.responseText);
        } catch (_) {
          msg = {};
        }
        status.textContent = ok
          ? msg.created
            ? "stored (version " + msg.version + ")"
            : "unchanged"
          : "not uploaded: " + failure(xhr, msg);
        row.classList.add(ok ? "done" : "failed");
        resolve(ok);
      };
      xhr.onerror = function () {
        status.textContent = "not uploaded: the connection to the cell was lost. Try again.";
        row.classList.add("failed");
        resolve(false);
      };
      xhr.send(file);
    });
  }
  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (ev) {
    var b = ev.target && ev.target.closest && ev.target.closest("[data-copy]");
    if (!b) return;
    var el = document.querySelector(b.getAttribute("data-copy"));
    if (!el) return;
    el.select && el.select();
    var text = el.value || el.textContent || "";
    var done = function () {
      b.textContent = "Copied";
      setTimeout(function () {
        b.textContent = "Copy";
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext)
      navigator.clipboard.writeText(text).then(done, function () {
        document.execCommand("copy");
        done();
      });
    else {
      document.execCommand("copy");
      done();
    }
  });
  function uploadSay(text) {
    var box = document.getElementById("upload-progress");
    box.innerHTML = "";
    var say = document.createElement("p");
    say.className = "notice";
    say.textContent = text;
    box.appendChild(say);
  }
  // Make the empty folder `name` (a path under the folder shown) as New folder does; resolves true when made.
  function makeFolder(dir, box, name) {
    var row = document.createElement("div");
    row.className = "progress-row";
    var label = document.createElement("span");
    label.textContent = name + "/";
    var status = document.createElement("span");
    status.className = "status";
    status.textContent = "making the empty folder…";
    row.append(label, status);
    box.append(row);
    var body = new URLSearchParams({ dir: dir, name: name });
    var done = function (ok, why) {
      status.textContent = ok ? "empty folder made" : "not made: " + why;
      row.classList.add(ok ? "done" : "failed");
      return ok;
    };
    return fetch("/files/mkdir", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin",
    }).then(
      function (r) {
        if (r.ok) return done(true);
        // A folder there already is as good as made.
        return r.text().then(function (t) {
          var holder = document.createElement("div");
          holder.innerHTML = t;
          var why = holder.textContent.trim() || "error " + r.status;
          return /taken by a folder/.test(why) ? done(true) : done(false, why.replace(/^No folder made: /, ""));
        });
      },
      function () {
        return done(false, "connection lost");
      },
    );
  }
  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }
  // Upload `list` ([{ file, name }]) one after the other into the folder shown, make the empty
  // folders `folders` (paths under it: a folder dropped keeps its empty subfolders), then list it
  // again and say in a toast how it went.
  function uploadList(list, folders) {
    folders = folders || [];
    var box = document.getElementById("upload-progress");
    var dir = document.getElementById("upload").getAttribute("data-dir") || "";
    box.innerHTML = "";
    var ok = 0;
    var made = 0;
    return list
      .reduce(function (p, it) {
        return p.then(function () {
          return uploadOne(it.file, dir, box, it.name).then(function (good) {
            if (good) ok++;
          });
        });
      }, Promise.resolve())
      .then(function () {
        return folders.reduce(function (p, name) {
          return p.then(function () {
            return makeFolder(dir, box, name).then(function (good) {
              if (good) made++;
            });
          });
        }, Promise.resolve());
      })
      .then(function () {
        if (window.groveToast) {
          var n = list.length;
          var f = folders.length;
          if (ok === n && made === f) {
            var said = [];
            if (n) said.push(n === 1 ? list[0].name + " uploaded" : n + " files uploaded");
            if (f) said.push(plural(f, "empty folder", "empty folders") + " made");
            window.groveToast(said.join(", ") + ".", "ok");
          } else {
            var bad = [];
            if (ok < n) bad.push(n - ok + " of " + n + " uploads failed");
            if (made < f) bad.push(f - made + " of " + plural(f, "empty folder", "empty folders") + " not made");
            window.groveToast(bad.join(", ") + ": see the list under Upload.", "error");
          }
        }
        if (window.htmx) window.htmx.ajax("GET", "/files/list?dir=" + encodeURIComponent(dir), { target: "#file-list", swap: "outerHTML" });
      });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || form.id !== "upload-form") return;
    ev.preventDefault();
    var input = document.getElementById("upload-input");
    var folder = document.getElementById("upload-folder");
    var list = Array.prototype.slice.call(input.files || []).map(function (f) {
      return { file: f, name: f.name };
    });
    // A folder chosen: each file under the folder's name, with its path inside it.
    Array.prototype.slice.call((folder && folder.files) || []).forEach(function (f) {
      list.push({ file: f, name: f.webkitRelativePath || f.name });
    });
    if (!list.length) {
      uploadSay("Choose one or more files first (the button beside Upload), or a folder, or drop them on this page.");
      input.focus();
      return;
    }
    uploadList(list).then(function () {
      input.value = "";
      if (folder) folder.value = "";
    });
  });
  // A dropped folder, walked (FileSystemEntry): its files as [{ file, name }] and its empty
  // folders as [{ folder }], `name` and `folder` the path from the folder dropped (its own name
  // first), so the tree keeps its relative paths and its empty folders.
  function walkEntry(entry, prefix) {
    if (entry.isFile)
      return new Promise(function (resolve) {
        entry.file(
          function (f) {
            resolve([{ file: f, name: prefix + entry.name }]);
          },
          function () {
            resolve([]);
          },
        );
      });
    if (!entry.isDirectory) return Promise.resolve([]);
    return new Promise(function (resolve) {
      var reader = entry.createReader();
      var all = [];
      // readEntries answers in batches (of 100 in Chromium) until an empty one.
      var more = function () {
        reader.readEntries(
          function (batch) {
            if (!batch.length) return resolve(all);
            all = all.concat(Array.prototype.slice.call(batch));
            more();
          },
          function () {
            resolve(all);
          },
        );
      };
      more();
    }).then(function (children) {
      if (!children.length) return [{ folder: prefix + entry.name }];
      return Promise.all(
        children.map(function (c) {
          return walkEntry(c, prefix + entry.name + "/");
        }),
      ).then(function (lists) {
        return [].concat.apply([], lists);
      });
    });
  }
  // Files: files dropped anywhere on the Files tab are uploaded into the folder shown; a folder
  // dropped is walked and uploaded under its own name, with the paths inside it (its empty
  // folders made as New folder makes one).
  function uploadBox() {
    return document.getElementById("upload");
  }
  document.addEventListener("dragover", function (ev) {
    var box = uploadBox();
    if (!box || !ev.dataTransfer || Array.prototype.indexOf.call(ev.dataTransfer.types || [], "Files") < 0) return;
    ev.preventDefault();
    box.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (ev) {
    var box = uploadBox();
    if (box && !ev.relatedTarget) box.classList.remove("dragging");
  });
  document.addEventListener("drop", function (ev) {
    var box = uploadBox();
    var dt = ev.dataTransfer;
    if (!box || !dt) return;
    // The entries are only readable while the event runs: taken now, walked after.
    var entries = [];
    var items = dt.items || [];
    for (var i = 0; i < items.length; i++) {
      var entry = items[i].kind === "file" && items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
      if (entry) entries.push(entry);
    }
    if (
      entries.some(function (e) {
        return e.isDirectory;
      })
    ) {
      ev.preventDefault();
      box.classList.remove("dragging");
      uploadSay("Reading the folder…");
      Promise.all(
        entries.map(function (e) {
          return walkEntry(e, "");
        }),
      ).then(function (lists) {
        var found = [].concat.apply([], lists);
        var files = found.filter(function (it) {
          return it.file;
        });
        var folders = found
          .filter(function (it) {
            return it.folder;
          })
          .map(function (it) {
            return it.folder;
          });
        uploadList(files, folders);
      });
      return;
    }
    if (!dt.files || !dt.files.length) return;
    ev.preventDefault();
    box.classList.remove("dragging");
    var input = document.getElementById("upload-input");
    input.files = ev.dataTransfer.files;
    document.getElementById("upload-form").requestSubmit();
  });
  // Chat: the log stays scrolled to the newest message while the reader is at the bottom (live
  // updates replace its items); Enter sends, Shift+Enter starts a new line.
  var chatAtBottom = true;
  function chatLog() {
    return document.getElementById("chat-log") || document.getElementById("assistant-log");
  }
  function chatToBottom() {
    var l = chatLog();
    if (l && chatAtBottom) l.scrollTop = l.scrollHeight;
  }
  document.addEventListener(
    "scroll",
    function (ev) {
      var l = chatLog();
      if (l && ev.target === l) chatAtBottom = l.scrollHeight - l.scrollTop - l.clientHeight < 40;
    },
    true,
  );
  document.addEventListener("DOMContentLoaded", chatToBottom);
  document.addEventListener("htmx:afterSettle", chatToBottom);
  document.addEventListener("htmx:oobAfterSwap", chatToBottom);
  document.addEventListener("htmx:sseMessage", chatToBottom);
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (
      !t ||
      (t.id !== "chat-text" && t.id !== "assistant-question") ||
      ev.key !== "Enter" ||
      ev.shiftKey ||
      ev.ctrlKey ||
      ev.altKey ||
      ev.metaKey ||
      ev.isComposing
    )
      return;
    ev.preventDefault();
    if (t.value.trim() && t.form) t.form.requestSubmit();
  });
  // Assistant: a model upload goes to PUT /api/models/<name> as the raw file (streamed to
  // disk by the cell), with a progress bar; then the models section is fetched again.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || form.id !== "model-upload-form") return;
    var input = document.getElementById("model-file");
    var file = input && input.files && input.files[0];
    if (!file) return;
    ev.preventDefault();
    var status = document.getElementById("model-upload-status");
    var bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    status.textContent = "";
    status.append(bar);
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", "/api/models/" + encodeURIComponent(file.name));
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = e.loaded;
    };
    xhr.onload = function () {
      var msg;
      try {
        msg = JSON.parse(xhr.responseText);
      } catch (_) {
        msg = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        if (window.htmx)
          window.htmx.ajax("GET", "/assistant/models", { target: "#assistant-models", swap: "outerHTML" }).then(function () {
            var s = document.getElementById("model-upload-status");
            if (s) s.textContent = "Stored " + (msg.name || file.name) + ".";
          });
      } else status.textContent = "Not stored: " + failure(xhr, msg);
    };
    xhr.onerror = function () {
      status.textContent = "Not stored: the connection to the cell was lost. Try again.";
    };
    xhr.send(file);
  });
  // Login and setup: a password check takes about a second (PBKDF2). The button is disabled and
  // says so meanwhile; after "wait N s" it counts down before it can be pressed again.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.classList || !form.classList.contains("busy-form")) return;
    var btn = form.querySelector("button[type=submit]");
    if (!btn) return;
    if (btn.disabled) {
      ev.preventDefault();
      return;
    }
    btn.dataset.label = btn.dataset.label || btn.textContent;
    btn.textContent = form.dataset.busy || "Working…";
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    btn.classList.add("is-busy");
    form.setAttribute("aria-busy", "true");
  });
  // Back to a login page kept by the browser (back button): its button is not busy any more.
  window.addEventListener("pageshow", function (ev) {
    if (!ev.persisted) return;
    var forms = document.querySelectorAll("form.busy-form[aria-busy=true]");
    for (var i = 0; i < forms.length; i++) {
      var btn = forms[i].querySelector("button[type=submit]");
      forms[i].removeAttribute("aria-busy");
      if (!btn) continue;
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
      btn.classList.remove("is-busy");
      if (btn.dataset.label) btn.textContent = btn.dataset.label;
    }
  });
  function countdown(form) {
    var btn = form.querySelector("button[type=submit]");
    var note = form.querySelector(".busy-note");
    var left = Number(form.dataset.wait || 0);
    if (!btn || !(left > 0)) return;
    var label = btn.textContent;
    btn.disabled = true;
    var tick = function () {
      if (left <= 0) {
        btn.disabled = false;
        btn.textContent = label;
        if (note) note.textContent = "";
        return;
      }
      btn.textContent = label + " (" + left + " s)";
      if (note) note.textContent = "You can try again in " + left + " s.";
      left--;
      setTimeout(tick, 1000);
    };
    tick();
  }
  // At phone width a table shows one card per row (style.css); each cell then carries its column's
  // name (data-label, from the table's header), so "4 B" reads as "Size 4 B".
  function labelCells() {
    var tables = document.querySelectorAll("table");
    for (var t = 0; t < tables.length; t++) {
      var heads = tables[t].querySelectorAll("thead th");
      if (!heads.length) continue;
      var names = [];
      for (var h = 0; h < heads.length; h++) {
        var span = heads[h].colSpan || 1;
        for (var k = 0; k < span; k++) names.push(k === 0 ? heads[h].textContent.trim() : "");
      }
      var rows = tables[t].querySelectorAll("tbody tr");
      for (var r = 0; r < rows.length; r++) {
        var col = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          if (names[col] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[col]);
          col += cell.colSpan || 1;
        }
      }
    }
  }
  document.addEventListener("DOMContentLoaded", labelCells);
  document.addEventListener("htmx:afterSettle", labelCells);
  document.addEventListener("htmx:sseMessage", labelCells);

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form.busy-form[data-wait]");
    for (var i = 0; i < forms.length; i++) countdown(forms[i]);
  });
})();
