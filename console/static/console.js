// Lapor Warga console: the only script (no inline script; CSP script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("pick-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=pick], input.pick").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
});
