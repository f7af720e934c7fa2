/* Databourse pay page: Stripe.js collects the card and confirms the PaymentIntent with the client secret the server
 * gave ([data-checkout]); the page then polls the payment's status URL until the server has seen the outcome (from
 * Stripe's webhook, or by asking Stripe itself) and opens the contract. Card details never reach Databourse. */
(function () {
  "use strict";

  var POLL_MS = 1500;
  var POLL_LIMIT = 40; /* about a minute; after that the page says it may take longer and stops asking */

  var form = document.querySelector("[data-checkout]");
  if (!form || typeof window.Stripe !== "function") { return; }

  var button = form.querySelector("[data-checkout-submit]");
  var message = form.querySelector("[data-checkout-message]");
  var label = function (name) { return form.getAttribute("data-label-" + name) || ""; };
  var stripe = window.Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card");
  card.mount(form.querySelector("[data-card-element]"));
  button.disabled = false;

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("checkout-message-error", Boolean(isError));
  }

  function poll(remaining) {
    fetch(form.getAttribute("data-status-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        if (status.paid) {
          say(label("paid"));
          window.location.assign(status.redirect);
        } else if (status.status === "failed") {
          say(status.message || status.status_display, true);
          button.disabled = false;
        } else if (remaining > 0) {
          window.setTimeout(function () { poll(remaining - 1); }, POLL_MS);
        } else {
          say(label("slow"));
        }
      })
      .catch(function () {
        if (remaining > 0) {
          window.setTimeout(function () { poll(remaining - 1); }, POLL_MS);
        } else {
          say(label("error"), true);
          button.disabled = false;
        }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    say(label("paying"));
    stripe.confirmCardPayment(form.getAttribute("data-client-secret"), { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          /* The issuer's message (e.g. "Your card was declined."); the server records it from the webhook too. */
          say(result.error.message || label("error"), true);
          button.disabled = false;
          return;
        }
        say(label("checking"));
        poll(POLL_LIMIT);
      }, function () {
        say(label("error"), true);
        button.disabled = false;
      });
  });
})();
