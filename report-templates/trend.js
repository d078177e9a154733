/*
 * perfsight trend's page: one small line chart per series of the perfsight-trend/1 document
 * (docs/trend.md) embedded in it, in inline SVG; each point a capture, linked to its report
 * when the document names one, and selectable to show its figures. Rules as in report.js: no
 * network, no eval, names only ever as text.
 */
(function () {
	'use strict';

	var D = JSON.parse(document.getElementById('perfsight-data').textContent || '{}');
	var CAPS = D.captures || [];
	var SERIES = D.series || [];
	var NS = 'http://www.w3.org/2000/svg';
	var W = 560, H = 130, PAD = 34;

	var $ = PerfsightPage.$, el = PerfsightPage.el, clear = PerfsightPage.clear;
	function svg(tag, attrs) {
		var e = document.createElementNS(NS, tag);
		Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
		return e;
	}
	function fmt(s, v) {
		if (v === null || v === undefined)
			return 'not measured';
		if (s.unit === 'share')
			return (100 * v).toFixed(2) + '%';
		if (s.unit === 'count')
			return Math.round(v).toLocaleString('en-US');
		return Number(v).toFixed(3) + (s.unit === 'ms' ? ' ms' : s.unit === 'seconds' ? ' s' : '');
	}
	var TITLES = {samples: 'Samples', cpu_per_worker_s: 'CPU seconds per worker', gc_share: 'GC share',
		gc_pause_p99_ms: 'GC pause p99', gil_wait_share: 'GIL wait share',
		cut_stack_share: 'Cut stacks'};

	function select(i) {
		var c = CAPS[i], box = clear($('capture-detail'));
		function row(k, v) {
			box.appendChild(el('dt', null, k));
			var dd = el('dd', null, v);
			box.appendChild(dd);
			return dd;
		}
		row('Capture', '#' + c.id + ' ' + c.label);
		row('Imported', c.imported_at || '');
		SERIES.forEach(function (s) { row(TITLES[s.name] || s.name, fmt(s, s.values[i])); });
		if (c.report) {
			var dd = row('Report', '');
			var a = el('a', null, c.report);
			a.href = c.report;
			dd.appendChild(a);
		} else {
			row('Report', 'perfsight report DB --capture ' + c.id + ' -o report.html');
		}
		document.documentElement.dataset.selected = String(c.id);
	}

	function chart(s) {
		var fig = el('figure', 'chart');
		fig.style.maxWidth = '40rem';
		fig.style.margin = '0';
		var cap = el('figcaption', null, (TITLES[s.name] || s.name) +
			(s.kind === 'function' ? ' (total share)' : ''));
		fig.appendChild(cap);
		var vals = s.values, n = vals.length;
		var lo = Infinity, hi = -Infinity;
		vals.forEach(function (v) {
			if (v === null)
				return;
			lo = Math.min(lo, v);
			hi = Math.max(hi, v);
		});
		if (lo === Infinity) {
			fig.appendChild(el('p', 'hint', 'not measured by any capture'));
			return fig;
		}
		if (s.unit === 'share' || s.unit === 'count')
			lo = Math.min(lo, 0);
		if (hi === lo)
			hi = lo + (Math.abs(lo) || 1);
		var g = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img'});
		g.setAttribute('aria-label', (TITLES[s.name] || s.name) + ' over ' + n + ' captures');
		function x(i) { return PAD + (n > 1 ? i * (W - PAD - 8) / (n - 1) : (W - PAD) / 2); }
		function y(v) { return H - 18 - (v - lo) / (hi - lo) * (H - 30); }
		g.appendChild(svg('line', {x1: PAD, y1: H - 18, x2: W - 4, y2: H - 18, stroke: 'currentColor',
			'stroke-opacity': '0.3'}));
		var top = svg('text', {x: 2, y: 12, 'font-size': '10', fill: 'currentColor'});
		top.textContent = fmt(s, hi);
		g.appendChild(top);
		var bottom = svg('text', {x: 2, y: H - 20, 'font-size': '10', fill: 'currentColor'});
		bottom.textContent = fmt(s, lo);
		g.appendChild(bottom);
		var d = '', pen = false;
		vals.forEach(function (v, i) {
			if (v === null) {
				pen = false;
				return;
			}
			d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
			pen = true;
		});
		g.appendChild(svg('path', {d: d, fill: 'none', stroke: 'var(--accent)', 'stroke-width': '1.5'}));
		var r = n > 200 ? 1.5 : 3;
		vals.forEach(function (v, i) {
			if (v === null)
				return;
			var c = CAPS[i];
			var dot = svg('circle', {cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: r, fill: 'var(--accent)',
				tabindex: '0', 'data-capture': String(c.id)});
			var t = svg('title');
			t.textContent = c.label + ': ' + fmt(s, v);
			dot.appendChild(t);
			dot.addEventListener('click', function () { select(i); });
			dot.addEventListener('keydown', function (ev) {
				if (ev.key === 'Enter')
					select(i);
			});
			if (c.report) {
				var a = svg('a', {href: c.report});
				a.appendChild(dot);
				g.appendChild(a);
			} else {
				g.appendChild(dot);
			}
		});
		fig.appendChild(g);
		return fig;
	}

	function table() {
		var body = clear($('captures').tBodies[0]);
		var head = el('tr');
		['#', 'Capture', 'Imported'].concat(SERIES.filter(function (s) { return s.kind === 'figure'; })
			.map(function (s) { return TITLES[s.name] || s.name; })).forEach(function (h) {
			head.appendChild(el('th', null, h));
		});
		body.appendChild(head);
		var frag = document.createDocumentFragment();
		CAPS.forEach(function (c, i) {
			var tr = el('tr');
			tr.tabIndex = 0;
			tr.appendChild(el('td', 'num', c.id));
			var name = el('td');
			if (c.report) {
				var a = el('a', null, c.label);
				a.href = c.report;
				name.appendChild(a);
			} else {
				name.textContent = c.label;
			}
			tr.appendChild(name);
			tr.appendChild(el('td', null, c.imported_at || ''));
			SERIES.forEach(function (s) {
				if (s.kind === 'figure')
					tr.appendChild(el('td', 'num', fmt(s, s.values[i])));
			});
			tr.addEventListener('click', function () { select(i); });
			frag.appendChild(tr);
		});
		body.appendChild(frag);
	}

	$('about').textContent = CAPS.length + ' captures in ' + (D.order === 'label' ? 'label' : 'import') +
		' order' + (D.unfigured ? '; ' + D.unfigured + ' without stored figures (samples only)' : '');
	var box = $('chart-box');
	SERIES.forEach(function (s) { box.appendChild(chart(s)); });
	table();
	document.documentElement.dataset.ready = '1';
})();
