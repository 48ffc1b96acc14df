/* Progress bars of drf-import-export-jobs' admin pages.
 *
 * Each element with data-progress-url polls that URL (JSON: status,
 * status_display, current, total, percent, active) while its job waits or
 * runs, and updates the bar and the text in place. When the job stops
 * (dry run done, imported, exported, failed, cancelled) the page is loaded
 * again once, to show the report and the next step. No library needed.
 */
(function () {
  "use strict";
  var INTERVAL_MS = 700;

  function update(box, data) {
    var bar = box.querySelector("progress");
    if (data.percent === null || data.percent === undefined) {
      bar.removeAttribute("value");
    } else {
      bar.value = data.percent;
    }
    box.querySelector(".diej-status").textContent = data.status_display;
    box.querySelector(".diej-count").textContent =
      data.current + (data.total ? " / " + data.total : "") + " rows";
    box.dataset.status = data.status;
  }

  function poll(box) {
    var url = box.dataset.progressUrl;
    var first = box.dataset.status;
    function step() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          update(box, data);
          if (data.active) {
            window.setTimeout(step, INTERVAL_MS);
          } else if (data.status !== first) {
            window.location.reload();
          }
        })
        .catch(function () {
          window.setTimeout(step, INTERVAL_MS * 4);
        });
    }
    step();
  }

  function start() {
    var boxes = document.querySelectorAll(".diej-progress[data-progress-url]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].dataset.active === "1") {
        poll(boxes[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
