/* Databourse — small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* Phone navigation: fold the menu behind a button. */
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* Copy-to-clipboard buttons: <button data-copy-target="input-id" data-copied-label="Copied">. */
  function copyText(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.focus();
    input.select();
    return new Promise(function (resolve, reject) {
      (document.execCommand && document.execCommand("copy")) ? resolve() : reject(new Error("copy failed"));
    });
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(input).then(function () {
        button.textContent = button.getAttribute("data-copied-label") || label;
        window.setTimeout(function () { button.textContent = label; }, 2500);
      }, function () {
        input.focus();
        input.select();
      });
    });
    input.addEventListener("focus", function () { input.select(); });
  });

  /* Ask before destructive actions: <form data-confirm="Really?">. */
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  /* Dismissable messages. */
  document.querySelectorAll(".message [data-dismiss]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var message = button.closest(".message");
      if (message) { message.remove(); }
    });
  });

  /* Dropdowns built on <details>: close on Escape and on a click elsewhere. */
  var dropdowns = document.querySelectorAll("details.dropdown");
  document.addEventListener("click", function (event) {
    dropdowns.forEach(function (details) {
      if (details.open && !details.contains(event.target)) { details.open = false; }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    dropdowns.forEach(function (details) {
      if (details.open) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
  });
})();
