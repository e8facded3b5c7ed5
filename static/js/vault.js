/* Keepsake vault: record a first read when a letter is opened, and open a year
   together (poll who is here; show the letters once both partners are). */
(function () {
  "use strict";

  function markRead(details) {
    var form = details.querySelector("form.ks-read-form");
    if (!form || details.dataset.readSent) { return; }
    details.dataset.readSent = "1";
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) {
        var note = document.createElement("p");
        note.className = "small text-body-secondary mb-0";
        note.textContent = "Read.";
        form.replaceWith(note);
      } else {
        delete details.dataset.readSent;
      }
    }).catch(function () { delete details.dataset.readSent; });
  }

  function watchLetters(root) {
    root.querySelectorAll("details.ks-letter").forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (details.open) { markRead(details); }
      });
    });
  }

  function together() {
    var box = document.getElementById("together");
    if (!box || box.dataset.both === "1") { return; }
    var url = box.dataset.statusUrl;
    var timer = null;

    function showLetters() {
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("together");
          if (!fresh) { return; }
          box.replaceWith(fresh);
          watchLetters(fresh);
        });
    }

    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { return; }
          box.querySelectorAll("#together-members li").forEach(function (li) {
            var here = state.here.indexOf(li.dataset.name) !== -1;
            li.querySelector(".ks-presence").textContent = here ? "here" : "not here yet";
          });
          if (state.both_here) {
            window.clearInterval(timer);
            showLetters();
          }
        })
        .catch(function () { /* try again on the next tick */ });
    }

    timer = window.setInterval(poll, 2000);
  }

  watchLetters(document);
  together();
})();
