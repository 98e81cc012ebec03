// The sign-up hand-off: posts the form that carries the new admin to their
// workspace as soon as the page loads. Without JavaScript the button does it.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("handoff");
  if (form) {
    form.submit();
  }
});
