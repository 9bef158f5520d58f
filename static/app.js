// Small enhancements; every page works without them.
(function () {
  // The navigation's "Menu" button is a details element that CSS keeps open from 761px. A
  // browser without ::details-content would hide the side navigation there: open it instead.
  var menu = document.querySelector('details.nav-menu');
  if (menu && window.CSS && CSS.supports && !CSS.supports('selector(::details-content)')) {
    var wide = window.matchMedia('(min-width: 761px)');
    var follow = function () { menu.open = wide.matches; };
    follow();
    if (wide.addEventListener) wide.addEventListener('change', follow);
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

  // A form on its way: aria-busy on the form, a spinner on the button that sent it, and a second
  // submit of the same form ignored. The button is never disabled: a disabled submitter's
  // name and value would be left out of the form data, and several forms rely on them. The
  // listener is on window, so it runs after any handler that cancels the submit. A form whose
  // answer is a download (data-no-busy) leaves the page as it is, so it never looks busy.
  window.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute('data-no-busy')) return;
    if (form.getAttribute('aria-busy') === 'true') {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) return;
    form.setAttribute('aria-busy', 'true');
    var submitter = event.submitter;
    if (submitter) {
      submitter.classList.add('is-busy');
      submitter.setAttribute('aria-disabled', 'true');
    }
  });
  // Back to a page kept in the back/forward cache: its forms are idle again.
  window.addEventListener('pageshow', function () {
    document.querySelectorAll('form[aria-busy="true"]').forEach(function (form) {
      form.removeAttribute('aria-busy');
    });
    document.querySelectorAll('.is-busy').forEach(function (button) {
      button.classList.remove('is-busy');
      button.removeAttribute('aria-disabled');
    });
  });

  // The new service request form shows the fields the chosen type uses and requires the ones
  // it needs (each option lists them in data-uses and data-needs). Without a type, all show.
  var kind = document.querySelector('select[data-adapts]');
  if (kind) {
    var form = kind.form;
    var adapt = function () {
      var option = kind.options[kind.selectedIndex];
      var chosen = option && option.value !== '';
      var uses = chosen ? (option.getAttribute('data-uses') || '').split(' ') : null;
      var needs = chosen ? (option.getAttribute('data-needs') || '').split(' ') : [];
      form.querySelectorAll('[data-field]').forEach(function (box) {
        var names = box.getAttribute('data-field').split(' ');
        box.hidden = uses !== null && !names.some(function (n) { return uses.indexOf(n) >= 0; });
        // A hidden field is not sent: the type doesn't use it.
        box.querySelectorAll('input, select, textarea').forEach(function (input) {
          input.disabled = box.hidden || !!input.closest('[hidden]');
        });
      });
      form.querySelectorAll('[data-required-when]').forEach(function (input) {
        var needed = needs.indexOf(input.name) >= 0;
        input.required = needed;
        var mark = form.querySelector('[data-mark="' + input.name + '"]');
        if (mark) mark.hidden = !needed;
      });
    };
    kind.addEventListener('change', adapt);
    adapt();
  }
})();
