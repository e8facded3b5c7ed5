// Rituals form: show only the fields that apply (recurrence details, who gives).
(function () {
  "use strict";
  function toggle(select, groups, all) {
    if (!select) { return; }
    function update() {
      var show = groups[select.value] || [];
      all.forEach(function (id) {
        var el = document.getElementById(id);
        if (el) { el.hidden = show.indexOf(id) === -1; }
      });
    }
    select.addEventListener("change", update);
    update();
  }
  toggle(
    document.getElementById("id_freq"),
    {
      weekly: ["div_id_weekdays"],
      monthly_day: ["div_id_month_day"],
      monthly_nth: ["div_id_nth", "div_id_nth_weekday"]
    },
    ["div_id_weekdays", "div_id_month_day", "div_id_nth", "div_id_nth_weekday"]
  );
  toggle(
    document.getElementById("id_participation"),
    { gives: ["div_id_giver"] },
    ["div_id_giver"]
  );
})();
