/* report/www/app.js: the dashboard page (served by report/dashboard.c).
 *
 * Reads the JSON API (/api/studies, /api/study, /api/wait, /api/gp,
 * /api/importance) and draws with Chart.js (Debian's libjs-chart.js, served
 * as /chart.min.js); the parallel coordinates are drawn on a plain canvas.
 * Every string from a database goes into the page through textContent (el()
 * and cell()), never as HTML.  Live: a long poll on /api/wait redraws the
 * study when its version changes.
 *
 * For the browser tests: #status's data-* attributes say what was drawn
 * (data-ready="1" once the charts are up; data-points: points in the history
 * chart; data-pruned / data-failed: the points drawn with the pruned / failed
 * markers; data-updates: redraws after a change) and #errors collects
 * uncaught errors and console.error calls.
 */
'use strict';

(function catchErrors() {
  function note(msg) {
    var e = document.getElementById('errors');
    if (e) e.textContent += msg + '\n';
    else (window.tlEarlyErrors = window.tlEarlyErrors || []).push(msg);
  }
  window.addEventListener('error', function (ev) { note('error: ' + ev.message + ' (' + ev.filename + ':' + ev.lineno + ')'); });
  window.addEventListener('unhandledrejection', function (ev) { note('unhandled rejection: ' + ev.reason); });
  document.addEventListener('securitypolicyviolation', function (ev) { note('CSP violation: ' + ev.violatedDirective); });
  var ce = console.error;
  console.error = function () { note('console.error: ' + Array.prototype.join.call(arguments, ' ')); ce.apply(console, arguments); };
})();

var STATE_STYLE = {
  complete: { color: '#2e7d32', point: 'circle' },
  pruned: { color: '#ef6c00', point: 'crossRot' },
  failed: { color: '#c62828', point: 'rectRot' },
  paused: { color: '#1565c0', point: 'rect' },
  running: { color: '#6a1b9a', point: 'triangle' },
  waiting: { color: '#9e9e9e', point: 'line' }
};
/* pollMs: how long one long poll waits for a change (?poll=MS in the page's
 * address; the browser tests use a short one, see tests/test_dashboard_browser.c). */
var S = { studies: [], id: -1, study: null, charts: {}, brush: {}, updates: 0, gen: 0,
          pollMs: Math.min(10000, Math.max(100, parseInt(new URLSearchParams(location.search).get('poll'), 10) || 5000)) };

function $(id) { return document.getElementById(id); }
function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells, header) {
  var tr = document.createElement('tr');
  cells.forEach(function (c) { tr.appendChild(c instanceof Node ? c : el(header ? 'th' : 'td', c)); });
  return tr;
}
/* A key: value row of the trial's panel (the key a header cell). */
function krow(k, v) { var tr = row([v instanceof Node ? v : el('td', v)]); tr.insertBefore(el('th', k), tr.firstChild); return tr; }
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
/* Numbers to meaningful digits: 4 significant, exponent for the very large or small. */
function fmt(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  var a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return Number(v.toPrecision(4)).toExponential();
  return String(Number(v.toPrecision(4)));
}
function api(path) {
  return fetch(path).then(function (r) {
    return r.json().then(function (j) {
      if (!r.ok) { var e = new Error(j.error || r.statusText); e.status = r.status; throw e; }
      return j;
    });
  });
}
function chart(id, cfg) {
  if (S.charts[id]) S.charts[id].destroy();
  cfg.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, cfg.options || {});
  S.charts[id] = new Chart($(id), cfg);
  return S.charts[id];
}
function better(a, b) { return S.study.direction === 'maximize' ? a > b : a < b; }
function trialByNumber(n) { return S.study.trials.find(function (t) { return t.number === n; }); }
function hbOf(t) { try { return t.attrs.hb ? JSON.parse(t.attrs.hb) : null; } catch (e) { return null; } }

/* ---- the list of studies ---- */

function drawStudies() {
  var tb = $('studies').tBodies[0];
  clear(tb);
  S.studies.forEach(function (s) {
    var c = s.counts || {};
    var tr = s.error ? row([String(s.id), s.path, s.error, '', '', '', '', '', ''])
                     : row([s.name, s.path, s.sampler || '–', s.scheduler || '–', s.ntrials, c.complete, c.pruned, c.failed,
                            s.best === null ? '–' : '#' + s.best + ' = ' + fmt(s.best_value)]);
    if (s.id === S.id) tr.className = 'selected';
    tr.addEventListener('click', function () { location.hash = '#' + s.id; });
    tb.appendChild(tr);
  });
}

