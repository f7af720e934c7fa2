/* Databourse valuation forms — progressive enhancement. The forms work without this file: the income form
 * ([data-valuation-form=income]) shows only the fields of the kind of income chosen. (The market form's
 * "Add a comparable" button is formset.js.) */
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

  document.querySelectorAll("[data-valuation-form]").forEach(toggleVariants);
})();
