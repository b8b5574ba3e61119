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
// while the server works; without this script the page simply waits.
document.addEventListener('submit', function (event) {
  var form = event.target;
  var bar = form && form.getAttribute('data-progress') && document.getElementById(form.getAttribute('data-progress'));
  if (!bar) return;
  bar.hidden = false;
  form.querySelectorAll('button[type=submit]').forEach(function (b) { b.setAttribute('aria-disabled', 'true'); });
});
