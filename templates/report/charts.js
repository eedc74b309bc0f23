// Draws the HTML report's charts with uPlot (inlined before this script) from the JSON block #chart-data: one
// shared time axis in seconds from the start of the run, each chart's series on a left and an optional right axis.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  var COLORS = ['#1f6fd1', '#d64541', '#1e9e5a', '#e08a00', '#8e44ad', '#00a2b8', '#c2185b', '#6d7c10'];
  var HEIGHT = 220;
  var MARK_COLORS = { critical: '#d64541', warning: '#e08a00', resolved: '#1e9e5a' };
  var xs = [];
  for (var i = 0; i < data.points; i++) xs.push(data.startS + (i + 1) * data.stepS);

  function clock(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + rest : m + ':' + rest;
  }

  function number(value, unit) {
    if (value === null || value === undefined) return '-';
    var digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    var text = value.toFixed(digits);
    return unit === '/s' || unit === 'ms' || unit === '%' || unit === 'MB' ? text + ' ' + unit : text;
  }

  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

  // An axis' labels with as many decimals as its step between them needs.
  function ticks(_u, splits, _axis, _space, step) {
    var whole = function (x) { return Math.abs(x - Math.round(x)) < 1e-9; };
    var digits = whole(step) ? 0 : whole(step * 10) ? 1 : 2;
    return splits.map(function (v) { return v.toFixed(digits); });
  }

  function fromZero(_u, _min, max) {
    return [0, max > 0 ? max * 1.08 : 1];
  }

  function widthOf(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width));
  }

  // A chart's marks (monitor: events) as dashed vertical lines across its plot area, drawn after the series.
  function drawMarks(marks) {
    return function (u) {
      var ctx = u.ctx;
      marks.forEach(function (m) {
        var x = Math.round(u.valToPos(m.s, 'x', true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.save();
        ctx.strokeStyle = MARK_COLORS[m.kind] || '#5b6475';
        ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      });
    };
  }

  var plots = [];
  data.charts.forEach(function (chart) {
    var el = document.querySelector('[data-chart="' + chart.id + '"]');
    if (!el) return;
    var right = chart.series.some(function (s) { return s.axis === 1; });
    var axes = [
      // Whole seconds at least: a short run would otherwise show the same second twice.
      { incrs: TIME_STEPS, values: function (_u, splits) { return splits.map(clock); } },
      { scale: 'y', size: 56, values: ticks, label: chart.units[0] },
    ];
    if (right) {
      axes.push({ scale: 'y2', side: 1, size: 56, grid: { show: false }, label: chart.units[1], values: ticks });
    }
    var series = [{ label: 'time', value: function (_u, v) { return v === null ? '-' : clock(v); } }];
    chart.series.forEach(function (s, n) {
      var unit = chart.units[s.axis] || '';
      series.push({
        label: s.label,
        scale: s.axis === 1 ? 'y2' : 'y',
        stroke: COLORS[n % COLORS.length],
        width: s.planned ? 1.5 : 1.6,
        dash: s.planned ? [6, 4] : undefined,
        points: { show: false },
        value: function (_u, v) { return number(v, unit); },
      });
    });
    var opts = {
      width: widthOf(el),
      height: HEIGHT,
      scales: { x: { time: false }, y: { range: fromZero }, y2: { range: fromZero } },
      axes: axes,
      series: series,
      cursor: { drag: { x: true, y: false } },
    };
    if (chart.marks && chart.marks.length) opts.hooks = { draw: [drawMarks(chart.marks)] };
    var values = [xs].concat(chart.series.map(function (s) { return s.values; }));
    plots.push({ el: el, plot: new uPlot(opts, values, el) });
  });

  function fit() {
    plots.forEach(function (p) { p.plot.setSize({ width: widthOf(p.el), height: HEIGHT }); });
  }
  var pending = 0;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(fit, 100);
  });
  window.addEventListener('beforeprint', fit);
  // How many charts were drawn: the tests and a printing browser wait for it.
  document.documentElement.setAttribute('data-charts', String(plots.length));
})();
