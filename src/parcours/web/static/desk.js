/* The desk's inbox keys: j / k move the selection, Enter opens the selected case, / goes to
   the search. The selection survives the inbox's refresh (HTMX swaps the rows every 10 s).
   On a case page, messages that arrive while it is open (swapped in by the presence poll)
   are marked "fresh". */
(function () {
  "use strict";
  var selected = null;  // case id of the selected row

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#inbox tbody tr[data-case]")); }

  function mark() {
    rows().forEach(function (tr) {
      var on = tr.dataset.case === selected;
      tr.classList.toggle("selected", on);
      if (on) { tr.setAttribute("aria-current", "true"); } else { tr.removeAttribute("aria-current"); }
    });
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var i = list.findIndex(function (tr) { return tr.dataset.case === selected; });
    i = i < 0 ? 0 : Math.min(list.length - 1, Math.max(0, i + step));
    selected = list[i].dataset.case;
    mark();
    var link = list[i].querySelector("a.case-link");
    if (link) { link.focus(); }
  }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || !document.getElementById("desk-rows")) { return; }
    if (typing(e.target)) { return; }
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if (e.key === "/") { var q = document.getElementById("desk-q"); if (q) { q.focus(); q.select(); e.preventDefault(); } }
    else if (e.key === "Enter" && selected && !(e.target && e.target.tagName === "A")) {
      window.location.href = "/desk/cases/" + encodeURIComponent(selected);
    }
  });

  document.addEventListener("focusin", function (e) {
    var tr = e.target.closest && e.target.closest("#inbox tbody tr[data-case]");
    if (tr) { selected = tr.dataset.case; mark(); }
  });

  // a session that expired while the page polled: go to the login page, not into the rows
  document.addEventListener("htmx:beforeSwap", function (e) {
    var url = e.detail.xhr && e.detail.xhr.responseURL;
    if (url && url.indexOf("/login") !== -1) {
      e.detail.shouldSwap = false;
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    }
  });

  var known = null;  // ids of the case page's messages already shown
  function freshen() {
    var msgs = Array.prototype.slice.call(document.querySelectorAll("#thread li.msg"));
    if (known === null) { known = new Set(msgs.map(function (li) { return li.id; })); return; }
    msgs.forEach(function (li) {
      if (!known.has(li.id)) { li.classList.add("fresh"); known.add(li.id); }
    });
  }
  document.addEventListener("DOMContentLoaded", freshen);
  document.addEventListener("htmx:afterSettle", freshen);

  document.addEventListener("htmx:afterSwap", function () {
    mark();
    // keep the keyboard focus on the selected case after the rows were replaced
    if (selected && document.activeElement === document.body) {
      var tr = document.querySelector('#inbox tbody tr[data-case="' + CSS.escape(selected) + '"] a.case-link');
      if (tr) { tr.focus(); }
    }
  });
})();
