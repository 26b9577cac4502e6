// The assessment form: applies the state the server sends after each autosave (which items the answers
// enable, the error of each item at fault), adds and removes instances of repeating groups, and moves
// focus to the error summary. Skip logic itself is decided on the server, by the same engine that checks
// a completed response. No inline script (CSP).
(function () {
  "use strict";

  var STATE_EVENT = "carenav-form-state";

  function form() {
    return document.getElementById("assessment-form");
  }

  function applyState(state) {
    var root = form();
    if (!root || !state) {
      return;
    }
    var enabled = {};
    (state.enabled || []).forEach(function (id) { enabled[id] = true; });
    root.querySelectorAll("[data-link-id]").forEach(function (el) {
      var on = enabled[el.dataset.linkId] === true;
      el.hidden = !on;
      if (el.tagName === "FIELDSET") {
        el.disabled = !on;
      }
    });
    var errors = state.errors || {};
    root.querySelectorAll("[data-error-for]").forEach(function (line) {
      var message = errors[line.dataset.errorFor];
      line.textContent = message || "";
      line.hidden = !message;
      var item = line.closest(".q-item");
      if (item) {
        if (message) {
          item.setAttribute("aria-invalid", "true");
        } else {
          item.removeAttribute("aria-invalid");
        }
      }
    });
  }

  function changed() {
    var root = form();
    if (root) {
      root.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function renumber(container) {
    container.querySelectorAll(":scope > .q-instance").forEach(function (box, index) {
      var number = box.querySelector(":scope > legend .q-number");
      if (number) {
        number.textContent = String(index + 1);
      }
    });
  }

  function addInstance(button) {
    var linkId = button.dataset.add;
    var group = button.closest(".q-group");
    var container = group.querySelector('[data-repeat="' + linkId + '"]');
    var template = group.querySelector('template[data-repeat-template="' + linkId + '"]');
    var next = Number(container.dataset.next || container.children.length);
    container.dataset.next = String(next + 1);
    var copy = template.content.firstElementChild.cloneNode(true);
    ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
      copy.querySelectorAll("[" + attribute + "]").forEach(function (el) {
        el.setAttribute(attribute, el.getAttribute(attribute).split("__i__").join(String(next)));
      });
    });
    container.appendChild(copy);
    renumber(container);
    var first = copy.querySelector("input, textarea, select");
    if (first) {
      first.focus();
    }
  }

  function removeInstance(button) {
    var box = button.closest(".q-instance");
    var container = box.parentElement;
    var group = box.closest(".q-group");
    box.remove();
    renumber(container);
    var add = group.querySelector(".q-add");
    if (add) {
      add.focus();
    }
    changed();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    if (target.matches(".q-add")) {
      addInstance(target);
    } else if (target.matches(".q-remove")) {
      removeInstance(target);
    }
  });

  document.addEventListener(STATE_EVENT, function (event) {
    applyState(event.detail);
  });

  // Autosave: the status says at once that changes wait to be saved (the save itself waits for a pause
  // in typing); changes still waiting when the page goes away are sent with the page's last breath.
  var dirty = false;

  function markDirty(event) {
    var root = form();
    if (!root || !root.hasAttribute("hx-post") || !root.contains(event.target)) {
      return;
    }
    dirty = true;
    var status = document.getElementById("autosave-status");
    if (status) {
      status.textContent = "Saving…";
    }
  }

  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt === form() && event.detail.successful) {
      dirty = false;
    }
  });
  document.addEventListener("submit", function () {
    dirty = false;
  });
  window.addEventListener("pagehide", function () {
    var root = form();
    if (dirty && root && navigator.sendBeacon) {
      navigator.sendBeacon(root.getAttribute("hx-post"), new FormData(root));
      dirty = false;
    }
  });

  function start() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
