// The journal: a live character count under entry text areas (progressive enhancement).
(function () {
  "use strict";
  document.querySelectorAll(".journal-counter[data-for]").forEach(function (counter) {
    var field = document.getElementById(counter.getAttribute("data-for"));
    if (!field) { return; }
    var limit = parseInt(field.getAttribute("maxlength") || "0", 10);
    function update() {
      var used = field.value.length;
      counter.textContent = limit ? used + " of " + limit + " characters" : used + " characters";
    }
    field.addEventListener("input", update);
    update();
  });
})();