/* ---- optimization history ---- */

function historyPoints(st) {
  var fin = st.trials.filter(function (t) { return t.value !== null; }).map(function (t) { return t.value; });
  var top = fin.length ? (st.direction === 'maximize' ? Math.min.apply(null, fin) : Math.max.apply(null, fin)) : 0;
  var by = {};
  st.trials.forEach(function (t) {
    (by[t.state] = by[t.state] || []).push({ x: t.number, y: t.value === null ? top : t.value, trial: t.number, novalue: t.value === null });
  });
  return by;
}

function drawHistory() {
  var st = S.study, by = historyPoints(st), sets = [], best = null, line = [];
  Object.keys(STATE_STYLE).forEach(function (k) {
    if (!by[k]) return;
    var s = STATE_STYLE[k];
    sets.push({ label: k + (k === 'failed' ? ' (no value: drawn at the worst)' : ''), type: 'scatter', data: by[k], state: k,
                pointStyle: s.point, borderColor: s.color, backgroundColor: s.color, pointRadius: 5, borderWidth: 2 });
  });
  st.trials.forEach(function (t) {
    if (t.state === 'complete' && t.value !== null && (best === null || better(t.value, best))) best = t.value;
    if (best !== null) line.push({ x: t.number, y: best });
  });
  sets.push({ label: 'best so far', type: 'line', data: line, stepped: true, pointRadius: 0, borderColor: '#263238', borderWidth: 1.5 });
  var c = chart('c-history', { data: { datasets: sets }, options: {
    scales: { x: { type: 'linear', ticks: { precision: 0 }, title: { display: true, text: 'trial' } },
              y: { title: { display: true, text: st.metric } } },
    onClick: pickTrial, plugins: { tooltip: { callbacks: { label: pointLabel } } } } });
  var st2 = $('status'), n = 0, pr = 0, fa = 0;
  c.data.datasets.forEach(function (d, i) {
    if (!d.state) return;
    var drawn = c.getDatasetMeta(i).data.length;
    n += drawn;
    if (d.state === 'pruned' && d.pointStyle === 'crossRot') pr += drawn;
    if (d.state === 'failed') fa += drawn;
  });
  st2.dataset.trials = st.trials.length;
  st2.dataset.points = n;
  st2.dataset.pruned = pr;
  st2.dataset.failed = fa;
}

function pointLabel(ctx) {
  var p = ctx.raw, t = p && p.trial !== undefined ? trialByNumber(p.trial) : null;
  if (!t) return fmt(ctx.parsed.y);
  return 'trial ' + t.number + ' (' + t.state + '): ' + fmt(t.value);
}
function pickTrial(ev, els, ch) {
  if (!els.length) return;
  var p = ch.data.datasets[els[0].datasetIndex].data[els[0].index];
  if (p && p.trial !== undefined) showTrial(p.trial);
}

/* ---- slices ---- */

function drawSlices() {
  var st = S.study, box = $('slices');
  Object.keys(S.charts).forEach(function (k) { if (k.indexOf('c-slice-') === 0) { S.charts[k].destroy(); delete S.charts[k]; } });
  clear(box);
  st.params.forEach(function (p, i) {
    var wrap = el('div'), cv = el('canvas');
    cv.id = 'c-slice-' + i;
    wrap.className = 'chart';
    wrap.appendChild(cv);
    box.appendChild(wrap);
    var by = {};
    st.trials.forEach(function (t) {
      var v = t.params[p.name];
      if (v === null || v === undefined || t.value === null) return;
      var x = p.kind === 'categorical' ? p.choices.indexOf(v) + (((t.number * 37) % 11) - 5) / 40 : v;
      (by[t.state] = by[t.state] || []).push({ x: x, y: t.value, trial: t.number });
    });
    var sets = Object.keys(by).map(function (k) {
      var s = STATE_STYLE[k];
      return { label: k, data: by[k], pointStyle: s.point, borderColor: s.color, backgroundColor: s.color, pointRadius: 4 };
    });
    var xs = { title: { display: true, text: p.name } };
    if (p.kind === 'categorical') {
      xs.type = 'linear';
      xs.min = -0.5; xs.max = p.choices.length - 0.5;
      xs.afterBuildTicks = function (ax) { ax.ticks = p.choices.map(function (c, k) { return { value: k }; }); };
      xs.ticks = { autoSkip: false, callback: function (v) { return p.choices[v]; } };
    } else {
      xs.type = p.log ? 'logarithmic' : 'linear';
    }
    chart(cv.id, { type: 'scatter', data: { datasets: sets }, options: {
      scales: { x: xs, y: { title: { display: true, text: st.metric } } }, onClick: pickTrial,
      plugins: { tooltip: { callbacks: { label: pointLabel } } } } });
  });
}

