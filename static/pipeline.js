// The pipeline board's drag and drop. Without this script every card has a
// form (a status and a Move button) that posts to /leads/{id}/status; with it,
// a card dropped on another column is moved at once and saved with the same
// form in the background. If the save is refused, the card goes back where it
// was and the board says why, so the board always shows what is saved.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var error = document.getElementById("board-error");
  var dragged = null;

  function column(el) {
    while (el && !(el.classList && el.classList.contains("board-column"))) el = el.parentNode;
    return el;
  }

  function money(minor) {
    var sign = minor < 0 ? "-" : "";
    var abs = Math.abs(minor);
    var units = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = ("0" + (abs % 100)).slice(-2);
    return sign + units + "." + cents;
  }

  // Adds `by` leads and `value` minor units to a column's figures, where they
  // are exact (a bounded count, "More than 1,000", is left as it is).
  function adjust(col, by, value) {
    var count = col.querySelector(".board-count");
    if (count && count.dataset.exact !== "") {
      var n = parseInt(count.dataset.exact, 10) + by;
      count.dataset.exact = String(n);
      count.textContent = n.toLocaleString("en-US");
    }
    var total = col.querySelector(".board-value");
    if (total) {
      var v = parseInt(total.dataset.minor, 10) + by * value;
      total.dataset.minor = String(v);
      total.textContent = money(v);
    }
  }

  function place(card, col, before) {
    var list = col.querySelector(".board-cards");
    list.insertBefore(card, before || list.firstChild);
    var select = card.querySelector("select[name=status]");
    if (select) select.value = col.dataset.status;
  }

  function say(message) {
    error.textContent = message;
    error.hidden = false;
  }

  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest ? e.target.closest(".board-card") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.lead);
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (e) {
    var col = column(e.target);
    if (!dragged || !col) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    col.classList.add("drop-target");
  });
  board.addEventListener("dragleave", function (e) {
    var col = column(e.target);
    if (col && !col.contains(e.relatedTarget)) col.classList.remove("drop-target");
  });
  board.addEventListener("drop", function (e) {
    var col = column(e.target);
    var card = dragged;
    if (!card || !col) return;
    e.preventDefault();
    col.classList.remove("drop-target");
    var from = column(card);
    if (from === col) return;
    var home = card.nextSibling;
    var value = parseInt(card.dataset.value, 10) || 0;
    place(card, col, null);
    adjust(from, -1, value);
    adjust(col, 1, value);
    card.setAttribute("aria-busy", "true");
    var form = card.querySelector("form.board-move");
    var data = new URLSearchParams(new FormData(form));
    data.set("status", col.dataset.status);
    fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (r) {
      if (r.ok) {
        error.hidden = true;
        return;
      }
      return r.json().catch(function () { return {}; }).then(function (body) {
        throw new Error(body.error || (r.status === 503
          ? "The workspace is being moved; the card is back where it was. Try again in a moment."
          : r.status === 403
            ? "This page is out of date, so the move was not saved. Reload the page and try again."
            : r.status === 404
              ? "This lead no longer exists; reload the page to see the board as it is."
              : "The move was not saved (" + r.status + "); the card is back where it was."));
      });
    }).catch(function (err) {
      // Back where it was: the board shows only what is saved.
      place(card, from, home && home.parentNode ? home : null);
      adjust(col, -1, value);
      adjust(from, 1, value);
      say(err.message || "The move was not saved.");
    }).then(function () {
      card.removeAttribute("aria-busy");
    });
  });
})();
