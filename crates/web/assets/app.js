// The page menu on phones: without this script the menu is simply shown (every page works
// without JavaScript); with it, narrow screens fold the menu behind one button.
document.addEventListener('DOMContentLoaded', function () {
  var bar = document.querySelector('header.bar');
  var button = bar && bar.querySelector('.menu-toggle');
  if (!button) return;
  button.hidden = false;
  bar.classList.add('collapsible');
  button.addEventListener('click', function () {
    var open = bar.classList.toggle('open');
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  });
});

// A form that takes a while (the import's check and the import itself) shows its progress bar
// while the server works, row by row: the form carries a token the script chose, and the
// script asks the server how far the request under it is until the next page arrives.
// Without this script the page simply waits.
document.addEventListener('submit', function (event) {
  var form = event.target;
  var bar = form && form.getAttribute('data-progress') && document.getElementById(form.getAttribute('data-progress'));
  if (!bar) return;
  bar.hidden = false;
  form.querySelectorAll('button[type=submit]').forEach(function (b) { b.setAttribute('aria-disabled', 'true'); });
  var url = form.getAttribute('data-progress-url');
  if (!url || !window.crypto || !window.fetch) return;
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  var token = Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  var input = form.querySelector('input[name=progress_token]');
  if (!input) {
    input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'progress_token';
    form.appendChild(input);
  }
  input.value = token;
  var meter = bar.querySelector('progress');
  var text = bar.querySelector('[data-progress-text]');
  var ask = function () {
    fetch(url + '?token=' + token, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (p && p.total > 0 && meter && text) {
          meter.max = p.total;
          meter.value = p.done;
          text.textContent = p.writing
            ? p.total + '行を確かめました。書き込んでいます。'
            : p.total + '行のうち ' + p.done + '行を確かめました。';
        }
        if (!p || !p.finished) window.setTimeout(ask, 500);
      })
      .catch(function () { window.setTimeout(ask, 1000); });
  };
  window.setTimeout(ask, 300);
});
