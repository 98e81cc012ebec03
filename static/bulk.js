// The lead list's "select all on this page" checkbox: ticks or clears every
// row's checkbox, and follows them (ticked when all are, mixed when some are).
// Without JavaScript the checkbox stays hidden and the "Select all on this
// page" link does the same by reloading the page with every row ticked.
(() => {
  const form = document.getElementById("bulk");
  const all = document.getElementById("select-page");
  if (!form || !all) return;
  const rows = () => Array.from(form.querySelectorAll("input[name=lead_ids]"));
  const follow = () => {
    const ticked = rows().filter((box) => box.checked).length;
    all.checked = ticked > 0 && ticked === rows().length;
    all.indeterminate = ticked > 0 && ticked < rows().length;
  };
  all.hidden = false;
  all.addEventListener("change", () => {
    for (const box of rows()) box.checked = all.checked;
    follow();
  });
  form.addEventListener("change", (event) => {
    if (event.target !== all) follow();
  });
  follow();
})();
