/* Databourse registry — progressive enhancements. Every page works without this file:
 * - upload forms ([data-upload-form]) post with XMLHttpRequest to show upload progress, then follow the server's URL;
 * - the version page ([data-progress-url]) polls profiling progress every second and reloads when it is finished.
 * (The "Add a column" button of the product form's column rules is formset.js.) */
(function () {
  "use strict";

  /* ---------- Upload with a progress bar ---------- */

  function text(node, value) {
    if (node) { node.textContent = value; }
  }

  function errorList(messages) {
    var list = document.createElement("ul");
    list.className = "errorlist";
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    return list;
  }

  function enhanceUpload(form) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    var input = form.querySelector('input[type="file"]');
    var field = input ? input.closest(".field") : null;
    var box = form.querySelector("[data-upload-errors]");
    var panel = form.querySelector("[data-upload-progress]");
    var bar = panel ? panel.querySelector("progress") : null;
    var percent = form.querySelector("[data-upload-percent]");
    var status = form.querySelector("[data-upload-status]");
    var submitButton = form.querySelector("[data-upload-submit]");
    var cancelButton = form.querySelector("[data-upload-cancel]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    var xhr = null;

    function clearErrors() {
      if (box) { box.textContent = ""; }
      if (field) {
        field.classList.remove("has-error");
        field.querySelectorAll(".errorlist").forEach(function (list) { list.remove(); });
      }
      if (input) { input.removeAttribute("aria-invalid"); }
    }

    function showErrors(fieldMessages, detail) {
      clearErrors();
      if (fieldMessages.length && field) {
        field.classList.add("has-error");
        field.appendChild(errorList(fieldMessages));
        input.setAttribute("aria-invalid", "true");
      }
      if (detail && box) {
        var wrap = document.createElement("div");
        wrap.className = "form-errors";
        wrap.setAttribute("role", "alert");
        var title = document.createElement("p");
        title.className = "form-errors-title";
        title.textContent = detail;
        wrap.appendChild(title);
        box.appendChild(wrap);
      }
      if (input) { input.focus(); }
    }

    function setBusy(busy) {
      if (submitButton) { submitButton.disabled = busy; }
      if (cancelButton) { cancelButton.hidden = !busy; }
      if (panel) { panel.hidden = !busy; }
      form.setAttribute("aria-busy", busy ? "true" : "false");
    }

    function setProgress(value) {
      if (bar) { bar.value = value; }
      text(percent, value + "%");
    }

    function finished() {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data && data.url) {
        window.location.assign(data.url);
        return;
      }
      setBusy(false);
      if (data && (data.fields || data.detail)) {
        var messages = (data.fields && data.fields.file) || [];
        var others = Object.keys(data.fields || {}).filter(function (name) { return name !== "file"; });
        others.forEach(function (name) { messages = messages.concat(data.fields[name]); });
        showErrors(messages, messages.length ? "" : data.detail);
      } else {
        showErrors([], form.getAttribute("data-msg-failed"));
      }
      xhr = null;
    }

    form.addEventListener("submit", function (event) {
      if (xhr) { event.preventDefault(); return; }
      var file = input && input.files && input.files[0];
      if (!file) {
        event.preventDefault();
        showErrors([form.getAttribute("data-msg-choose")], "");
        return;
      }
      if (maxBytes && file.size > maxBytes) {
        event.preventDefault();
        showErrors([form.getAttribute("data-msg-too-large")], "");
        return;
      }
      event.preventDefault();
      clearErrors();
      setBusy(true);
      setProgress(0);
      text(status, form.getAttribute("data-msg-uploading"));

      xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) { return; }
        var value = Math.min(100, Math.floor((e.loaded / e.total) * 100));
        setProgress(value);
        if (value >= 100) { text(status, form.getAttribute("data-msg-processing")); }
      };
      xhr.onload = finished;
      xhr.onerror = function () {
        setBusy(false);
        showErrors([], form.getAttribute("data-msg-network"));
        xhr = null;
      };
      xhr.onabort = function () {
        setBusy(false);
        showErrors([], form.getAttribute("data-msg-cancelled"));
        xhr = null;
      };
      xhr.send(new FormData(form));
    });

    if (cancelButton) {
      cancelButton.addEventListener("click", function () {
        if (xhr) { xhr.abort(); }
      });
    }
  }

  document.querySelectorAll("form[data-upload-form]").forEach(enhanceUpload);

  /* ---------- Profiling progress ---------- */

  function pollProgress(section) {
    if (!window.fetch) { return; }
    var url = section.getAttribute("data-progress-url");
    var goneUrl = section.getAttribute("data-gone-url");
    var bar = section.querySelector("progress");
    var percent = section.querySelector("[data-progress-percent]");
    var status = section.querySelector("[data-progress-status]");
    var stage = section.querySelector("[data-progress-stage]");
    var hint = section.querySelector("[data-progress-hint]");
    var failures = 0;
    if (hint) { hint.hidden = true; }

    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 404) {
            window.location.assign(goneUrl);
            return null;
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (!data) { return; }
          failures = 0;
          if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
          text(percent, data.progress + "%");
          text(status, data.status_label || data.status);
          text(stage, data.stage_label ? " · " + data.stage_label : "");
          if (data.status === "done" || data.status === "failed") {
            window.location.reload();
            return;
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () {
          failures += 1;
          if (failures >= 10) {
            if (hint) { hint.hidden = false; }
            return;
          }
          window.setTimeout(tick, 1000 * Math.min(failures + 1, 5));
        });
    }

    window.setTimeout(tick, 1000);
  }

  document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
})();