/* ---- learning curves, with the schedulers' decisions ---- */

function curveEvents(t) {
  var hb = hbOf(t), ev = [];
  if (hb && hb.rung_value) {
    hb.rung_value.forEach(function (v, r) {
      if (v === null) return;
      var kind = r < hb.rung ? 'promoted' : hb.status === 'stopped' ? 'pruned' : hb.status === 'paused' ? 'paused' : null;
      if (kind) ev.push({ kind: kind, x: hb.rung_budget[r], y: v });
    });
  } else if (t.curve.length && (t.state === 'pruned' || t.state === 'paused')) {
    var last = t.curve[t.curve.length - 1];
    ev.push({ kind: t.state, x: last[0], y: last[1] });
  }
  return ev;
}

function drawCurves() {
  var st = S.study, sets = [], evs = { promoted: [], paused: [], pruned: [] };
  /* a study whose trials report no intermediate values (a function or command objective) has no curves */
  var on = st.trials.some(function (t) { return t.curve.length; });
  $('s-curves').hidden = !on;
  if (!on) { if (S.charts['c-curves']) { S.charts['c-curves'].destroy(); delete S.charts['c-curves']; } return; }
  st.trials.forEach(function (t) {
    if (!t.curve.length) return;
    var s = STATE_STYLE[t.state] || STATE_STYLE.waiting;
    /* a curve of one evaluation is a dot, not an invisible line */
    sets.push({ label: 'trial ' + t.number, data: t.curve.map(function (p) { return { x: p[0], y: p[1], trial: t.number }; }),
                borderColor: s.color + '99', backgroundColor: s.color + '99', borderWidth: 1,
                pointRadius: t.curve.length === 1 ? 2 : 0, showLine: true, curve: true });
    curveEvents(t).forEach(function (e) { evs[e.kind].push({ x: e.x, y: e.y, trial: t.number }); });
  });
  var look = { promoted: ['triangle', '#2e7d32'], paused: ['rect', '#1565c0'], pruned: ['crossRot', '#ef6c00'] };
  Object.keys(evs).forEach(function (k) {
    if (evs[k].length) sets.push({ label: k, data: evs[k], pointStyle: look[k][0], borderColor: look[k][1], backgroundColor: look[k][1],
                                    pointRadius: 6, borderWidth: 2, showLine: false });
  });
  chart('c-curves', { type: 'scatter', data: { datasets: sets }, options: {
    scales: { x: { title: { display: true, text: 'step (budget)' } }, y: { title: { display: true, text: st.metric } } },
    onClick: pickTrial, plugins: { legend: { labels: { filter: function (it, d) { return !d.datasets[it.datasetIndex].curve; } } },
                                   tooltip: { callbacks: { label: pointLabel } } } } });
}

/* ---- parallel coordinates (plain canvas) with brushing ---- */

function pcAxes(st) {
  var axes = st.params.map(function (p) {
    var vals = st.trials.map(function (t) { return t.params[p.name]; });
    if (p.kind === 'categorical')
      return { name: p.name, key: p.name, pos: function (v) { return p.choices.length > 1 ? p.choices.indexOf(v) / (p.choices.length - 1) : 0.5; },
               ticks: p.choices.map(function (c, i) { return [p.choices.length > 1 ? i / (p.choices.length - 1) : 0.5, c]; }) };
    var lo = p.low, hi = p.high, f = p.log ? Math.log : function (x) { return x; }, fi = p.log ? Math.exp : f;
    return { name: p.name, key: p.name, pos: function (v) { return (f(v) - f(lo)) / ((f(hi) - f(lo)) || 1); },
             val: function (u) { return fi(f(lo) + u * (f(hi) - f(lo))); }, ticks: [[0, fmt(lo)], [1, fmt(hi)]] };
  });
  var ys = st.trials.filter(function (t) { return t.value !== null; }).map(function (t) { return t.value; });
  var lo = Math.min.apply(null, ys.length ? ys : [0]), hi = Math.max.apply(null, ys.length ? ys : [1]);
  axes.push({ name: st.metric, key: null, pos: function (v) { return (v - lo) / ((hi - lo) || 1); },
              val: function (u) { return lo + u * (hi - lo); }, ticks: [[0, fmt(lo)], [1, fmt(hi)]] });
  return axes;
}

