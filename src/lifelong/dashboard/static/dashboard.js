/* lifelong dashboard: draws the embedded Plotly figures and sends the admin actions. */
(function () {
  "use strict";

  var TOKEN_KEY = "lifelong-admin-token";

  function drawCharts() {
    var holders = document.querySelectorAll("[data-figure]");
    holders.forEach(function (holder) {
      var source = document.getElementById(holder.getAttribute("data-figure"));
      if (!source || typeof Plotly === "undefined") { return; }
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(holder, figure.data, figure.layout, {
        responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"]
      }).then(function () { holder.setAttribute("data-drawn", "true"); });
    });
  }

  function status(text, ok) {
    var line = document.getElementById("action-status");
    if (!line) { return; }
    line.textContent = text;
    line.className = ok ? "ok" : "error";
  }

  function token() {
    var field = document.getElementById("admin-token");
    var value = field ? field.value.trim() : "";
    try {
      if (value) { window.sessionStorage.setItem(TOKEN_KEY, value); }
    } catch (ignored) { /* storage may be disabled */ }
    return value;
  }

  function send(model, action, body) {
    var headers = { "Content-Type": "application/json" };
    var secret = token();
    if (secret) { headers["Authorization"] = "Bearer " + secret; }
    status(action + "…", true);
    return fetch("/api/models/" + encodeURIComponent(model) + "/" + action, {
      method: "POST", headers: headers, body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          status(action + " refused (" + response.status + "): " + (data.error || response.statusText), false);
          return;
        }
        status(action + " done: " + (data.message || "ok") + " — reloading", true);
        window.setTimeout(function () { window.location.reload(); }, 700);
      });
    }).catch(function (error) {
      status(action + " failed: " + error, false);
    });
  }

  function wireActions() {
    var field = document.getElementById("admin-token");
    if (field) {
      try { field.value = window.sessionStorage.getItem(TOKEN_KEY) || ""; } catch (ignored) { /* none */ }
    }
    document.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var model = button.getAttribute("data-model");
        var action = button.getAttribute("data-action");
        var reason = (document.getElementById("action-reason") || { value: "" }).value.trim();
        var body = { reason: reason };
        if (action === "promote") {
          body.version = button.getAttribute("data-version");
        } else if (action === "experiment/start") {
          body.version = document.getElementById("experiment-version").value;
          body.kind = document.getElementById("experiment-kind").value;
          var weight = document.getElementById("experiment-weight").value.trim();
          if (weight) { body.weight = Number(weight); }
        }
        send(model, action, body);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    wireActions();
  });
})();
