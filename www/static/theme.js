// theme.js: applies the theme chosen on this browser (system, light or dark)
// before the page paints, so a dark choice never flashes light. A classic
// script in <head>: the CSP allows no inline script. chat.js offers the choice.
(function () {
  var t = null;
  try { t = localStorage.getItem('aifacade-theme'); } catch (e) { /* storage off: follow the system */ }
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
}());