/* The brushed ranges in the parameters' own units, for people. */
function brushWords(axes) {
  return axes.filter(function (a) { return S.brush[a.name]; }).map(function (a) {
    var b = S.brush[a.name];
    if (!a.val) return a.name + ': ' + a.ticks.filter(function (tk) { return tk[0] >= b[0] && tk[0] <= b[1]; }).map(function (tk) { return tk[1]; }).join(', ');
    return a.name + ' from ' + fmt(a.val(b[0])) + ' to ' + fmt(a.val(b[1]));
  }).join('; ');
}

function drawParcoords() {
  var st = S.study, cv = $('c-parcoords'), box = cv.parentNode;
  var W = cv.width = box.clientWidth || 900, H = cv.height = box.clientHeight || 320, g = cv.getContext('2d');
  var axes = pcAxes(st), pad = 40, top = 20, bot = H - 30;
  var ax = function (i) { return pad + i * (W - 2 * pad) / Math.max(1, axes.length - 1); };
  var yOf = function (u) { return bot - u * (bot - top); };
  var sel = [];
  g.clearRect(0, 0, W, H);
  st.trials.forEach(function (t) {
    var us = axes.map(function (a) { var v = a.key === null ? t.value : t.params[a.key]; return v === null || v === undefined ? null : a.pos(v); });
    var inside = axes.every(function (a, i) { var b = S.brush[a.name]; return !b || (us[i] !== null && us[i] >= b[0] && us[i] <= b[1]); });
    if (inside) sel.push(t.number);
    var s = STATE_STYLE[t.state] || STATE_STYLE.waiting;
    g.strokeStyle = inside ? s.color : '#dddddd';
    g.globalAlpha = inside ? 0.8 : 0.4;
    g.setLineDash(t.state === 'pruned' ? [4, 3] : []);
    g.beginPath();
    var started = false;
    us.forEach(function (u, i) {
      if (u === null) { started = false; return; }
      if (started) g.lineTo(ax(i), yOf(u)); else g.moveTo(ax(i), yOf(u));
      started = true;
    });
    g.stroke();
  });
  g.globalAlpha = 1; g.setLineDash([]); g.fillStyle = '#222'; g.strokeStyle = '#222'; g.font = '11px sans-serif'; g.textAlign = 'center';
  axes.forEach(function (a, i) {
    g.beginPath(); g.moveTo(ax(i), top); g.lineTo(ax(i), bot); g.stroke();
    g.fillText(a.name, ax(i), H - 10);
    a.ticks.forEach(function (tk) { g.fillText(String(tk[1]), ax(i), yOf(tk[0]) + (tk[0] === 1 ? -4 : tk[0] === 0 ? 12 : 4)); });
    var b = S.brush[a.name];
    if (b) { g.fillStyle = 'rgba(21,101,192,0.25)'; g.fillRect(ax(i) - 8, yOf(b[1]), 16, yOf(b[0]) - yOf(b[1])); g.fillStyle = '#222'; }
  });
  var words = brushWords(axes), cnt = $('parcoords-count');
  cnt.textContent = sel.length + ' of ' + st.trials.length + ' trials selected' + (words ? ' (' + words + ')' : '') + '; dashed: pruned';
  /* the highlighted trials, for the browser tests */
  cnt.dataset.selected = sel.join(',');
  S.pc = { axes: axes, ax: ax, top: top, bot: bot };
}

function pcMouse(cv) {
  var drag = null;
  function at(ev) { var r = cv.getBoundingClientRect(); return { x: ev.clientX - r.left, y: ev.clientY - r.top }; }
  function unit(y) { return Math.max(0, Math.min(1, (S.pc.bot - y) / (S.pc.bot - S.pc.top))); }
  cv.addEventListener('mousedown', function (ev) {
    if (!S.pc) return;
    var p = at(ev);
    S.pc.axes.forEach(function (a, i) { if (Math.abs(p.x - S.pc.ax(i)) < 14) drag = { name: a.name, y0: p.y, moved: false }; });
  });
  cv.addEventListener('mousemove', function (ev) {
    if (!drag) return;
    var y = at(ev).y;
    drag.moved = true;
    S.brush[drag.name] = [unit(Math.max(y, drag.y0)), unit(Math.min(y, drag.y0))];
    drawParcoords();
  });
  window.addEventListener('mouseup', function () {
    if (drag && !drag.moved) { delete S.brush[drag.name]; drawParcoords(); }
    drag = null;
  });
}

/* ---- parameter importance: the hook (report/dashboard_api.c api_importance) ---- */

