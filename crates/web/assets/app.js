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
