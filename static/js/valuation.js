/* Databourse valuation forms — progressive enhancements. The forms work without this file:
 * - the income form ([data-valuation-form=income]) shows only the fields of the kind of income chosen;
 * - the market form's comparables ([data-formset]) get an "Add a comparable" button that adds a row. */
(function () {
  "use strict";

  /* ---------- Income: fields of the chosen kind of income ---------- */

  function toggleVariants(form) {
    var radios = form.querySelectorAll("input[name='variant']");
    if (!radios.length) { return; }
    function show() {
      var chosen = form.querySelector("input[name='variant']:checked");
      var value = chosen ? chosen.value : "direct";
      form.querySelectorAll("[data-variant-fields]").forEach(function (group) {
        group.hidden = group.getAttribute("data-variant-fields") !== value;
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  }

  /* ---------- Market: add comparable rows ---------- */

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
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("tbody");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      var number = row.querySelector("th");
      if (number) { number.textContent = String(index + 1); }
      rows.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("select, input");
      if (first) { first.focus(); }
    });
  }

  document.querySelectorAll("[data-valuation-form]").forEach(toggleVariants);
  document.querySelectorAll("[data-formset]").forEach(formset);
})();