function drawImportance() {
  var box = $('importance');
  var gen = S.gen;
  /* fANOVA needs two complete trials: say so without asking (a 4xx is an error on the browser's console) */
  if ((S.study.counts.complete || 0) < 2) { clear(box); box.appendChild(el('p', 'Parameter importance needs at least 2 complete trials.', 'hint')); return; }
  api('/api/importance?id=' + S.id).then(function (j) {
    if (gen !== S.gen) return;
    clear(box);
    /* the columns and the 4 decimals of `tunelab importance` */
    var t = el('table'), d4 = function (v) { return v === null || v === undefined ? '–' : v.toFixed(4); };
    t.appendChild(row(['parameter', 'importance', 'sd', 'min', 'max', ''], true));
    j.params.forEach(function (p) {
      var bar = el('td'), b = el('span', null, 'bar');
      b.style.width = Math.round(200 * Math.max(0, Math.min(1, p.importance))) + 'px';
      bar.appendChild(b);
      t.appendChild(row([p.name, d4(p.importance), d4(p.sd), d4(p.min), d4(p.max), bar]));
    });
    box.appendChild(t);
    box.appendChild(el('p', 'fANOVA on ' + j.trees + '-tree random forests, ' + j.seeds + ' seeds, ' + j.trials + ' complete trials (as `tunelab importance`).', 'hint'));
  }, function (e) { if (gen !== S.gen) return; clear(box); box.appendChild(el('p', e.message, 'hint')); });
}

/* ---- Hyperband brackets and rungs ---- */

function drawHyperband() {
  var st = S.study, br = {};
  st.trials.forEach(function (t) {
    var hb = hbOf(t);
    if (!hb) return;
    var key = (hb.iteration || 0) + '/' + hb.bracket;
    var b = br[key] = br[key] || { it: hb.iteration || 0, bracket: hb.bracket, budget: hb.rung_budget, planned: hb.rung_n || [], reached: [] };
    for (var r = 0; r <= hb.rung; r++) b.reached[r] = (b.reached[r] || 0) + 1;
  });
  var keys = Object.keys(br).sort(function (a, b) { return br[a].it - br[b].it || br[a].bracket - br[b].bracket; });
  $('s-hyperband').hidden = !keys.length;
  var box = $('hyperband');
  clear(box);
  if (!keys.length) return;
  var tab = el('table');
  tab.appendChild(row(['iteration', 'bracket', 'rung', 'budget', 'planned trials', 'trials that reached it', 'promoted from it'], true));
  keys.forEach(function (k) {
    var b = br[k];
    b.budget.forEach(function (bu, r) {
      tab.appendChild(row([r ? '' : b.it, r ? '' : b.bracket, r, fmt(bu), b.planned[r] === undefined ? '–' : b.planned[r],
                           b.reached[r] || 0, b.reached[r + 1] || 0]));
    });
  });
  box.appendChild(tab);
}

/* ---- PBT lineage ---- */

function lineageOf(t) {
  try { var l = t.attrs['pbt.lineage'] ? JSON.parse(t.attrs['pbt.lineage']) : null; return Array.isArray(l) ? l : l && l.entries; } catch (e) { return null; }
}

function drawPbt() {
  var st = S.study, members = st.trials.filter(function (t) { return lineageOf(t); });
  $('s-pbt').hidden = !members.length;
  if (!members.length) return;
  var lane = {}, sets = [], ex = [];
  members.forEach(function (t, i) { lane[t.number] = i; });
  members.forEach(function (t) {
    var l = lineageOf(t), pts = l.map(function (e) { return { x: e.step, y: lane[t.number], trial: t.number }; });
    sets.push({ label: 'member ' + t.number, data: pts, showLine: true, borderColor: '#90a4ae', pointRadius: 2, lane: true });
    l.forEach(function (e) {
      if (e.kind === 'exploit' && lane[e.src] !== undefined)
        ex.push({ label: 'exploit', data: [{ x: e.pos, y: lane[e.src], trial: e.src }, { x: e.step, y: lane[t.number], trial: t.number }],
                  showLine: true, borderColor: '#ef6c00', borderWidth: 2, pointRadius: [0, 5], pointStyle: 'triangle', exploit: true });
    });
  });
  chart('c-pbt', { type: 'scatter', data: { datasets: sets.concat(ex) }, options: {
    layout: { padding: { bottom: 10 } },
    scales: { x: { title: { display: true, text: 'step' } },
              y: { title: { display: true, text: 'member' }, ticks: { stepSize: 1, callback: function (v) { return members[v] ? '#' + members[v].number : ''; } } } },
    onClick: pickTrial,
    plugins: { legend: { position: 'top', labels: { filter: function (it, d) { var s = d.datasets[it.datasetIndex]; return s.exploit ? it.datasetIndex === sets.length : false; } } } } } });
}

