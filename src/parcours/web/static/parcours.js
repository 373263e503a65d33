/* Parcours pages: draw the charts described in the page (Vega-Lite with vega-embed, the
   Sankey with ECharts) in the page's language. No network: the specs carry their data. */
(function () {
  "use strict";
  var FR_NUM = { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", "\u00a0€"], percent: "\u202f%" };
  var FR_TIME = {
    dateTime: "%A %e %B %Y à %X", date: "%d/%m/%Y", time: "%H:%M:%S", periods: ["AM", "PM"],
    days: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    shortDays: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
    months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    shortMonths: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
  };
  function french() { return document.documentElement.lang === "fr"; }
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }

  function drawVega(el) {
    if (el.dataset.drawn) { return; }
    el.dataset.drawn = "1";
    var opts = { actions: false, renderer: "svg", mode: "vega-lite" };
    if (french()) { opts.formatLocale = FR_NUM; opts.timeFormatLocale = FR_TIME; }
    window.vegaEmbed(el, data(el.dataset.vega), opts).then(function () {
      el.dataset.rendered = "1";
    }).catch(function (err) {
      el.textContent = String(err);
      console.error(err);
    });
  }

  function drawSankey(el) {
    if (el.dataset.drawn) { return; }
    el.dataset.drawn = "1";
    var d = data(el.dataset.sankey);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      aria: { enabled: true, label: { description: el.getAttribute("aria-label") } },
      tooltip: { trigger: "item" },
      series: [{
        type: "sankey", data: d.nodes, links: d.links, nodeAlign: "left", nodeGap: 10,
        emphasis: { focus: "adjacency" }, lineStyle: { color: "gradient", opacity: 0.45 },
        label: { color: "#1d2433", fontSize: 11 }
      }]
    });
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init(root) {
    root.querySelectorAll("[data-vega]").forEach(drawVega);
    root.querySelectorAll("[data-sankey]").forEach(drawSankey);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.detail.elt); });
})();
