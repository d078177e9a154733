/*
 * perfsight diff's page: draws the perfsight-diff/1 document (docs/diff.md) embedded in it: the
 * verdict, the significant changes, the differential flame graph (flame.js) in the three views
 * and either shape, the category and role shares, GC and GIL, the endpoints.
 * Rules as in report.js: no network, no eval, names only ever as text. View, shape, zoom,
 * search and orientation live in the URL hash.
 */
(function () {
	'use strict';

	var D = JSON.parse(document.getElementById('perfsight-data').textContent || '{}');
	var S = D.strings || [];
	var TREES = D.trees || {};
	var N1 = (D.base || {}).samples || 0, N2 = (D.new || {}).samples || 0;
	var state = {view: 'python', shape: 'new'};
	var cache = {};

	var P = PerfsightPage, $ = P.$, el = P.el, add = P.add, clear = P.clear, td = P.td;
	function pct(x) { return x === null || x === undefined ? 'n/a' : (100 * x).toFixed(2) + '%'; }
	function pts(x) { return (x >= 0 ? '+' : '') + x.toFixed(2) + ' pts'; }
	function pval(p) { return p === null || p === undefined ? '' : p < 1e-4 ? '< 0.0001' : p.toFixed(4); }

	/* ---- summary ---- */
	function summary() {
		var meta = clear($('meta'));
		[['Base', D.base], ['New', D.new]].forEach(function (x) {
			var s = x[1] || {};
			add(meta, el('dt', null, x[0]), el('dd', null, (s.label || '?') + ' — ' +
				(s.samples || 0).toLocaleString('en-US') + ' samples' +
				(s.duration_s ? ', ' + s.duration_s.toFixed(1) + ' s' : '')));
		});
		var m = D.method || {};
		add(meta, el('dt', null, 'View'), el('dd', null, m.view || ''));
		var v = clear($('verdict'));
		var ch = D.changes || [];
		var grew = 0, shrank = 0;
		ch.forEach(function (c) {
			var r = row(c);
			if (r && r.delta_pts > 0)
				grew++;
			else if (r)
				shrank++;
		});
		add(v, el('li', null, ch.length ? ch.length + ' significant changes: ' + grew +
			' grew, ' + shrank + ' shrank' : 'No change beyond sampling noise'));
		var gc = (D.figures || {}).gc_share;
		if (gc && gc.comparable)
			add(v, el('li', null, 'GC share ' + pct(gc.base) + ' → ' + pct(gc.new) + ' (' +
				(gc.significant ? 'beyond noise' : 'within noise') + ')'));
		var w = clear($('warnings'));
		(D.warnings || []).forEach(function (s) { add(w, el('li', null, s)); });
		if (!(D.warnings || []).length)
			add(w, el('li', 'info', 'none'));
		$('method').textContent = 'Each row is a two-proportion test of its share of the samples, ' +
			(m.correction === 'benjamini-hochberg' ? 'Benjamini-Hochberg' : 'Holm') +
			'-adjusted over its table, alpha ' + m.alpha + '; changes under ' + m.min_delta_pts +
			' pts are not reported; the rest of the program moved x' +
			Number(m.composition_scale || 1).toFixed(3) + ', dispersion ' +
			Number(m.dispersion || 1).toFixed(2) + ' (docs/diff-statistics.md).';
	}
	function row(c) {
		var t = {self: 'functions_self', total: 'functions_total', path: 'paths'}[c.table];
		return t && D[t] ? D[t][c.row] : null;
	}
	function changes() {
		var body = clear($('changes-table').tBodies[0]);
		(D.changes || []).forEach(function (c) {
			var r = row(c);
			if (!r)
				return;
			var tr = el('tr', r.delta_pts > 0 ? 'grew' : 'shrank');
			var d = td(pts(r.delta_pts), 'num');
			d.style.color = r.delta_pts > 0 ? '#c0392b' : '#2166ac';
			add(body, add(tr, d, td(pct(r.base_share), 'num'), td(pct(r.new_share), 'num'),
				td(c.table), td(r.name), td(pval(r.p_adjusted), 'num')));
		});
		if (!body.firstChild)
			add(body, add(el('tr'), td('none beyond sampling noise')));
	}

	/* ---- the flame graph ---- */
	function currentTree() {
		var key = state.view + '/' + state.shape;
		var t = TREES[state.view];
		if (!t)
			return null;
		if (!cache[key]) {
			var w = state.shape === 'new' ? t.new : t.base;
			var T = PerfsightFlame.tree(t.parent, t.name, function (i) { return w[i]; }, S);
			T.src = t;
			cache[key] = T;
		}
		return cache[key];
	}
	function share(t, i) {
		return {b: N1 ? t.base[i] / N1 : 0, n: N2 ? t.new[i] / N2 : 0};
	}
	/* red grew, blue shrank (saturation by the change, full at 5 points), grey within noise */
	function colour(T, n) {
		var t = T.src, s = share(t, n), d = (s.n - s.b) * 100;
		var h = (S[t.name[n]] || '').length % 7;
		if (!t.sig[n])
			return 'hsl(0,0%,' + (74 + h) + '%)';
		var k = Math.min(1, Math.abs(d) / 5);
		return t.sig[n] > 0 ? 'hsl(4,' + (45 + 45 * k) + '%,' + (80 - 28 * k) + '%)'
			: 'hsl(214,' + (45 + 45 * k) + '%,' + (80 - 28 * k) + '%)';
	}
	function verdictOf(t, n) {
		return t.sig[n] > 0 ? 'grew' : t.sig[n] < 0 ? 'shrank' : 'within noise';
	}
	function tip(T, n) {
		var t = T.src, s = share(t, n);
		return (S[t.name[n]] || '') + '\nbase ' + pct(s.b) + ' (' + t.base[n] + ' samples)' +
			'\nnew ' + pct(s.n) + ' (' + t.new[n] + ' samples)\n' + pts((s.n - s.b) * 100) +
			', ' + verdictOf(t, n);
	}
	function cells(T, n) {
		var t = T.src, s = share(t, n);
		return [[pct(s.b), true], [pct(s.n), true], [pts((s.n - s.b) * 100), true],
			[verdictOf(t, n), false]];
	}
	var fg = PerfsightFlame.create({
		strings: S,
		colour: colour,
		tip: tip,
		cells: cells,
		amount: function (u) { return Math.round(u).toLocaleString('en-US') + ' samples'; },
		onChange: writeHash,
	});

	function readHash() {
		var h = location.hash.replace(/^#/, '');
		if (!/(^|&)(view|shape|zoom|q|icicle)=/.test(h))
			return;
		var p = new URLSearchParams(h);
		if (['python', 'mixed', 'native'].indexOf(p.get('view')) >= 0)
			state.view = p.get('view');
		state.shape = p.get('shape') === 'base' ? 'base' : 'new';
		fg.state.zoom = p.get('zoom') ? p.get('zoom').split('.').map(Number).filter(isFinite) : [];
		fg.state.q = p.get('q') || '';
		fg.state.icicle = p.get('icicle') === '1';
	}
	function writeHash() {
		var p = new URLSearchParams();
		p.set('view', state.view);
		p.set('shape', state.shape);
		if (fg.state.zoom.length)
			p.set('zoom', fg.state.zoom.join('.'));
		if (fg.state.q)
			p.set('q', fg.state.q);
		if (fg.state.icicle)
			p.set('icicle', '1');
		history.replaceState(null, '', '#' + p.toString());
	}
	function syncControls() {
		Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
			var v = b.getAttribute('data-view');
			b.setAttribute('aria-pressed', String(v === state.view));
			b.disabled = !TREES[v];
		});
		Array.prototype.forEach.call(document.querySelectorAll('[data-shape]'), function (b) {
			b.setAttribute('aria-pressed', String(b.getAttribute('data-shape') === state.shape));
		});
	}
	function drawFlame() {
		if (!TREES[state.view]) {
			var views = Object.keys(TREES);
			if (!views.length)
				return;
			state.view = views[0];
		}
		syncControls();
		fg.setTree(currentTree());
	}
	Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
		b.addEventListener('click', function () {
			state.view = b.getAttribute('data-view');
			writeHash();
			drawFlame();
		});
	});
	Array.prototype.forEach.call(document.querySelectorAll('[data-shape]'), function (b) {
		b.addEventListener('click', function () {
			state.shape = b.getAttribute('data-shape');
			writeHash();
			drawFlame();
		});
	});

	/* ---- shares, GC and GIL, endpoints ---- */
	function shareTable(id, rows) {
		var body = clear($(id).tBodies[0]);
		add(body, add(el('tr'), el('th', null, 'Name'), el('th', 'num', 'Base'),
			el('th', 'num', 'New'), el('th', 'num', 'Change'), el('th', null, 'Verdict')));
		(rows || []).forEach(function (r) {
			if (!r.base && !r.new)
				return;
			add(body, add(el('tr'), td(r.name), td(pct(r.base_share), 'num'),
				td(pct(r.new_share), 'num'), td(pts(r.delta_pts), 'num'),
				td(r.significant ? 'beyond noise' : 'within noise')));
		});
		if (!(rows || []).length)
			add(body, add(el('tr'), td('not comparable (no Python analysis of both captures)')));
	}
	function figs() {
		var body = clear($('figs').tBodies[0]);
		var labels = {gc_share: 'GC share', gc_pauses: 'GC pauses', gc_pause_p50_ms: 'GC pause p50 (ms)',
			gc_pause_p99_ms: 'GC pause p99 (ms)', gc_pause_max_ms: 'GC pause max (ms)',
			gil_wait_worker: 'GIL wait, workers', gil_wait_master: 'GIL wait, master',
			gil_wait_process: 'GIL wait, other processes', gil_wait_all: 'GIL wait, all',
			cut_stack_share: 'Cut stacks'};
		var isShare = {gc_share: 1, gil_wait_worker: 1, gil_wait_master: 1, gil_wait_process: 1,
			gil_wait_all: 1, cut_stack_share: 1};
		Object.keys(labels).forEach(function (k) {
			var f = (D.figures || {})[k];
			if (!f)
				return;
			var fmt = isShare[k] ? pct : function (x) { return x === null ? 'n/a' : Number(x).toFixed(3); };
			add(body, add(el('tr'), td(labels[k]), td(f.comparable ? fmt(f.base) : ''),
				td(f.comparable ? fmt(f.new) : ''),
				td(f.comparable ? (f.p === null ? 'measured' : f.significant ? 'beyond noise' :
					'within noise') : 'not comparable: ' + (f.why || ''))));
		});
	}
	function endpoints() {
		var ep = D.endpoints || [];
		if (!ep.length)
			return;
		$('endpoints').hidden = false;
		$('nav-ep').hidden = false;
		var body = clear($('ep').tBodies[0]);
		add(body, add(el('tr'), el('th', null, 'Endpoint'), el('th', 'num', 'Requests'),
			el('th', 'num', 'Median'), el('th', 'num', 'p95'), el('th', null, 'Verdict')));
		function ms(x) { return x === null ? 'n/a' : (x * 1000).toFixed(2) + ' ms'; }
		ep.forEach(function (e) {
			add(body, add(el('tr'), td(e.name), td(e.base_requests + ' → ' + e.new_requests, 'num'),
				td(ms(e.base_median_s) + ' → ' + ms(e.new_median_s), 'num'),
				td(ms(e.base_p95_s) + ' → ' + ms(e.new_p95_s), 'num'),
				td(e.significant ? 'beyond noise' : 'within noise')));
		});
	}

	readHash();
	summary();
	changes();
	drawFlame();
	shareTable('cats', D.categories);
	shareTable('roles', D.roles);
	figs();
	endpoints();
	window.addEventListener('hashchange', function () {
		readHash();
		drawFlame();
	});
	document.documentElement.dataset.ready = '1';
})();
