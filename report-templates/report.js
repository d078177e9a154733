/*
 * perfsight report: draws every section from the embedded JSON (docs/report-data.md).
 * Rules: no network, no frameworks, no eval, and data only ever reaches the page as text
 * (textContent, canvas fillText): a frame name is never parsed as HTML.
 * State (view, filter, zoom, search, orientation) lives in the URL hash so a link reopens
 * the same picture.
 */
(function () {
	'use strict';

	var D = JSON.parse(document.getElementById('perfsight-data').textContent || '{}');
	var S = D.strings || [];
	var KINDS = D.kinds || ['python', 'library', 'interp', 'gc', 'gil', 'kernel', 'native', 'other'];
	/* the CLI's category names (docs/categories.md); the report joins two pairs of them */
	var KIND_LABEL = {python: 'Python (app)', library: 'Python (stdlib, site-packages)',
		interp: 'interpreter, allocator', gc: 'GC', gil: 'GIL', kernel: 'kernel', native: 'native',
		other: 'other'};
	var KIND_HUE = {python: [140, 50], library: [180, 45], interp: [44, 78], gc: [2, 70],
		gil: [275, 48], kernel: [24, 80], native: [212, 55], other: [0, 0]};
	var META = D.meta || {};
	var UNIT_S = META.unit_s || 0;
	var PROCS = D.processes || [];

	var state = {view: 'mixed', pid: null, tid: null, zoom: [], q: '', icicle: false, handler: null};
	var HANDLERS = D.handlers || null;
	var cache = {};
	var cur = null;     /* the merged tree for the current view and filter */

	var P = PerfsightPage, $ = P.$, el = P.el, add = P.add, clear = P.clear, td = P.td;
	var reOf = P.reOf;
	function pct(x) { return (100 * x).toFixed(x >= 0.1 ? 1 : 2) + '%'; }
	function secs(s) {
		if (!s) return '0';
		if (s >= 1) return s.toFixed(2) + ' s';
		if (s >= 0.001) return (s * 1000).toFixed(1) + ' ms';
		return (s * 1e6).toFixed(0) + ' µs';
	}
	function amount(u) {
		var n = u.toLocaleString('en-US');
		return UNIT_S ? secs(u * UNIT_S) + ' (' + n + ' ' + (META.unit || 'samples') + ')'
			: n + ' ' + (META.unit || 'samples');
	}
	/* for narrow columns: seconds when the unit converts, else the count */
	function brief(u) {
		return UNIT_S ? secs(u * UNIT_S) : u.toLocaleString('en-US');
	}
	function kindName(k) { return KINDS[k] || 'other'; }
	function hash32(s) {
		var h = 2166136261;
		for (var i = 0; i < s.length; i++) {
			h ^= s.charCodeAt(i);
			h = Math.imul(h, 16777619);
		}
		return h >>> 0;
	}
	/* Stable colour: the hue says the kind, the lightness comes from the name's hash. */
	function colour(name, kind) {
		var hs = KIND_HUE[kindName(kind)] || KIND_HUE.other;
		var l = 52 + (hash32(S[name] || '') % 20);
		return 'hsl(' + hs[0] + ',' + hs[1] + '%,' + l + '%)';
	}

	/* ---- state in the URL hash ---- */
	function readHash() {
		var h = location.hash.replace(/^#/, '');
		if (!/(^|&)(view|pid|tid|zoom|q|icicle|handler)=/.test(h))
			return;
		var p = new URLSearchParams(h);
		state.view = ['python', 'mixed', 'native'].indexOf(p.get('view')) >= 0 ? p.get('view') : 'mixed';
		state.pid = p.get('pid') ? Number(p.get('pid')) : null;
		state.tid = p.get('tid') ? Number(p.get('tid')) : null;
		state.zoom = p.get('zoom') ? p.get('zoom').split('.').map(Number).filter(isFinite) : [];
		state.q = p.get('q') || '';
		state.icicle = p.get('icicle') === '1';
		state.handler = p.get('handler') && HANDLERS && isFinite(Number(p.get('handler'))) ?
			Number(p.get('handler')) : null;
	}
	function writeHash() {
		var p = new URLSearchParams();
		p.set('view', state.view);
		if (state.pid !== null) p.set('pid', state.pid);
		if (state.tid !== null) p.set('tid', state.tid);
		if (state.zoom.length) p.set('zoom', state.zoom.join('.'));
		if (state.q) p.set('q', state.q);
		if (state.icicle) p.set('icicle', '1');
		if (state.handler !== null) p.set('handler', state.handler);
		history.replaceState(null, '', '#' + p.toString());
	}

	/* ---- trees: merge the selected threads' trees of one view ---- */
	function selectedThreads() {
		var out = [];
		PROCS.forEach(function (p) {
			if (state.pid !== null && p.pid !== state.pid)
				return;
			(p.threads || []).forEach(function (t) {
				if (state.tid === null || t.tid === state.tid)
					out.push(t);
			});
		});
		return out;
	}
	function merge(trees) {
		var T = {parent: [-1], name: [S.indexOf('all')], kind: [KINDS.length - 1], self: [0],
			total: [0], kids: [null], depth: [0]};
		if (T.name[0] < 0)
			T.name[0] = S.push('all') - 1;
		trees.forEach(function (t) {
			if (!t || !t.parent)
				return;
			var m = new Int32Array(t.parent.length);
			m[0] = 0;
			T.self[0] += t.self[0] || 0;
			for (var i = 1; i < t.parent.length; i++) {
				var p = m[t.parent[i]];
				var key = t.name[i] * 16 + t.kind[i];
				var kids = T.kids[p] || (T.kids[p] = new Map());
				var c = kids.get(key);
				if (c === undefined) {
					c = T.parent.length;
					kids.set(key, c);
					T.parent.push(p);
					T.name.push(t.name[i]);
					T.kind.push(t.kind[i]);
					T.self.push(0);
					T.total.push(0);
					T.kids.push(null);
					T.depth.push(T.depth[p] + 1);
				}
				T.self[c] += t.self[i];
				m[i] = c;
			}
		});
		var n = T.parent.length;
		for (var j = 0; j < n; j++)
			T.total[j] = T.self[j];
		for (j = n - 1; j > 0; j--)
			T.total[T.parent[j]] += T.total[j];
		/* children sorted by name, as flamegraph.pl does, so the picture is stable */
		T.children = new Array(n);
		for (j = 0; j < n; j++) {
			var arr = T.kids[j] ? Array.from(T.kids[j].values()) : [];
			arr.sort(function (a, b) {
				var x = S[T.name[a]] || '', y = S[T.name[b]] || '';
				return x < y ? -1 : x > y ? 1 : T.kind[a] - T.kind[b];
			});
			T.children[j] = arr;
		}
		T.kids = null;
		return T;
	}
	/*
	 * The stacks of T that pass through a frame named name (a string index): every such
	 * frame's subtree whole, and its callers with only the part of their totals that leads
	 * there (no self time of their own). Same shape as merge() makes.
	 */
	function through(T, name) {
		var R = {parent: [-1], name: [T.name[0]], kind: [T.kind[0]], self: [0], total: [0],
			children: [[]], depth: [0]};
		function copy(n, p, inside) {
			var c = R.parent.length;
			R.parent.push(p);
			R.name.push(T.name[n]);
			R.kind.push(T.kind[n]);
			R.self.push(inside ? T.self[n] : 0);
			R.total.push(0);
			R.children.push([]);
			R.depth.push(R.depth[p] + 1);
			R.children[p].push(c);
			return c;
		}
		/* leads[n]: some frame at or below n has the name (computed leaf-up, no recursion) */
		var n = T.parent.length, leads = new Uint8Array(n);
		for (var j = n - 1; j > 0; j--)
			if (leads[j] || T.name[j] === name)
				leads[T.parent[j]] = leads[j] = 1;
		var stack = [[0, 0, false]];
		while (stack.length) {
			var top = stack.pop(), t = top[0], r = top[1], inside = top[2];
			var kids = T.children[t];
			for (var k = kids.length - 1; k >= 0; k--) {
				var ch = kids[k], inCh = inside || T.name[ch] === name;
				if (inCh || leads[ch])
					stack.push([ch, copy(ch, r, inCh), inCh]);
			}
		}
		/* children were pushed in reverse: put them back in the tree's order */
		for (j = 0; j < R.children.length; j++)
			R.children[j].sort(function (a, b) { return a - b; });
		for (j = R.parent.length - 1; j >= 0; j--) {
			R.total[j] += R.self[j];
			if (j)
				R.total[R.parent[j]] += R.total[j];
		}
		return R;
	}
	function currentTree() {
		var key = state.view + '/' + state.pid + '/' + state.tid;
		if (!cache[key])
			cache[key] = merge(selectedThreads().map(function (t) {
				return (t.trees || {})[state.view];
			}));
		if (state.handler === null)
			return cache[key];
		var hk = key + '/h' + state.handler;
		if (!cache[hk])
			cache[hk] = through(cache[key], state.handler);
		return cache[hk];
	}
	/* the whole capture's mixed tree, shared with the unfiltered mixed view */
	function wholeMixed() {
		var key = 'mixed/null/null';
		if (!cache[key])
			cache[key] = merge(selectedAll('mixed'));
		return cache[key];
	}
	/* ---- flame graph: flame.js's, fed the merged tree of the view and filter ---- */
	var fg = PerfsightFlame.create({
		strings: S,
		colour: function (T, n) { return colour(T.name[n], T.kind[n]); },
		/* the zoom is kept as names and kinds from the root, so it survives a filter change */
		key: function (T, n) { return [T.name[n], T.kind[n]]; },
		tip: function (T, n, z) {
			return (S[T.name[n]] || '') + '\n' + KIND_LABEL[kindName(T.kind[n])] +
				'\nself ' + amount(T.self[n]) + '\ntotal ' + amount(T.total[n]) + ', ' +
				pct(T.total[0] ? T.total[n] / T.total[0] : 0) + ' of all' +
				(z ? ', ' + pct(T.total[n] / T.total[z]) + ' of the zoomed frame' : '');
		},
		cells: function (T, n, z) {
			return [[KIND_LABEL[kindName(T.kind[n])]], [amount(T.self[n]), 1],
				[amount(T.total[n]), 1], [pct(T.total[n] / (T.total[z] || 1)), 1]];
		},
		amount: amount,
		onChange: writeHash,
	});
	fg.state = state; /* zoom, q and icicle live in the report's state (and the URL) */
	function drawFlame() {
		cur.value = cur.total;
		fg.setTree(cur);
	}
	Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
		b.addEventListener('click', function () {
			state.view = b.getAttribute('data-view');
			writeHash();
			refresh();
		});
	});
	function syncControls() {
		Array.prototype.forEach.call(document.querySelectorAll('[data-view]'), function (b) {
			b.setAttribute('aria-pressed', String(b.getAttribute('data-view') === state.view));
		});
	}

	/* ---- summary ---- */
	function catTotal(c) {
		var s = 0;
		for (var k in c || {})
			s += c[k] || 0;
		return s;
	}
	function stackText(st) {
		return (st || []).map(function (i) { return S[i]; });
	}
	function summary() {
		var dl = $('meta');
		var rows = [['Title', META.title], ['Host', META.host], ['Command', META.command],
			['Source', META.source], ['Recorded', META.recorded], ['perf', META.perf_version],
			['Kernel', META.kernel],
			['Duration', META.duration_s !== undefined ? secs(META.duration_s) : undefined],
			['Events', (META.events || []).join(', ')],
			['Samples', META.samples !== undefined ? META.samples.toLocaleString('en-US') : undefined],
			['Lost samples', META.lost !== undefined ? META.lost.toLocaleString('en-US') : undefined],
			['Cut stacks', cutStacks()],
			['Processes', PROCS.length]];
		rows.forEach(function (r) {
			if (r[1] === undefined || r[1] === null || r[1] === '')
				return;
			add(dl, el('dt', null, r[0]), el('dd', null, r[1]));
		});
		var w = $('warnings');
		var sev = {error: 0, warn: 1, info: 2};
		var ws = (D.warnings || []).slice().sort(function (a, b) {
			return (sev[a.severity] || 1) - (sev[b.severity] || 1);
		});
		ws.forEach(function (x) {
			var li = el('li', sev[x.severity] === undefined ? 'warn' : x.severity);
			add(li, el('strong', null, (x.severity || 'warn') + ' ' + (x.code || '') +
				(x.count > 1 ? ' (×' + x.count + ')' : '') + ': '), document.createTextNode(x.message || ''));
			w.appendChild(li);
		});
		if (!ws.length)
			w.appendChild(el('li', 'info', 'No warnings: stacks, symbols and samples are complete.'));
		var f = $('findings');
		(D.findings || []).forEach(function (s) { f.appendChild(el('li', null, s)); });
		findings().forEach(function (s) { f.appendChild(el('li', null, s)); });
	}
	/* The share of CPU samples whose stack ends at [truncated] (cut where the dump ended). */
	function cutStacks() {
		var cut = 0, of = 0, have = false;
		PROCS.forEach(function (p) {
			if (!p.cut_stacks)
				return;
			have = true;
			cut += p.cut_stacks.samples;
			of += p.cut_stacks.of;
		});
		if (!have || !of)
			return undefined;
		return pct(cut / of) + ' of the CPU samples (' + cut.toLocaleString('en-US') +
			') end where the stack dump ended: their callers are unknown, shown under [truncated]';
	}
	function procLabel(p) {
		return (p.role || 'process') + ' ' + p.pid + (p.comm ? ' (' + p.comm + ')' : '');
	}
	/* Headlines, not a census: of the (at most 20) processes with at least 0.5% of the samples, the five
	 * with the largest GC share and the three that waited longest for the GIL. */
	function findings() {
		var out = [];
		var all = 0, gc = 0, gil = 0;
		PROCS.forEach(function (p) {
			all += catTotal(p.categories);
			gc += (p.categories || {}).gc || 0;
			gil += (p.categories || {}).gil || 0;
		});
		if (!all)
			return out;
		var big = PROCS.filter(function (p) { return catTotal(p.categories) >= 0.005 * all; })
			.sort(bySamples).slice(0, 20);
		var gcShare = function (p) { return ((p.categories || {}).gc || 0) / catTotal(p.categories); };
		big.filter(function (p) { return gcShare(p) >= 0.01; })
			.sort(function (a, b) { return gcShare(b) - gcShare(a); }).slice(0, 5)
			.forEach(function (p) {
				var s = procLabel(p) + ' spent ' + pct(gcShare(p)) + ' of its CPU in garbage collection';
				var longest = (D.gc_pauses || []).filter(function (x) { return x.pid === p.pid; })
					.sort(function (a, b) { return b.dur_ms - a.dur_ms; })[0];
				if (longest) {
					var st = stackText(longest.stack);
					s += '; the longest pause was ' + longest.dur_ms.toFixed(1) + ' ms' +
						(st.length ? ', triggered under ' + st[st.length - 1] : '');
				}
				out.push(s + '.');
			});
		big.filter(function (p) { return p.gil && p.gil.wait_s >= 0.001; })
			.sort(function (a, b) { return b.gil.wait_s - a.gil.wait_s; }).slice(0, 3)
			.forEach(function (p) {
				out.push(procLabel(p) + ' waited ' + secs(p.gil.wait_s) + ' for the GIL (' +
					p.gil.waits + (p.gil.waits === 1 ? ' wait).' : ' waits).'));
			});
		/* the GIL's cost is the time threads waited for it off CPU, not the on-CPU handoff */
		var waited = 0, src = null;
		PROCS.forEach(function (p) {
			if (p.gil && p.gil.wait_s) {
				waited += p.gil.wait_s;
				src = p.gil.source;
			}
		});
		out.unshift('Across all processes, ' + pct(gc / all) + ' of the sampled CPU was garbage ' +
			'collection' + (waited ? '; threads waited ' + secs(waited) + ' for the GIL (' +
			(src === 'probes' ? 'take_gil probes' : 'off CPU, from switches') + ')' : '') + '.');
		var T = wholeMixed();
		var top = topFunctions(T).filter(function (r) { return r.kind <= 1; })
			.sort(function (a, b) { return b.total - a.total; });
		var best = top.filter(function (r) { return r.kind === 0; })[0] || top[0];
		if (best) {
			/* the collections its code triggered run on its stack: their CPU is among its
			 * callees, said apart here, with the pauses that began under it */
			var gcCpu = gcUnder(T, best.name * 16 + best.kind), pauses = 0, pauseS = 0, probes = false;
			(D.gc_triggers || []).forEach(function (x) {
				if (x.pauses !== undefined)
					probes = true;
				if (x.pauses !== undefined && x.stack.indexOf(best.name) >= 0) {
					pauses += x.pauses;
					pauseS += x.pause_s;
				}
			});
			out.push('The busiest Python function is ' + S[best.name] + ': ' +
				pct(best.total / T.total[0]) + ' of CPU including its callees' +
				(gcCpu || pauses ? ', among them the garbage collection its code triggered (' +
					pct(gcCpu / T.total[0]) + ' of CPU' + (probes ? '; ' + pauses + ' pauses, ' +
					secs(pauseS) : '') + ')' : '') + '.');
		}
		return out;
	}
	/* The GC samples under the outermost frames of function key (name * 16 + kind) in T: the
	 * totals of its gc-kind descendants, each subtree once. */
	function gcUnder(T, key) {
		var gc = 0, st = [0, 0];
		while (st.length) {
			var inside = st.pop(), v = st.pop();
			inside = inside || T.name[v] * 16 + T.kind[v] === key;
			if (inside && kindName(T.kind[v]) === 'gc') {
				gc += T.total[v];
				continue;
			}
			var ch = T.children[v];
			for (var i = 0; i < ch.length; i++)
				st.push(ch[i], inside ? 1 : 0);
		}
		return gc;
	}
	function selectedAll(view) {
		var out = [];
		PROCS.forEach(function (p) {
			(p.threads || []).forEach(function (t) { out.push((t.trees || {})[view]); });
		});
		return out;
	}

	/* ---- workers ---- */
	function legend() {
		var l = $('legend');
		KINDS.forEach(function (k) { l.appendChild(el('span', 'k-' + k, KIND_LABEL[k] || k)); });
	}
	function bar(c) {
		var b = el('div', 'bar');
		var t = catTotal(c);
		var parts = [];
		KINDS.forEach(function (k) {
			var v = (c || {})[k] || 0;
			if (!v || !t)
				return;
			var s = el('span', 'k-' + k);
			s.style.width = (100 * v / t) + '%';
			s.title = (KIND_LABEL[k] || k) + ' ' + pct(v / t);
			parts.push((KIND_LABEL[k] || k) + ' ' + pct(v / t));
			b.appendChild(s);
		});
		b.setAttribute('role', 'img');
		b.setAttribute('aria-label', parts.join(', ') || 'no samples');
		return b;
	}
	function workerRow(x, pid, tid, isThread) {
		var tr = el('tr', isThread ? 'thread' : 'process');
		tr.tabIndex = 0;
		tr.dataset.pid = pid;
		if (tid !== null)
			tr.dataset.tid = tid;
		var t = catTotal(x.categories);
		var gc = x.gc || {}, gil = x.gil || {};
		var name = isThread ? 'thread ' + tid + (x.comm ? ' (' + x.comm + ')' : '')
			: 'pid ' + pid + (x.comm ? ' (' + x.comm + ')' : '');
		add(tr, td(name), td(isThread ? '' : x.role || ''), td(x.cpu_s !== undefined ? secs(x.cpu_s)
			: amount(t), 'num'));
		var c = el('td');
		c.appendChild(bar(x.categories));
		add(tr, c, td(t ? pct(((x.categories || {}).gc || 0) / t) : '', 'num'),
			td(gc.pauses !== undefined ? gc.pauses : gc.not_measured ? 'not measured' : '', 'num'),
			td(gc.longest_ms ? gc.longest_ms.toFixed(1) + ' ms' : '', 'num'),
			td(gil.wait_s ? secs(gil.wait_s) + ' (' + gil.waits + ')' :
				gil.not_measured ? 'not measured' : '', 'num'));
		function pick() {
			if (state.pid === pid && state.tid === tid) {
				state.pid = null;
				state.tid = null;
			} else {
				state.pid = pid;
				state.tid = tid;
			}
			writeHash();
			refresh();
		}
		tr.addEventListener('click', pick);
		tr.addEventListener('keydown', function (ev) {
			if (ev.key === 'Enter' || ev.key === ' ') {
				ev.preventDefault();
				pick();
			}
		});
		return tr;
	}
	/* A system-wide capture can hold thousands of short processes: list the busiest, and say
	 * how much the rest weigh, so the table stays readable and quick. */
	var MAX_PROCS = 60, MAX_THREADS = 24;
	function bySamples(a, b) { return catTotal(b.categories) - catTotal(a.categories); }
	function moreRow(n, what, weight, all) {
		var tr = el('tr', 'more');
		var c = td(n + ' more ' + what + ' not listed: ' + pct(all ? weight / all : 0) +
			' of the samples');
		c.colSpan = 8;
		tr.appendChild(c);
		return tr;
	}
	function workers() {
		var body = $('workers-table').tBodies[0];
		var frag = document.createDocumentFragment();
		var procs = PROCS.slice().sort(bySamples);
		var all = 0;
		procs.forEach(function (p) { all += catTotal(p.categories); });
		procs.slice(0, MAX_PROCS).forEach(function (p) {
			frag.appendChild(workerRow(p, p.pid, null, false));
			var ts = (p.threads || []).slice().sort(bySamples);
			if (ts.length === 1 && ts[0].tid === p.pid)
				return;
			ts.slice(0, MAX_THREADS).forEach(function (t) {
				frag.appendChild(workerRow(t, p.pid, t.tid, true));
			});
			if (ts.length > MAX_THREADS)
				frag.appendChild(moreRow(ts.length - MAX_THREADS, 'threads',
					ts.slice(MAX_THREADS).reduce(function (a, t) { return a + catTotal(t.categories); }, 0),
					all));
		});
		if (procs.length > MAX_PROCS)
			frag.appendChild(moreRow(procs.length - MAX_PROCS, 'processes',
				procs.slice(MAX_PROCS).reduce(function (a, p) { return a + catTotal(p.categories); }, 0),
				all));
		body.appendChild(frag);
		$('filter-clear').addEventListener('click', function () {
			state.pid = null;
			state.tid = null;
			writeHash();
			refresh();
		});
	}
	/* ---- what to change (docs/verdicts.md): the summary's verdicts, each with its evidence ---- */
	function whatToChange() {
		var W = D.what_to_change;
		if (!W)
			return;
		$('change').hidden = false;
		$('nav-change').hidden = false;
		var svc = W.service || {};
		var parts = (svc.groups || []).map(function (g) {
			var s = (g.server || 'processes') + (g.master_pid ? ' master ' + g.master_pid : '') + ': ' +
				g.workers + ' worker' + (g.workers === 1 ? '' : 's');
			if ((g.worker_class || []).length)
				s += ' (' + g.worker_class.join('/') + ')';
			s += ', up to ' + g.threads_per_worker + ' thread' + (g.threads_per_worker === 1 ? '' : 's') + ' each';
			if (g.silent_workers)
				s += ', ' + g.silent_workers + ' with no event';
			if (g.top_handler)
				s += '; top handler ' + g.top_handler.function + ': ' + pct(g.top_handler.cpu_share) + ' of their CPU';
			return s;
		});
		var head = parts.join('; ');
		if (svc.cpus)
			head += (head ? '; ' : '') + svc.cpus + ' CPUs';
		if (!svc.off_cpu_measured)
			head += (head ? '. ' : '') + 'Off-CPU time not measured (no sched:sched_switch).';
		$('change-service').textContent = head;
		var list = $('change-list');
		(W.verdicts || []).forEach(function (v) {
			var li = el('li', 'verdict');
			add(li, el('strong', null, v.id), document.createTextNode(' ' + v.title));
			add(li, el('p', 'advice', v.advice));
			var ev = Object.keys(v.evidence || {}).map(function (k) {
				var x = v.evidence[k];
				return k + ' ' + (Math.abs(x) < 10 && x !== Math.round(x) ? x.toFixed(3) : String(x));
			}).join(', ');
			add(li, el('p', 'evidence', 'evidence: ' + ev + '. rule: ' + v.rule));
			(v.stacks || []).slice(0, 2).forEach(function (st) {
				add(li, el('p', 'evidence', 'at ' + st.map(function (f) { return f.function; }).join(' › ')));
			});
			list.appendChild(li);
		});
		if (!(W.verdicts || []).length)
			list.appendChild(el('li', 'verdict', 'No verdict: no rule holds on this capture.'));
		var skip = $('change-skip');
		(W.not_judged || []).forEach(function (s) {
			skip.appendChild(el('li', null, 'not judged: ' + s.id + ': ' + s.why +
				(s.enable ? '; needs ' + s.enable : '')));
		});
	}

	/* ---- request handlers (docs/handlers.md): a row selects the stacks through it ---- */
	function handlers() {
		if (!HANDLERS)
			return;
		$('handlers').hidden = false;
		$('nav-handlers').hidden = false;
		var body = $('handlers-table').tBodies[0];
		var all = HANDLERS.cpu_samples || 0;
		var KIND_SAYS = {view: 'view', callee: 'library view', dispatch: 'framework itself',
			wsgi: 'WSGI app, outside its dispatch'};
		(HANDLERS.rows || []).slice(0, 200).forEach(function (r) {
			var tr = el('tr');
			tr.tabIndex = 0;
			tr.dataset.handler = r.name;
			add(tr, td(S[r.name] || ''), td(r.framework + ' ' + (KIND_SAYS[r.kind] || r.kind)),
				td(pct(all ? r.cpu_samples / all : 0), 'num'),
				td(r.cpu_samples ? pct(r.gc_samples / r.cpu_samples) : '', 'num'),
				td(r.gc_pauses !== undefined ? r.gc_pauses + ' (' + secs(r.gc_pause_s) + ')' : 'not measured', 'num'),
				td(r.gil_wait_s !== undefined ? secs(r.gil_wait_s) : 'not measured', 'num'));
			function pick() {
				state.handler = state.handler === r.name ? null : r.name;
				state.zoom = [];
				writeHash();
				refresh();
			}
			tr.addEventListener('click', pick);
			tr.addEventListener('keydown', function (ev) {
				if (ev.key === 'Enter' || ev.key === ' ') {
					ev.preventDefault();
					pick();
				}
			});
			body.appendChild(tr);
		});
		var note = !HANDLERS.frameworks ? 'No request dispatch of a known framework (Flask, Django, ' +
			'Starlette/FastAPI, gunicorn) on any Python stack: no handler table.' :
			'Frameworks seen: ' + HANDLERS.frameworks + '. ' +
			pct(all ? HANDLERS.outside_samples / all : 0) + ' of the CPU samples are outside any handler' +
			(HANDLERS.outside_cut_samples ? ' (' + pct(HANDLERS.outside_cut_samples / (HANDLERS.outside_samples || 1)) +
				' of them cut short: their handler may be above the stack dump)' : '') + '.' +
			(HANDLERS.gil_wait_method ? ' GIL wait from ' + HANDLERS.gil_wait_method + '.' : '');
		$('handlers-note').textContent = note;
	}
	function markHandler() {
		if (!HANDLERS)
			return;
		Array.prototype.forEach.call($('handlers-table').tBodies[0].rows, function (tr) {
			var on = Number(tr.dataset.handler) === state.handler;
			tr.classList.toggle('active', on);
			tr.setAttribute('aria-selected', String(on));
		});
	}
	function markFilter() {
		Array.prototype.forEach.call($('workers-table').tBodies[0].rows, function (tr) {
			if (tr.dataset.pid === undefined)
				return;
			var on = state.pid !== null && Number(tr.dataset.pid) === state.pid &&
				(tr.dataset.tid === undefined ? state.tid === null : Number(tr.dataset.tid) === state.tid);
			tr.classList.toggle('active', on);
			tr.setAttribute('aria-selected', String(on));
		});
		var f = $('filter');
		if (state.pid === null) {
			f.textContent = 'Showing all ' + PROCS.length + ' processes';
		} else {
			var p = PROCS.filter(function (x) { return x.pid === state.pid; })[0];
			f.textContent = 'Showing ' + (p ? procLabel(p) : 'pid ' + state.pid) +
				(state.tid !== null ? ', thread ' + state.tid : '') + ' only';
		}
		if (state.handler !== null)
			f.textContent += '; flame graph and top functions: the stacks through ' +
				(S[state.handler] || '?') + ' only';
	}
	function figures() {
		var T = cur;
		var sel = selectedThreads();
		var cats = {};
		var cpu = 0;
		sel.forEach(function (t) {
			cpu += t.cpu_s || 0;
			for (var k in t.categories || {})
				cats[k] = (cats[k] || 0) + t.categories[k];
		});
		var all = catTotal(cats);
		$('fg-figures').textContent = 'In this graph: ' + amount(T.total[0]) + (cpu ? ' · CPU ' + secs(cpu) : '') +
			(all ? ' · GC ' + pct((cats.gc || 0) / all) + ' of the CPU · GIL ' + pct((cats.gil || 0) / all) : '') +
			' · ' + sel.length + ' thread' + (sel.length === 1 ? '' : 's');
	}

	/* ---- top functions ---- */
	var topSort = {key: 'self', dir: -1};
	var topSel = null;
	function topFunctions(T) {
		var map = new Map();
		var onPath = new Map();
		/* depth-first with an explicit stack so deep recursion cannot overflow the JS stack;
		 * a recursive function's total counts its outermost frame only */
		var st = [0, 0];
		while (st.length) {
			var leave = st.pop(), v = st.pop();
			var key = T.name[v] * 16 + T.kind[v];
			if (leave) {
				onPath.set(key, onPath.get(key) - 1);
				continue;
			}
			var r = map.get(key);
			if (!r) {
				r = {name: T.name[v], kind: T.kind[v], self: 0, total: 0, nodes: []};
				map.set(key, r);
			}
			r.self += T.self[v];
			r.nodes.push(v);
			if (!onPath.get(key))
				r.total += T.total[v];
			onPath.set(key, (onPath.get(key) || 0) + 1);
			st.push(v, 1);
			var ch = T.children[v];
			for (var i = 0; i < ch.length; i++)
				st.push(ch[i], 0);
		}
		map.delete(T.name[0] * 16 + T.kind[0]);
		/* a cut stack's [truncated] root is a mark, not a function */
		return Array.from(map.values()).filter(function (r) { return S[r.name] !== '[truncated]'; });
	}
	function topTable() {
		var T = cur;
		var rows = topFunctions(T);
		var re = reOf($('top-search').value);
		$('top-search').classList.toggle('bad', re === undefined);
		if (re)
			rows = rows.filter(function (r) { return re.test(S[r.name] || ''); });
		rows.sort(function (a, b) {
			if (topSort.key === 'name')
				return topSort.dir * ((S[a.name] || '') < (S[b.name] || '') ? -1 : 1);
			return topSort.dir * (a[topSort.key] - b[topSort.key]);
		});
		var body = clear($('top-table').tBodies[0]);
		var tot = T.total[0] || 1;
		rows.slice(0, 100).forEach(function (r) {
			var tr = el('tr', topSel && topSel.name === r.name && topSel.kind === r.kind ? 'sel' : null);
			tr.tabIndex = 0;
			add(tr, td(S[r.name]), td(KIND_LABEL[kindName(r.kind)]),
				td(pct(r.self / tot) + ' · ' + brief(r.self), 'num'),
				td(pct(r.total / tot) + ' · ' + brief(r.total), 'num'));
			tr.title = 'self ' + amount(r.self) + ', total ' + amount(r.total);
			function pick() {
				topSel = r;
				topTable();
			}
			tr.addEventListener('click', pick);
			tr.addEventListener('keydown', function (ev) {
				if (ev.key === 'Enter' || ev.key === ' ') {
					ev.preventDefault();
					pick();
				}
			});
			body.appendChild(tr);
		});
		Array.prototype.forEach.call(document.querySelectorAll('#top-table th'), function (th) {
			var b = th.querySelector('button');
			if (b)
				th.setAttribute('aria-sort', b.dataset.sort === topSort.key ?
					(topSort.dir < 0 ? 'descending' : 'ascending') : 'none');
		});
		detail(T);
	}
	function detail(T) {
		var callers = clear($('top-callers').tBodies[0]);
		var callees = clear($('top-callees').tBodies[0]);
		if (!topSel) {
			$('top-sel').textContent = 'Select a function to see its callers and callees';
			return;
		}
		var r = topFunctions(T).filter(function (x) {
			return x.name === topSel.name && x.kind === topSel.kind;
		})[0];
		$('top-sel').textContent = S[topSel.name] + (r ? '' : ' (not in this selection)');
		if (!r)
			return;
		var up = new Map(), down = new Map();
		r.nodes.forEach(function (v) {
			var p = T.parent[v];
			var pk = p > 0 ? T.name[p] : -1;
			up.set(pk, (up.get(pk) || 0) + T.total[v]);
			T.children[v].forEach(function (c) {
				down.set(T.name[c], (down.get(T.name[c]) || 0) + T.total[c]);
			});
		});
		function fill(body, m) {
			var arr = Array.from(m.entries()).sort(function (a, b) { return b[1] - a[1]; });
			arr.slice(0, 50).forEach(function (e) {
				add(body, add(el('tr'), td(e[0] < 0 ? '(root)' : S[e[0]]),
					td(pct(e[1] / (r.total || 1)) + ' · ' + brief(e[1]), 'num')));
			});
			if (!arr.length)
				add(body, add(el('tr'), td('none')));
		}
		fill(callers, up);
		fill(callees, down);
	}
	Array.prototype.forEach.call(document.querySelectorAll('#top-table th button'), function (b) {
		b.addEventListener('click', function () {
			var k = b.dataset.sort;
			topSort = {key: k, dir: topSort.key === k ? -topSort.dir : k === 'name' ? 1 : -1};
			topTable();
		});
	});
	$('top-search').addEventListener('input', function () { topTable(); });

	/* ---- GC and GIL ---- */
	var BINS = [1, 2, 5, 10, 20, 50, 100, 200, 500, Infinity];
	function inFilter(x) {
		return (state.pid === null || x.pid === state.pid) && (state.tid === null || x.tid === state.tid);
	}
	function hist(box, list, kind) {
		clear(box);
		var counts = BINS.map(function () { return 0; });
		list.forEach(function (x) {
			for (var i = 0; i < BINS.length; i++)
				if (x.dur_ms < BINS[i]) {
					counts[i]++;
					break;
				}
		});
		var max = Math.max.apply(null, counts.concat([1]));
		counts.forEach(function (c, i) {
			var lo = i ? BINS[i - 1] : 0;
			var label = BINS[i] === Infinity ? '≥ ' + lo + ' ms' : lo + '–' + BINS[i] + ' ms';
			var row = el('div', 'row');
			var fill = el('div', 'fill k-' + kind);
			fill.style.width = (100 * c / max) + '%';
			row.setAttribute('aria-label', label + ': ' + c);
			add(row, el('span', null, label), add(el('div'), fill), el('span', 'num', c));
			box.appendChild(row);
		});
		if (!list.length)
			box.appendChild(el('p', 'hint', 'None in this selection.'));
	}
	function longest(table, list, withGen) {
		/* the Gen column only when the probes recorded the generation argument */
		withGen = withGen && list.some(function (x) { return x.gen !== undefined; });
		var head = table.tHead && table.tHead.rows[0];
		if (head && head.cells.length > 4)
			head.cells[3].hidden = !withGen;
		var body = clear(table.tBodies[0]);
		list.slice().sort(function (a, b) { return b.dur_ms - a.dur_ms; }).slice(0, 15).forEach(function (x) {
			var ol = el('ol', 'stack');
			stackText(x.stack).forEach(function (s) { ol.appendChild(el('li', null, s)); });
			var stackCell = el('td');
			stackCell.appendChild(x.stack && x.stack.length ? ol : el('span', 'hint', 'no Python frame'));
			var tr = el('tr');
			add(tr, td(secs(x.start_s || 0), 'num'), td(x.dur_ms.toFixed(1) + ' ms', 'num'),
				td(x.pid + '/' + x.tid));
			if (withGen)
				tr.appendChild(td(x.gen !== undefined ? x.gen : ''));
			tr.appendChild(stackCell);
			body.appendChild(tr);
		});
	}
	function gcgil() {
		var gcs = (D.gc_pauses || []).filter(inFilter);
		var gils = (D.gil_waits || []).filter(inFilter);
		hist($('gc-hist'), gcs, 'gc');
		hist($('gil-hist'), gils, 'gil');
		longest($('gc-long'), gcs, true);
		gcTriggers();
		longest($('gil-long'), gils, false);
	}
	/* D.gc_triggers summed by Python path over the processes shown; pause columns only with
	 * exact GC probes, else the reason they are not measured */
	function gcTriggers() {
		var table = $('gc-trig');
		var body = clear(table.tBodies[0]);
		var rows = new Map(), probes = false, all = 0;
		(D.gc_triggers || []).filter(function (x) { return state.pid === null || x.pid === state.pid; })
			.forEach(function (x) {
				var key = x.stack.join(',');
				var r = rows.get(key);
				if (!r) {
					r = {stack: x.stack, samples: 0, pauses: 0, pause_s: 0};
					rows.set(key, r);
				}
				r.samples += x.gc_samples;
				all += x.gc_samples;
				if (x.pauses !== undefined) {
					probes = true;
					r.pauses += x.pauses;
					r.pause_s += x.pause_s;
				}
			});
		var head = table.tHead.rows[0];
		head.cells[1].hidden = head.cells[2].hidden = !probes;
		var why = PROCS.map(function (p) { return (p.gc || {}).not_measured; }).filter(Boolean)[0];
		$('gc-trig-note').textContent = probes ? '' : 'Pauses: ' + (why ? 'not measured (' + why + ').' :
			'not measured (no GC probes in this capture: perfsight record --probes adds them).');
		var list = Array.from(rows.values()).sort(function (a, b) {
			return (b.pause_s - a.pause_s) || (b.samples - a.samples);
		}).slice(0, 15);
		list.forEach(function (r) {
			var ol = el('ol', 'stack');
			stackText(r.stack).forEach(function (s) { ol.appendChild(el('li', null, s)); });
			var cell = el('td');
			cell.appendChild(r.stack.length ? ol : el('span', 'hint', 'no Python frame'));
			var tr = add(el('tr'), cell);
			if (probes)
				add(tr, td(r.pauses, 'num'), td(secs(r.pause_s), 'num'));
			tr.appendChild(td(r.samples + (all ? ' (' + pct(r.samples / all) + ')' : ''), 'num'));
			body.appendChild(tr);
		});
		if (!list.length) {
			var none = el('td', 'hint', 'None in this selection.');
			none.colSpan = probes ? 4 : 2;
			body.appendChild(add(el('tr'), none));
		}
	}
	function timeline() {
		var box = clear($('tl'));
		var tl = D.timeline;
		if (!tl || !tl.threads || !tl.threads.length) {
			box.appendChild(el('p', 'hint', 'This capture has no timeline.'));
			return;
		}
		var style = getComputedStyle(document.documentElement);
		var cOn = style.getPropertyValue('--muted').trim() || '#777';
		var cGil = style.getPropertyValue('--k-gil').trim() || '#8e5bc4';
		var cGc = style.getPropertyValue('--k-gc').trim() || '#d64541';
		var busy = function (t) {
			var b = 0;
			(t.on_cpu || []).forEach(function (v) { b += v; });
			return b;
		};
		var rows = tl.threads.filter(inFilter).sort(function (a, b) { return busy(b) - busy(a); });
		if (rows.length > 40)
			box.appendChild(el('p', 'hint', 'The 40 busiest of ' + rows.length + ' threads.'));
		rows.slice(0, 40).forEach(function (t) {
			var row = el('div', 'tl-row');
			var cv = el('canvas');
			var n = (t.on_cpu || []).length;
			var busy = 0;
			(t.on_cpu || []).forEach(function (v) { busy += v; });
			cv.setAttribute('role', 'img');
			cv.setAttribute('aria-label', 'thread ' + t.tid + ': on CPU ' + pct(n ? busy / n : 0) +
				' of ' + secs(n * tl.bucket_s));
			add(row, el('span', null, t.pid + '/' + t.tid), cv);
			box.appendChild(row);
			var w = cv.clientWidth || 800, h = 22;
			var dpr = window.devicePixelRatio || 1;
			cv.width = w * dpr;
			cv.height = h * dpr;
			var g = cv.getContext('2d');
			g.setTransform(dpr, 0, 0, dpr, 0, 0);
			var bw = w / Math.max(n, 1);
			for (var i = 0; i < n; i++) {
				var on = t.on_cpu[i] || 0, gil = (t.gil_wait || [])[i] || 0, gc = (t.gc || [])[i] || 0;
				g.fillStyle = cOn;
				g.fillRect(i * bw, h - on * h, bw + 0.5, on * h);
				g.fillStyle = cGil;
				g.fillRect(i * bw, 0, bw + 0.5, gil * h);
				g.fillStyle = cGc;
				g.fillRect(i * bw, h - gc * h, bw + 0.5, gc * h);
			}
		});
	}

	/* ---- pyinstrument ---- */
	function pyinstrument() {
		var P = D.pyinstrument;
		if (!P || !P.sessions || !P.sessions.length)
			return;
		$('pyi').hidden = false;
		$('nav-pyi').hidden = false;
		var body = $('pyi-req').tBodies[0];
		var ss = P.sessions.slice().sort(function (a, b) { return b.duration_s - a.duration_s; });
		ss.forEach(function (s, i) {
			var tr = el('tr', i ? null : 'sel');
			tr.tabIndex = 0;
			add(tr, td(s.label), td(secs(s.duration_s || 0), 'num'), td(secs(s.cpu_s || 0), 'num'),
				td(s.duration_s ? pct((s.cpu_s || 0) / s.duration_s) : '', 'num'));
			function pick() {
				Array.prototype.forEach.call(body.rows, function (r) { r.classList.remove('sel'); });
				tr.classList.add('sel');
				callTree(s);
			}
			tr.addEventListener('click', pick);
			tr.addEventListener('keydown', function (ev) {
				if (ev.key === 'Enter' || ev.key === ' ') {
					ev.preventDefault();
					pick();
				}
			});
			body.appendChild(tr);
		});
		callTree(ss[0]);
	}
	function callTree(s) {
		var box = clear($('pyi-tree'));
		$('pyi-title').textContent = 'Call tree: ' + s.label;
		var t = s.tree;
		if (!t || !t.parent || !t.parent.length)
			return;
		var kids = t.parent.map(function () { return []; });
		for (var i = 1; i < t.parent.length; i++)
			kids[t.parent[i]].push(i);
		var root = t.total[0] || 1;
		function node(n, depth) {
			var d = el('details');
			if (depth < 6 && t.total[n] >= root * 0.2)
				d.open = true;
			var sm = el('summary');
			add(sm, el('span', 't', secs(t.total[n])), el('span', 'pct', pct(t.total[n] / root)),
				document.createTextNode(S[t.name[n]] + '  ' + (S[(t.file || [])[n]] || '') +
					((t.line || [])[n] ? ':' + t.line[n] : '')));
			d.appendChild(sm);
			var ch = kids[n].slice().sort(function (a, b) { return t.total[b] - t.total[a]; });
			var filled = false;
			function fillKids() {
				if (filled)
					return;
				filled = true;
				ch.forEach(function (c) {
					if (t.total[c] >= root * 0.005)
						d.appendChild(node(c, depth + 1));
				});
			}
			if (d.open)
				fillKids();
			else
				d.addEventListener('toggle', fillKids);
			return d;
		}
		box.appendChild(node(0, 0));
	}

	/* ---- call graph: a pstats or callgrind profile (D.callgraph, docs/report-data.md) ----
	 * Its function table and callers/callees are measured; its hottest paths and call tree
	 * are reconstructed from the edges by the producer and always labelled so. A call-graph
	 * report has no processes: the sections that draw sampled stacks are hidden. */
	function callgraph() {
		var G = D.callgraph;
		if (!G || !G.functions)
			return;
		['workers', 'flame', 'top', 'gc', 'gil', 'timeline'].forEach(function (id) {
			if (PROCS.length)
				return;
			$(id).hidden = true;
			var a = document.querySelector('header nav a[href="#' + id + '"]');
			if (a)
				a.hidden = true;
		});
		var skip = document.querySelector('a.skip');
		if (!PROCS.length)
			$('filter').hidden = true;
		if (skip && !PROCS.length) {
			skip.setAttribute('href', '#cg');
			skip.textContent = 'Skip to the call graph';
		}
		$('cg').hidden = false;
		$('nav-cg').hidden = false;
		var F = G.functions, E = G.edges;
		var nf = F.name.length, ne = E.caller.length;
		var ev = G.event || 0;
		var secsUnit = G.unit === 'seconds';
		var ins = [], outs = [], i;
		for (i = 0; i < nf; i++) {
			ins.push([]);
			outs.push([]);
		}
		for (i = 0; i < ne; i++) {
			ins[E.callee[i]].push(i);
			outs[E.caller[i]].push(i);
		}
		var sort = {key: 'self', dir: -1}, sel = -1;
		function evName(k) { return (G.events[k] || {}).name || ''; }
		function cost(v) {
			if (v === null || v === undefined)
				return '';
			if (!secsUnit)
				return Math.round(v).toLocaleString('en-US') + ' ' + evName(ev);
			return v > 0 && v < 1e-6 ? (v * 1e9).toFixed(0) + ' ns' : secs(v);
		}
		function per(v, n) { return n ? cost(v / n) : ''; }
		function calls(n, p) {
			if (n === null || n === undefined)
				return '?';
			return p !== null && p !== undefined && p !== n ? n + '/' + p : String(n);
		}
		function fname(f) {
			var s = S[F.name[f]] || '';
			var file = F.file[f] >= 0 ? S[F.file[f]] : '';
			return s + (file ? ' (' + file + (F.line[f] ? ':' + F.line[f] : '') + ')' : '') +
				(F.object[f] >= 0 ? ' [' + S[F.object[f]] + ']' : '');
		}
		var total = (G.events[ev] || {}).total || 0;
		$('cg-about').textContent = G.format + ' profile: ' + (G.functions_in_profile || nf) +
			' functions, ' + ne + ' caller-callee edges, ' +
			(G.calls === null ? 'calls not counted' : G.calls.toLocaleString('en-US') + ' calls' +
				(G.primitive_calls !== null ? ' (' + G.primitive_calls.toLocaleString('en-US') +
					' primitive)' : '')) + ', ' + cost(total) + ' measured. ' +
			'Calls and costs per function and per edge are measured; no stacks are.';
		$('cg-recon').textContent = 'Reconstructed from the caller-callee edges, assuming a ' +
			'function spends its time on each callee in the same proportion whoever called it ' +
			'(as gprof does): an estimate, not measured stacks. The tree starts from ' +
			cost((G.tree || {}).roots || 0) + ' of the ' + cost((G.tree || {}).measured || 0) +
			' measured, in ' + evName((G.tree || {}).event || 0) + '.';
		if (G.events.length > 1) {
			$('cg-event-box').hidden = false;
			G.events.forEach(function (e, k) {
				var o = el('option', null, e.name);
				o.value = k;
				$('cg-event').appendChild(o);
			});
			$('cg-event').addEventListener('change', function () {
				ev = Number($('cg-event').value);
				total = (G.events[ev] || {}).total || 0;
				table();
			});
		}
		$('cg-h-self').textContent = secsUnit ? 'Self (tottime)' : 'Self';
		$('cg-h-incl').textContent = secsUnit ? 'Inclusive (cumtime)' : 'Inclusive';
		function keyOf(f) {
			if (sort.key === 'self')
				return F.self[ev][f];
			if (sort.key === 'incl')
				return F.incl[ev][f];
			if (sort.key === 'calls')
				return F.calls[f] === null ? -1 : F.calls[f];
			return 0;
		}
		function pickRow(tr, f) {
			function pick() {
				sel = f;
				table();
			}
			tr.tabIndex = 0;
			tr.addEventListener('click', pick);
			tr.addEventListener('keydown', function (e) {
				if (e.key === 'Enter' || e.key === ' ') {
					e.preventDefault();
					pick();
				}
			});
		}
		function table() {
			var re = reOf($('cg-search').value);
			$('cg-search').classList.toggle('bad', re === undefined);
			var rows = [];
			for (var f = 0; f < nf; f++)
				if (!re || re.test(fname(f)))
					rows.push(f);
			rows.sort(function (a, b) {
				if (sort.key === 'name')
					return sort.dir * ((S[F.name[a]] || '') < (S[F.name[b]] || '') ? -1 : 1);
				return sort.dir * (keyOf(a) - keyOf(b)) || a - b;
			});
			var body = clear($('cg-table').tBodies[0]);
			rows.slice(0, 200).forEach(function (f) {
				var tr = el('tr', f === sel ? 'sel' : null);
				add(tr, td(fname(f)), td(calls(F.calls[f], F.prim_calls[f]), 'num'),
					td(cost(F.self[ev][f]), 'num'), td(per(F.self[ev][f], F.calls[f]), 'num'),
					td(cost(F.incl[ev][f]), 'num'),
					td(per(F.incl[ev][f], F.prim_calls[f] !== null ? F.prim_calls[f] : F.calls[f]),
						'num'));
				pickRow(tr, f);
				body.appendChild(tr);
			});
			if (rows.length > 200) {
				var more = el('tr');
				var c = td('… ' + (rows.length - 200) + ' more: filter to find them');
				c.colSpan = 6;
				more.appendChild(c);
				body.appendChild(more);
			}
			Array.prototype.forEach.call(document.querySelectorAll('#cg-table th'), function (th) {
				var b = th.querySelector('button');
				if (b)
					th.setAttribute('aria-sort', b.dataset.cgsort === sort.key ?
						(sort.dir < 0 ? 'descending' : 'ascending') : 'none');
			});
			detail();
		}
		function edgeRows(body, list, other) {
			clear(body);
			list.slice().sort(function (a, b) { return (E.incl[ev][b] || 0) - (E.incl[ev][a] || 0); })
				.forEach(function (e) {
					var f = other(e);
					var tr = el('tr');
					add(tr, td(fname(f)), td(calls(E.calls[e], E.prim_calls[e]), 'num'),
						td(cost(E.self[ev][e]), 'num'), td(cost(E.incl[ev][e]), 'num'));
					pickRow(tr, f);
					body.appendChild(tr);
				});
		}
		function detail() {
			if (sel < 0)
				return;
			$('cg-sel').textContent = fname(sel);
			edgeRows($('cg-callers').tBodies[0], ins[sel], function (e) { return E.caller[e]; });
			edgeRows($('cg-callees').tBodies[0], outs[sel], function (e) { return E.callee[e]; });
		}
		Array.prototype.forEach.call(document.querySelectorAll('[data-cgsort]'), function (b) {
			b.addEventListener('click', function () {
				var k = b.dataset.cgsort;
				sort = {key: k, dir: sort.key === k ? -sort.dir : (k === 'name' ? 1 : -1)};
				table();
			});
		});
		var timer = 0;
		$('cg-search').addEventListener('input', function () {
			clearTimeout(timer);
			timer = setTimeout(table, 150);
		});
		table();
		/* the reconstructed tree: parent before child, fn -1 for the root and [other] */
		var T = G.tree || {parent: [], fn: [], flags: [], self: [], total: []};
		function nodeName(n) {
			if (n === 0)
				return 'all';
			var s = T.fn[n] < 0 ? '[other]' : S[F.name[T.fn[n]]];
			if (T.flags[n] & 1)
				s += ' (recursive call: not expanded)';
			else if (T.flags[n] & 4)
				s += ' (not expanded)';
			return s;
		}
		var hot = $('cg-hot');
		(G.hot_paths || []).forEach(function (n) {
			var path = [];
			for (var x = n; x > 0; x = T.parent[x])
				path.unshift(nodeName(x));
			var li = el('li');
			add(li, el('strong', null, cost(T.self[n])),
				document.createTextNode(' (' + pct(total ? T.self[n] / (T.measured || total) : 0) +
					') in ' + path.join(' → ')));
			hot.appendChild(li);
		});
		if (!(G.hot_paths || []).length)
			hot.appendChild(el('li', 'hint', 'No path carries a cost of its own.'));
		var kids = T.parent.map(function () { return []; });
		for (i = 1; i < T.parent.length; i++)
			kids[T.parent[i]].push(i);
		var root = T.total[0] || 1;
		function node(n, depth) {
			var d = el('details');
			if (depth < 4 && T.total[n] >= root * 0.1)
				d.open = true;
			var sm = el('summary');
			add(sm, el('span', 't', cost(T.total[n])), el('span', 'pct', pct(T.total[n] / root)),
				document.createTextNode(nodeName(n)));
			if (T.self[n] > 0 && kids[n].length)
				sm.appendChild(el('span', 'flag', '  own ' + cost(T.self[n])));
			d.appendChild(sm);
			var filled = false;
			function fill() {
				if (filled)
					return;
				filled = true;
				kids[n].slice().sort(function (a, b) { return T.total[b] - T.total[a]; })
					.forEach(function (c) { d.appendChild(node(c, depth + 1)); });
			}
			if (d.open)
				fill();
			else
				d.addEventListener('toggle', fill);
			return d;
		}
		if (T.parent.length)
			$('cg-tree').appendChild(node(0, 0));
	}

	/* ---- putting it together ---- */
	function refresh() {
		cur = currentTree();
		syncControls();
		markFilter();
		markHandler();
		figures();
		drawFlame();
		topTable();
		gcgil();
		timeline();
	}
	readHash();
	legend();
	whatToChange();
	summary();
	workers();
	handlers();
	pyinstrument();
	callgraph();
	refresh();
	window.addEventListener('hashchange', function () {
		readHash();
		refresh();
	});
	var resizeTimer = 0;
	window.addEventListener('resize', function () {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(timeline, 150); /* flame.js redraws its own */
	});
	document.documentElement.dataset.ready = '1';
})();
