// The guest booking page, progressively enhanced: every step works without this file.
// It moves focus to the step the server just rendered, runs the hold's countdown
// (announced at a few milestones, not every second), and ignores a second submit of
// a form already on its way (the server is idempotent anyway).
"use strict";

(function () {
  function focusStep() {
    var target = document.querySelector("[data-focus]");
    if (target) {
      target.focus();
    }
  }

  function formatLeft(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function spoken(seconds) {
    if (seconds >= 60 && seconds % 60 === 0) {
      var m = seconds / 60;
      return m + (m === 1 ? " minute" : " minutes") + " left to confirm your booking.";
    }
    return seconds + " seconds left to confirm your booking.";
  }

  function countdown() {
    var timer = document.getElementById("countdown");
    var status = document.getElementById("countdown-status");
    if (!timer || !status) {
      return;
    }
    var total = parseInt(timer.getAttribute("data-seconds"), 10);
    if (isNaN(total)) {
      return;
    }
    var started = Date.now();
    var milestones = [120, 60, 30, 10];
    var tick = function () {
      var left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
      timer.textContent = formatLeft(left);
      if (left === 0) {
        status.textContent = "Your hold has expired. Confirming now will offer the times again.";
        timer.parentElement.classList.add("expired");
        return;
      }
      if (milestones.indexOf(left) !== -1) {
        status.textContent = spoken(left);
      }
      window.setTimeout(tick, 1000 - ((Date.now() - started) % 1000));
    };
    tick();
  }

  function submitOnce() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.getAttribute("data-submitting") === "true") {
        event.preventDefault();
        return;
      }
      if ((form.getAttribute("method") || "get").toLowerCase() !== "post") {
        return;
      }
      form.setAttribute("data-submitting", "true");
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var i = 0; i < buttons.length; i++) {
        // Not `disabled`: a disabled submitter would drop its name and value.
        buttons[i].setAttribute("aria-disabled", "true");
      }
    });
    // Back to this page from the browser's cache: let the guest submit again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) {
        return;
      }
      var forms = document.querySelectorAll("form[data-submitting]");
      for (var i = 0; i < forms.length; i++) {
        forms[i].removeAttribute("data-submitting");
        var buttons = forms[i].querySelectorAll("button[aria-disabled]");
        for (var j = 0; j < buttons.length; j++) {
          buttons[j].removeAttribute("aria-disabled");
        }
      }
    });
  }

  submitOnce();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { focusStep(); countdown(); });
  } else {
    focusStep();
    countdown();
  }
})();