/* ---- the GP of a bayes study ---- */

function drawGp() {
  var st = S.study, on = st.sampler === 'bayes', selp = $('gp-param');
  $('s-gp').hidden = !on;
  if (!on) return;
  var want = selp.value;
  clear(selp);
  st.params.forEach(function (p) { if (p.kind !== 'categorical') { var o = el('option', p.name); o.value = p.name; selp.appendChild(o); } });
  if (want) selp.value = want;
  var gen = S.gen;
  if ((st.counts.complete || 0) < 2) {
    ['c-gp', 'c-acq'].forEach(function (k) { if (S.charts[k]) { S.charts[k].destroy(); delete S.charts[k]; } });
    $('gp-note').textContent = 'The GP needs at least 2 complete trials.'; $('status').dataset.gp = ''; return;
  }
  api('/api/gp?id=' + S.id + '&param=' + encodeURIComponent(selp.value)).then(function (g) {
    if (gen !== S.gen) return;
    var xy = function (a) { return g.x.map(function (x, i) { return { x: x, y: a[i] }; }); };
    var lo = g.mean.map(function (m, i) { return m - 2 * g.sd[i]; }), hi = g.mean.map(function (m, i) { return m + 2 * g.sd[i]; });
    var xs = { type: g.log ? 'logarithmic' : 'linear', min: g.x[0], max: g.x[g.x.length - 1], title: { display: true, text: g.param } };
    chart('c-gp', { type: 'scatter', data: { datasets: [
      { label: 'mean − 2 sd', data: xy(lo), showLine: true, pointRadius: 0, borderColor: '#90caf9', borderWidth: 1 },
      { label: 'mean + 2 sd', data: xy(hi), showLine: true, pointRadius: 0, borderColor: '#90caf9', borderWidth: 1, fill: '-1', backgroundColor: 'rgba(144,202,249,0.3)' },
      { label: 'GP mean', data: xy(g.mean), showLine: true, pointRadius: 0, borderColor: '#1565c0', borderWidth: 2 },
      { label: 'trials (projected)', data: g.obs.map(function (o) { return { x: o[0], y: o[1] }; }), pointRadius: 4, borderColor: '#263238', backgroundColor: '#263238' }] },
      options: { scales: { x: xs, y: { title: { display: true, text: st.metric } } } } });
    /* a log acquisition spans thousands of nats where it is ~0: show the top 20 */
    var amax = Math.max.apply(null, g.acq.filter(function (a) { return a !== null; }));
    var ay = /log/.test(g.acq_label) && isFinite(amax) ? { min: Math.floor(amax - 20) } : {};
    chart('c-acq', { type: 'scatter', data: { datasets: [{ label: g.acq_label, data: xy(g.acq), showLine: true, pointRadius: 0, borderColor: '#6a1b9a' }] },
      options: { scales: { x: xs, y: ay } } });
    $('gp-note').textContent = 'GP fitted to ' + g.k + ' complete trials; the other parameters at the best trial.';
    $('status').dataset.gp = g.param;
  }, function (e) { $('gp-note').textContent = e.message; $('status').dataset.gp = ''; });
}

/* ---- NAS: the Pareto front ---- */

function drawPareto() {
  var st = S.study, on = st.sampler === 'evolution' || st.attrs.pareto_front !== undefined;
  $('s-pareto').hidden = !on;
  if (!on) return;
  var all = [], front = [];
  st.trials.forEach(function (t) {
    var pc = parseFloat(t.attrs.params);
    if (t.state !== 'complete' || t.value === null || !(pc > 0)) return;
    (t.pareto ? front : all).push({ x: pc, y: t.value, trial: t.number });
  });
  front.sort(function (a, b) { return a.x - b.x; });
  chart('c-pareto', { type: 'scatter', data: { datasets: [
    { label: 'architectures', data: all, borderColor: '#90a4ae', backgroundColor: '#90a4ae' },
    { label: 'Pareto front', data: front, showLine: true, stepped: true, borderColor: '#c62828', backgroundColor: '#c62828', pointRadius: 5 }] },
    options: { onClick: pickTrial, scales: { x: { type: 'logarithmic', title: { display: true, text: 'parameters' } },
                                             y: { title: { display: true, text: st.metric } } } } });
}

/* ---- NAS: the family tree (nas.inherit) ---- */

