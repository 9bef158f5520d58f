// Small enhancements; every page works without them.
(function () {
  // On a phone the navigation is one scrolling row: bring the current page into view.
  var current = document.querySelector('.sidenav [aria-current="page"]');
  if (current && window.matchMedia('(max-width: 760px)').matches) {
    current.scrollIntoView({ block: 'nearest', inline: 'center' });
  }
  // "Select all" for tables of check boxes.
  document.querySelectorAll('th.check').forEach(function (th) {
    var table = th.closest('table');
    var boxes = table ? table.querySelectorAll('td.check input[type="checkbox"]') : [];
    if (boxes.length < 2) return;
    var all = document.createElement('input');
    all.type = 'checkbox';
    all.setAttribute('aria-label', 'Select all');
    all.addEventListener('change', function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    th.textContent = '';
    th.appendChild(all);
  });
})();
