/* Databourse formsets — progressive enhancement. The forms work without this file (they offer a few empty rows):
 * a fieldset [data-formset="<prefix>"] with the formset's management form, a body [data-formset-rows], a
 * <template data-formset-template> holding the empty form's row (__prefix__ for its index) and a hidden button
 * [data-formset-add] gets that button shown; each click adds one row, numbers it and focuses its first field,
 * up to MAX_NUM_FORMS. */
(function () {
  "use strict";

  function formset(fieldset) {
    var prefix = fieldset.getAttribute("data-formset");
    var total = fieldset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var max = fieldset.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var rows = fieldset.querySelector("[data-formset-rows]");
    var template = fieldset.querySelector("template[data-formset-template]");
    var button = fieldset.querySelector("[data-formset-add]");
    if (!total || !rows || !template || !button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) { button.disabled = true; return; }
      var holder = document.createElement("tbody");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      var row = holder.firstElementChild;
      var number = row.querySelector("th");
      if (number) { number.textContent = String(index + 1); }
      rows.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("select, input");
      if (first) { first.focus(); }
    });
  }

  document.querySelectorAll("[data-formset]").forEach(formset);
})();