/* Each trial under its parent, with its architecture, its value and how it
 * started (the server's "family": report_family_how's words, as in
 * `tunelab report`).  Trials whose parent is not in the study are roots. */
function drawFamily() {
  var st = S.study, box = $('family'), kids = { root: [] }, has = {}, nin = 0, nscratch = 0;
  var on = st.trials.some(function (t) { return t.attrs.inherit !== undefined; });
  $('s-family').hidden = !on;
  clear(box);
  if (!on) return;
  st.trials.forEach(function (t) { has[t.number] = true; });
  st.trials.forEach(function (t) {
    var p = t.parent !== null && has[t.parent] && t.parent !== t.number ? t.parent : 'root';
    (kids[p] = kids[p] || []).push(t);
    if (t.attrs.inherit !== undefined) { nin++; if (/^from scratch/.test(t.family)) nscratch++; }
  });
  function node(t, depth) {
    var li = el('li'), link = el('a', 'trial ' + t.number, 'trial-link'), arch = [];
    li.dataset.trial = t.number;
    link.href = '#' + S.id + '/' + t.number;
    li.appendChild(link);
    st.params.forEach(function (p) { var v = t.params[p.name]; if (v !== null && v !== undefined) arch.push(p.name + '=' + fmt(v)); });
    li.appendChild(document.createTextNode(' ' + st.metric + ' = ' + fmt(t.value) + (t.number === st.best ? ' (best)' : '') + ': ' + arch.join(' ')));
    if (t.parent !== null) li.appendChild(el('span', ' \u2190 trial ' + t.parent + ': ' + (t.family || 'mutated'), 'family-how'));
    var ks = kids[t.number];
    if (ks && depth < 256) {
      var ul = el('ul');
      ks.forEach(function (k) { ul.appendChild(node(k, depth + 1)); });
      li.appendChild(ul);
    }
    return li;
  }
  box.appendChild(el('p', nin + ' children: ' + (nin - nscratch) + ' inherited their parent\'s weights, ' + nscratch + ' trained from scratch.', 'hint'));
  var ul = el('ul');
  kids.root.forEach(function (t) { ul.appendChild(node(t, 0)); });
  box.appendChild(ul);
}

/* ---- the trials table and one trial's details ---- */

function drawTrials() {
  var st = S.study, th = $('trials').tHead, tb = $('trials').tBodies[0];
  clear(th); clear(tb);
  th.appendChild(row(['trial', 'state', st.metric, 'budget'].concat(st.params.map(function (p) { return p.name; })).concat(['reason']), true));
  st.trials.forEach(function (t) {
    var tr = row([t.number, el('td', t.state, 'state-' + t.state), fmt(t.value), fmt(t.budget)]
                 .concat(st.params.map(function (p) { return fmt(t.params[p.name]); })).concat([t.reason]));
    tr.addEventListener('click', function () { showTrial(t.number); });
    tb.appendChild(tr);
  });
}

function hbWords(hb) {
  return hb.scheduler + ': bracket ' + hb.bracket + ', reached rung ' + hb.rung + ' (budget ' + fmt(hb.rung_budget[hb.rung]) + '), ' + hb.status;
}

/* An attribute for people: numbers to 4 digits, the schedulers' records in words. */
function attrWords(k, v) {
  var x = Number(v);
  if (v !== '' && isFinite(x)) return fmt(x);
  try {
    var j = JSON.parse(v);
    if (k === 'paused_at' && j) return 'paused at budget ' + fmt(j.budget) + ' (step ' + fmt(j.step) + '), value ' + fmt(j.value);
    if (Array.isArray(j)) return j.length + ' records';
    if (j && typeof j === 'object')
      return Object.keys(j).filter(function (f) { return typeof j[f] !== 'object'; }).map(function (f) { return f + ' ' + fmt(j[f]); }).join(', ');
  } catch (e) { /* plain text */ }
  return v;
}

