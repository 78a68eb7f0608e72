// mtarep overview and Delivery page: issue details fetched into a dialog on demand (overview), in-place sorting that keeps ?sort=&dir= in the URL, row filter.
// Loaded as a file (the CSP allows no inline script); reads data only from DOM attributes.
'use strict';
(function () {
  var table = document.getElementById('overview') || document.querySelector('table.sortable');

  // Issue windows: the rows carry no details; a badge's details are fetched when it is clicked and
  // shown in the page's one <dialog>. Without JavaScript (or when the fetch fails) the badge's link
  // opens the issue page instead.
  var dialog = document.getElementById('issue-dialog');
  var opening = false;

  function backHere() {
    return table ? '/?sort=' + encodeURIComponent(table.dataset.sort) + '&dir=' + encodeURIComponent(table.dataset.dir) : location.pathname;
  }

  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[data-dialog]') : null;
    if (!a || !dialog || typeof dialog.showModal !== 'function') return; // the issue page
    ev.preventDefault();
    var id = new URL(a.href, location.href).searchParams.get('id') || '';
    opening = true;
    fetch('/issue/part?id=' + encodeURIComponent(id) + '&back=' + encodeURIComponent(backHere()), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status !== 200 && r.status !== 404) throw new Error('status ' + r.status);
        return r.text();
      })
      .then(function (html) {
        dialog.querySelector('.issue-slot').innerHTML = html;
        if (!dialog.open) dialog.showModal();
      })
      .catch(function () {
        location.href = a.href;
      })
      .then(function () {
        opening = false;
      });
  });
  // A click on the backdrop closes the dialog.
  if (dialog) {
    dialog.addEventListener('click', function (ev) {
      if (ev.target === dialog) dialog.close();
    });
  }

  if (!table) return;
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');

  function setUrl() {
    var u = new URL(location.href);
    u.searchParams.set('sort', table.dataset.sort);
    u.searchParams.set('dir', table.dataset.dir);
    if (filter && filter.value) u.searchParams.set('q', filter.value);
    else u.searchParams.delete('q');
    history.replaceState(null, '', u.pathname + u.search + u.hash);
    var back = backHere();
    document.querySelectorAll('form.ack input[name=back]').forEach(function (i) {
      if (i.value.charAt(0) === '/' && i.value.indexOf('/?') === 0) i.value = back;
    });
  }

  function value(row, i) {
    var c = row.cells[i];
    if (!c) return '';
    var v = c.getAttribute('data-v');
    return v !== null ? v : c.textContent.trim().toLowerCase();
  }

  function cmp(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== '' && b !== '' && isFinite(x) && isFinite(y)) return x - y;
    return a.localeCompare(b);
  }

  function sortBy(key, dir) {
    var idx = -1;
    heads.forEach(function (th, i) {
      if (th.dataset.key === key) idx = i;
    });
    if (idx < 0) return;
    var rows = Array.prototype.slice.call(tbody.rows);
    var sign = dir === 'desc' ? -1 : 1;
    rows.sort(function (r1, r2) {
      return sign * cmp(value(r1, idx), value(r2, idx)) || cmp(value(r1, 1), value(r2, 1)) || cmp(value(r1, 2), value(r2, 2));
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    tbody.appendChild(frag);
    table.dataset.sort = key;
    table.dataset.dir = dir;
    heads.forEach(function (th) {
      var on = th.dataset.key === key;
      th.classList.toggle('sorted', on);
      th.classList.toggle('asc', on && dir === 'asc');
      th.classList.toggle('desc', on && dir === 'desc');
      if (on) th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    setUrl();
  }

  heads.forEach(function (th) {
    var a = th.querySelector('a');
    if (!a) return;
    a.addEventListener('click', function (ev) {
      ev.preventDefault();
      var key = th.dataset.key;
      var first = key === 'severity' || th.dataset.first === 'desc' ? 'desc' : 'asc';
      var dir = table.dataset.sort === key ? (table.dataset.dir === 'asc' ? 'desc' : 'asc') : first;
      sortBy(key, dir);
    });
  });

  function applyFilter() {
    var q = (filter.value || '').trim().toLowerCase();
    var n = 0, total = tbody.rows.length;
    Array.prototype.forEach.call(tbody.rows, function (r) {
      var hit = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
      r.hidden = !hit;
      if (hit) n++;
    });
    if (shown) shown.textContent = q ? n + ' of ' + total + ' rows' : total + ' rows';
  }

  // Reload when the data changed (a collector run, someone's acknowledgement), unless the user is busy:
  // a dialog open or typing in the filter. Sort and filter are in the URL, so they survive the reload.
  var version = table.dataset.version;
  function poll() {
    if (document.hidden || opening || document.querySelector('dialog[open]') || document.activeElement === filter) return;
    fetch('/api/version', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && version !== undefined && String(j.dataVersion) !== version) location.reload();
      })
      .catch(function () {});
  }
  if (version !== undefined) setInterval(poll, 60000);

  if (filter) {
    var q0 = new URL(location.href).searchParams.get('q');
    if (q0) filter.value = q0;
    filter.addEventListener('input', function () {
      applyFilter();
      setUrl();
    });
    applyFilter();
  }
})();
