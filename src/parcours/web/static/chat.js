/* Parcours chat widget: <script src="https://parcours.example/static/chat.js" data-lang="fr" defer></script>
 * Talks to the Parcours server it was loaded from (/chat/conversations, /chat/messages): the FAQ
 * bot answers first, an agent takes over after a handoff; new lines are polled every 2.5 s.
 * No dependency; text is inserted with textContent only (never as HTML). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src, location.href).origin;
  var lang = (script.getAttribute("data-lang") || navigator.language || "fr").slice(0, 2) === "en" ? "en" : "fr";
  var T = {
    fr: { open: "Une question ?", title: "Service client", close: "Fermer", send: "Envoyer",
          placeholder: "Votre message…", email: "Votre e-mail (facultatif)", error: "Message non envoyé : " },
    en: { open: "Any question?", title: "Customer service", close: "Close", send: "Send",
          placeholder: "Your message…", email: "Your e-mail (optional)", error: "Message not sent: " }
  }[lang];
  var key = "parcours-chat:" + base;
  var token = sessionStorage.getItem(key);
  var last = 0, timer = null, busy = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }
  var root = el("div", "pc-chat"), toggle = el("button", "pc-chat-toggle", T.open);
  var panel = el("div", "pc-chat-panel"), head = el("div", "pc-chat-head"), close = el("button", "", "×");
  var log = el("div", "pc-chat-log"), err = el("div", "pc-chat-error"), form = el("form", "pc-chat-form");
  var input = el("input"), email = el("input"), send = el("button", "", T.send);
  close.setAttribute("aria-label", T.close);
  log.setAttribute("aria-live", "polite");
  input.placeholder = T.placeholder; input.maxLength = 4000; input.required = true; input.name = "text";
  email.placeholder = T.email; email.type = "email"; email.name = "email";
  head.appendChild(el("span", "", T.title)); head.appendChild(close);
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(err);
  var emailRow = el("div", "pc-chat-form"); emailRow.appendChild(email);
  panel.appendChild(emailRow); panel.appendChild(form);
  root.appendChild(toggle); root.appendChild(panel);
  if (!document.querySelector('link[href$="/static/chat.css"]')) {
    var css = el("link"); css.rel = "stylesheet"; css.href = base + "/static/chat.css"; document.head.appendChild(css);
  }

  function call(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (token) { headers["X-Chat-Token"] = token; }
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) { var e = new Error(data.detail || r.status); e.status = r.status; throw e; }
          return data;
        });
      });
  }
  function show(data) {
    (data.lines || []).forEach(function (ln) {
      if (ln.seq <= last) { return; }
      last = ln.seq;
      log.appendChild(el("div", "pc-chat-line pc-chat-" + ln.author, ln.text));
    });
    log.scrollTop = log.scrollHeight;
  }
  function start() {
    if (token) { return Promise.resolve(); }
    return call("POST", "/chat/conversations", { language: lang }).then(function (d) {
      token = d.token; sessionStorage.setItem(key, token);
    });
  }
  function poll() {
    if (!token || busy) { return; }
    call("GET", "/chat/messages?after=" + last).then(show).catch(function (e) {
      if (e.status === 404) { token = null; sessionStorage.removeItem(key); last = 0; }
    });
  }
  function open() {
    root.classList.add("open");
    start().then(poll).catch(function (e) { err.textContent = T.error + e.message; });
    if (!timer) { timer = setInterval(poll, 2500); }
    input.focus();
  }
  toggle.addEventListener("click", open);
  close.addEventListener("click", function () { root.classList.remove("open"); clearInterval(timer); timer = null; });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    busy = true; err.textContent = "";
    start().then(function () {
      return call("POST", "/chat/messages", { text: text, email: email.value.trim() || null });
    }).then(function (d) { input.value = ""; show(d); })
      .catch(function (e) { err.textContent = T.error + e.message; })
      .then(function () { busy = false; });
  });
  function mount() {
    document.body.appendChild(root);
    if (script.getAttribute("data-open")) { open(); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