function showTrial(n) {
  var st = S.study, t = trialByNumber(n);
  if (!t) return;
  S.detail = n;
  $('detail').hidden = false;
  $('detail-title').textContent = 'Trial ' + t.number;
  var tab = $('detail-table');
  clear(tab);
  tab.appendChild(krow('state', el('td', t.state, 'state-' + t.state)));
  tab.appendChild(krow(st.metric, fmt(t.value)));
  tab.appendChild(krow('budget', fmt(t.budget)));
  if (t.parent !== null) tab.appendChild(krow('parent', '#' + t.parent + (t.family ? ' (' + t.family + ')' : '')));
  if (t.reason) tab.appendChild(krow('reason', t.reason));
  var hb = hbOf(t);
  if (hb) tab.appendChild(krow('scheduler', hbWords(hb)));
  st.params.forEach(function (p) { tab.appendChild(krow(p.name, fmt(t.params[p.name]))); });
  $('detail-command').textContent = t.command || '(the ' + (st.objective || '?') + ' objective: run the study again to re-evaluate)';
  var at = $('detail-attrs');
  clear(at);
  Object.keys(t.attrs).forEach(function (k) { if (k !== 'hb') at.appendChild(krow(k, attrWords(k, t.attrs[k]))); });
  var ev = curveEvents(t), look = { promoted: 'triangle', paused: 'rect', pruned: 'crossRot' };
  $('detail-chart').hidden = !t.curve.length;
  chart('c-detail', { type: 'scatter', data: { datasets: [
    { label: 'trial ' + t.number, data: t.curve.map(function (p) { return { x: p[0], y: p[1] }; }), showLine: true, borderColor: '#1565c0' }]
    .concat(Object.keys(look).filter(function (k) { return ev.some(function (e) { return e.kind === k; }); }).map(function (k) {
      return { label: k, data: ev.filter(function (e) { return e.kind === k; }).map(function (e) { return { x: e.x, y: e.y }; }),
               pointStyle: look[k], pointRadius: 7, borderColor: '#ef6c00' }; })) },
    options: { scales: { x: { title: { display: true, text: 'step' } } } } });
}

/* ---- loading and live updates ---- */

function drawStudy() {
  S.gen++;
  drawStudies();
  drawHistory();
  drawParcoords();
  drawSlices();
  drawImportance();
  drawCurves();
  drawHyperband();
  drawPbt();
  drawGp();
  drawPareto();
  drawFamily();
  drawTrials();
  if (S.detail !== undefined && trialByNumber(S.detail)) showTrial(S.detail);
}

function loadStudy() {
  return api('/api/study?id=' + S.id).then(function (st) {
    S.study = st;
    var s = S.studies[S.id];
    if (s && !s.error) Object.assign(s, { ntrials: st.ntrials, counts: st.counts, best: st.best, best_value: st.best_value, version: st.version });
    drawStudy();
    if ($('status').dataset.ready !== '1') { $('status').dataset.first = st.trials.length; $('live').textContent = 'live: loaded ' + new Date().toLocaleTimeString(); }
    $('status').dataset.ready = '1';
  });
}

function poll(id) {
  if (id !== S.id || !S.study) return;
  api('/api/wait?id=' + id + '&version=' + S.study.version + '&ms=' + S.pollMs).then(function (w) {
    $('live').textContent = 'live: updated ' + new Date().toLocaleTimeString();
    if (id !== S.id) return null;
    if (!w.changed) return null;
    return loadStudy().then(function () { S.updates++; $('status').dataset.updates = S.updates; });
  }).then(function () { setTimeout(function () { poll(id); }, 500); },
          function (e) { $('live').textContent = 'disconnected: ' + e.message + ' (retrying)'; setTimeout(function () { poll(id); }, 3000); });
}

/* The address names the study and, optionally, a trial: #ID or #ID/TRIAL. */
function select() {
  var m = /^#(\d+)(?:\/(\d+))?$/.exec(location.hash), id = m ? parseInt(m[1], 10) : 0;
  var tr = m && m[2] !== undefined ? parseInt(m[2], 10) : undefined;
  if (!(id >= 0 && id < S.studies.length)) id = 0;
  if (id === S.id) { if (tr !== undefined) showTrial(tr); return; }
  S.id = id; S.brush = {}; S.detail = tr; $('detail').hidden = true;
  loadStudy().then(function () { poll(id); }, function (e) { $('errors').textContent += 'study ' + id + ': ' + e.message + '\n'; });
}

document.addEventListener('DOMContentLoaded', function () {
  (window.tlEarlyErrors || []).forEach(function (m) { $('errors').textContent += m + '\n'; });
  if (typeof Chart === 'undefined') { console.error('Chart.js did not load (/chart.min.js)'); return; }
  pcMouse($('c-parcoords'));
  $('gp-param').addEventListener('change', drawGp);
  $('detail-close').addEventListener('click', function () { $('detail').hidden = true; S.detail = undefined; });
  window.addEventListener('hashchange', select);
  window.addEventListener('resize', function () { if (S.study) drawParcoords(); });
  api('/api/studies').then(function (list) { S.studies = list; drawStudies(); select(); },
                           function (e) { console.error('studies: ' + e.message); });
});
