// mtarep charts: draws every [data-chart] element with Highcharts (served locally). Data comes from
// data- attributes (escaped by the server), never from inline script.
'use strict';
(function () {
  if (typeof Highcharts === 'undefined') return;
  // Times as the rest of the dashboard writes them (views/format.ts shortTime): UTC, 24-hour, to the
  // minute: "19:15" on the axis (the date where a day starts), "2026-11-30 19:15 UTC" in the tooltip.
  var full = '%Y-%m-%d %H:%M';
  Highcharts.setOptions({
    credits: { enabled: false },
    time: { timezone: 'UTC' },
    xAxis: { dateTimeLabelFormats: { millisecond: full, second: full, minute: '%H:%M', hour: '%H:%M', day: '%Y-%m-%d', week: '%Y-%m-%d', month: '%Y-%m', year: '%Y' } },
    tooltip: { xDateFormat: full + ' UTC' },
  });
  // Highcharts reads markup in label and tooltip strings: config strings (graph domains) are escaped
  // so they show as text.
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  var colors = { sent: '#2f7ed8', bounced: '#d9534f', deferred: '#f0ad4e', expired: '#8c6bb1', fbl: '#5c5c5c' };

  document.querySelectorAll('[data-chart="counters"]').forEach(function (el) {
    var categories = JSON.parse(el.getAttribute('data-categories')).map(esc);
    var series = JSON.parse(el.getAttribute('data-series')).map(function (s) {
      return { name: s.name, data: s.data, color: colors[s.name] };
    });
    Highcharts.chart(el, {
      chart: { type: 'column', animation: false },
      title: { text: 'Deliveries on ' + el.getAttribute('data-day') },
      xAxis: { categories: categories },
      yAxis: { min: 0, title: { text: 'messages' } },
      legend: { enabled: true },
      tooltip: { shared: true },
      plotOptions: { series: { animation: false } },
      series: series,
    });
  });

  // A probe domain's days: [date, min_s, avg_s, max_s, on_time, late, failed] per day.
  document.querySelectorAll('[data-chart="probe-days"]').forEach(function (el) {
    var days = JSON.parse(el.getAttribute('data-days'));
    var col = function (i) { return days.map(function (d) { return d[i]; }); };
    Highcharts.chart(el, {
      chart: { animation: false },
      title: { text: 'Round trips of ' + esc(el.getAttribute('data-domain')) + ' per day (UTC)' },
      xAxis: { categories: col(0) },
      yAxis: [
        { title: { text: 'delivery time (s)' }, min: 0 },
        { title: { text: 'probes' }, min: 0, opposite: true, allowDecimals: false },
      ],
      tooltip: { shared: true },
      plotOptions: { series: { animation: false }, column: { stacking: 'normal', grouping: false } },
      series: [
        { name: 'on time', type: 'column', yAxis: 1, data: col(4), color: '#9ccc9c' },
        { name: 'late', type: 'column', yAxis: 1, data: col(5), color: '#f0ad4e' },
        { name: 'failed', type: 'column', yAxis: 1, data: col(6), color: '#d9534f' },
        { name: 'max', type: 'line', data: col(3), color: '#8c6bb1', dashStyle: 'ShortDash', tooltip: { valueSuffix: ' s' } },
        { name: 'average', type: 'line', data: col(2), color: '#2f7ed8', lineWidth: 3, tooltip: { valueSuffix: ' s' } },
        { name: 'min', type: 'line', data: col(1), color: '#1e7d32', dashStyle: 'ShortDash', tooltip: { valueSuffix: ' s' } },
      ],
    });
  });

  document.querySelectorAll('[data-chart="history"]').forEach(function (el) {
    var h = JSON.parse(el.getAttribute('data-history'));
    if (!h.points) return;
    Highcharts.chart(el, {
      chart: { animation: false, height: 220 },
      title: { text: null },
      xAxis: { type: 'datetime' },
      yAxis: [
        { title: { text: 'SenderScore' }, min: 0, max: 100 },
        { title: { text: 'listings / traps' }, min: 0, opposite: true, allowDecimals: false },
      ],
      tooltip: { shared: true },
      plotOptions: { series: { animation: false, marker: { enabled: h.points < 50 } } },
      series: [
        { name: 'SenderScore', type: 'line', data: h.score, yAxis: 0, color: '#2f7ed8' },
        { name: 'DNSBL listings', type: 'column', data: h.listings, yAxis: 1, color: '#d9534f' },
        { name: 'SNDS traps', type: 'line', data: h.traps, yAxis: 1, color: '#f0ad4e', dashStyle: 'ShortDash' },
      ],
    });
  });
})();
