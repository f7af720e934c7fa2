/* Databourse sandbox — progressive enhancements. Every page works without this file:
 * - [data-poll-url] (a dataset being prepared, a query queued or running) polls its JSON status and reloads the
 *   page when the work is done ({"done": true}), updating [data-poll-progress] / [data-poll-percent] /
 *   [data-poll-status] meanwhile;
 * - the SQL editor ([data-sql-editor]) runs the query on Ctrl+Enter (Cmd+Enter on a Mac) and indents with Tab
 *   (Esc, then Tab, leaves the editor). */
(function () {
  "use strict";

  /* ---------- Polling a status ---------- */

  function poll(element) {
    if (!window.fetch) { return; }
    var url = element.getAttribute("data-poll-url");
    var bar = element.querySelector("[data-poll-progress]");
    var percent = element.querySelector("[data-poll-percent]");
    var status = document.querySelector("[data-poll-status]");
    var failures = 0;

    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 404) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (!data) { return; }
          failures = 0;
          if (typeof data.progress === "number") {
            if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
            if (percent) { percent.textContent = data.progress + "%"; }
          }
          if (status && data.status_label) { status.textContent = data.status_label; }
          if (data.done) { window.location.reload(); return; }
          window.setTimeout(tick, 1500);
        })
        .catch(function () {
          failures += 1;
          if (failures < 10) { window.setTimeout(tick, 1500 * Math.min(failures + 1, 5)); }
        });
    }

    window.setTimeout(tick, 1000);
  }

  document.querySelectorAll("[data-poll-url]").forEach(poll);

  /* ---------- The SQL editor ---------- */

  function enhanceEditor(textarea) {
    var form = textarea.form;
    var run = form ? form.querySelector("[data-run-button]") : null;
    var escaped = false;

    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (!run || run.disabled) { return; }
        if (form.requestSubmit) { form.requestSubmit(run); } else { run.click(); }
        return;
      }
      if (event.key === "Escape") { escaped = true; return; }
      if (event.key === "Tab" && !event.shiftKey && !escaped) {
        event.preventDefault();
        var start = textarea.selectionStart;
        var end = textarea.selectionEnd;
        textarea.value = textarea.value.slice(0, start) + "    " + textarea.value.slice(end);
        textarea.selectionStart = textarea.selectionEnd = start + 4;
        return;
      }
      escaped = false;
    });
  }

  document.querySelectorAll("textarea[data-sql-editor]").forEach(enhanceEditor);
})();
