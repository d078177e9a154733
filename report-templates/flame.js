/*
 * flame.js: the interactive flame graph of every page that draws one: the report (report.js)
 * and perfsight diff's page (diff.js), each bringing its tree, colours and texts. It draws a
 * tree on a canvas and handles zoom (click, crumbs, Enter, Escape), regex search with the
 * matched share, flame or icicle, a tooltip, keyboard moves and the accessible table of the
 * same data. Rules as in report.js: no network, no eval, names only ever as text.
 *
 *   var fg = PerfsightFlame.create({
 *     strings: [...],                  the names trees index
 *     colour: function (T, n) {...},   a CSS colour per node
 *     key: function (T, n) {...},      what names node n in a zoom path (default [name]); the
 *                                      zoom survives a new tree whose nodes have the same keys
 *     tip: function (T, n, z) {...},   the tooltip's text per node (z: the zoomed node)
 *     cells: function (T, n, z) {...}, the table's cells after the name: [text, numeric?]...
 *     amount: function (u) {...},      how a width reads ("120 samples")
 *     onChange: function () {...}      zoom, search or orientation changed (keep the URL)
 *   });
 *   fg.setTree(T)   T: {parent, name, value, depth, children} (children sorted, parent < child)
 *   fg.state        {zoom: [key values from the root, flat], q: regex text, icicle: bool};
 *                   a page may put its own object there (report.js keeps it in the URL)
 *
 * The page holds the elements with ids fg-canvas, fg-tip, fg-crumbs, fg-table, fg-search,
 * fg-match, fg-reset and fg-invert.
 */
var PerfsightFlame = (function () {
	'use strict';
	var ROW_H = 17;

	var $ = PerfsightPage.$, clear = PerfsightPage.clear, reOf = PerfsightPage.reOf;
	function pct(x) { return (100 * x).toFixed(x >= 0.1 ? 1 : 2) + '%'; }

	/* Builds the component's tree from column arrays (parent, name) and a width per node. */
	function tree(parent, name, width, strings) {
		var n = parent.length;
		var T = {parent: parent, name: name, value: new Float64Array(n), depth: new Int32Array(n),
			children: new Array(n)};
		for (var i = 0; i < n; i++) {
			T.value[i] = width(i);
			T.children[i] = [];
			if (i > 0) {
				T.depth[i] = T.depth[parent[i]] + 1;
				T.children[parent[i]].push(i);
			}
		}
		/* children by name, as flamegraph.pl draws them, so the picture is stable */
		for (i = 0; i < n; i++)
			T.children[i].sort(function (a, b) {
				var x = strings[name[a]] || '', y = strings[name[b]] || '';
				return x < y ? -1 : x > y ? 1 : a - b;
			});
		return T;
	}

	function create(o) {
		var S = o.strings;
		var keyOf = o.key || function (T, n) { return [T.name[n]]; };
		var canvas = $('fg-canvas'), ctx = canvas.getContext('2d'), tip = $('fg-tip');
		var self = {state: {zoom: [], q: '', icicle: false}, T: null};
		var layout = null, focusNode = -1;

		function pathOf(T, n) {
			var p = [];
			for (; n > 0; n = T.parent[n])
				p.unshift(n);
			return p;
		}
		function zoomNode(T) {
			var n = 0, z = self.state.zoom, w = keyOf(T, 0).length;
			for (var i = 0; i + w <= z.length; i += w) {
				var ch = T.children[n], found = -1;
				for (var j = 0; j < ch.length && found < 0; j++) {
					var k = keyOf(T, ch[j]), same = true;
					for (var q = 0; q < w; q++)
						same = same && k[q] === z[i + q];
					if (same)
						found = ch[j];
				}
				if (found < 0)
					break;
				n = found;
			}
			return n;
		}
		function matches(T, re) {
			var m = new Uint8Array(T.parent.length);
			for (var i = 0; re && i < T.parent.length; i++)
				if (re.test(S[T.name[i]] || ''))
					m[i] = 1;
			return m;
		}
		function draw() {
			var T = self.T;
			if (!T)
				return;
			var z = zoomNode(T), re = reOf(self.state.q);
			$('fg-search').classList.toggle('bad', re === undefined);
			var hit = matches(T, re || null);
			var cssW = canvas.clientWidth || 1000, dpr = window.devicePixelRatio || 1;
			var scale = T.value[z] ? cssW / T.value[z] : 0;
			var rects = [], anc = pathOf(T, z);
			anc.unshift(0);
			anc.pop();
			anc.forEach(function (a, d) { rects.push([a, 0, cssW, d]); });
			var maxD = anc.length, stack = [z, 0, anc.length], matched = 0, under = [z];
			while (under.length) {
				var u = under.pop();
				if (hit[u])
					matched += T.value[u];
				else
					Array.prototype.push.apply(under, T.children[u]);
			}
			while (stack.length) {
				var d = stack.pop(), x = stack.pop(), n = stack.pop();
				var w = T.value[n] * scale;
				if (w < 0.3)
					continue;
				rects.push([n, x, w, d]);
				if (d > maxD)
					maxD = d;
				var ch = T.children[n], cx = x;
				for (var i = 0; i < ch.length; i++) {
					stack.push(ch[i], cx, d + 1);
					cx += T.value[ch[i]] * scale;
				}
			}
			var H = (maxD + 1) * ROW_H + 4;
			canvas.style.height = H + 'px';
			canvas.width = Math.round(cssW * dpr);
			canvas.height = Math.round(H * dpr);
			ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
			ctx.clearRect(0, 0, cssW, H);
			ctx.font = '11px system-ui, sans-serif';
			ctx.textBaseline = 'middle';
			var matchColour = getComputedStyle(document.documentElement)
				.getPropertyValue('--match').trim() || '#c026d3';
			var drawn = 0;
			rects.forEach(function (r) {
				var n = r[0];
				var y = self.state.icicle ? r[3] * ROW_H : H - (r[3] + 1) * ROW_H;
				r.push(y);
				ctx.fillStyle = hit[n] ? matchColour : o.colour(T, n);
				ctx.fillRect(r[1], y, Math.max(r[2] - 0.5, 0.3), ROW_H - 1);
				if (hit[n])
					drawn++;
				if (n === focusNode) {
					ctx.strokeStyle = '#000';
					ctx.lineWidth = 2;
					ctx.strokeRect(r[1] + 1, y + 1, Math.max(r[2] - 2, 1), ROW_H - 3);
				}
				if (r[2] > 30) {
					ctx.fillStyle = '#111';
					var label = S[T.name[n]] || '', maxc = Math.floor((r[2] - 6) / 6);
					if (label.length > maxc)
						label = label.slice(0, Math.max(maxc - 2, 0)) + '..';
					ctx.fillText(label, r[1] + 3, y + ROW_H / 2);
				}
			});
			layout = {rects: rects, zoom: z};
			canvas.dataset.frames = String(rects.length);
			canvas.dataset.matches = String(drawn);
			canvas.setAttribute('aria-label', 'Flame graph of ' + (S[T.name[z]] || 'all') + ', ' +
				o.amount(T.value[z]) + '; ' + rects.length + ' frames drawn. The table below lists them.');
			$('fg-match').textContent = re ? 'Matched: ' + pct(T.value[z] ? matched / T.value[z] : 0) +
				' (' + o.amount(matched) + ')' : re === undefined ? 'invalid regular expression' : '';
			crumbs(T, z);
			table(T, z, hit);
		}
		function crumbs(T, z) {
			var box = clear($('fg-crumbs')), path = pathOf(T, z);
			path.unshift(0);
			path.forEach(function (n, i) {
				if (i)
					box.appendChild(document.createTextNode(' › '));
				var b = document.createElement('button');
				b.type = 'button';
				b.textContent = S[T.name[n]] || 'all';
				if (n === z)
					b.setAttribute('aria-current', 'true');
				b.addEventListener('click', function () { zoomTo(n); });
				box.appendChild(b);
			});
		}
		/* the table alternative: the zoomed subtree in pre-order, frames of at least 0.1% */
		function table(T, z, hit) {
			var body = clear($('fg-table').tBodies[0]);
			var tot = T.value[z] || 1, st = [z], rows = 0;
			var frag = document.createDocumentFragment();
			while (st.length && rows < 2000) {
				var n = st.pop();
				if (T.value[n] < tot * 0.001 && n !== z)
					continue;
				var tr = document.createElement('tr');
				if (hit[n])
					tr.className = 'match';
				var name = document.createElement('td');
				name.textContent = S[T.name[n]] || '';
				name.style.paddingLeft = (0.45 + 0.8 * (T.depth[n] - T.depth[z])) + 'rem';
				tr.setAttribute('aria-level', String(T.depth[n] - T.depth[z] + 1));
				tr.appendChild(name);
				o.cells(T, n, z).forEach(function (c) {
					var td = document.createElement('td');
					td.textContent = c[0];
					if (c[1])
						td.className = 'num';
					tr.appendChild(td);
				});
				frag.appendChild(tr);
				rows++;
				var ch = T.children[n].slice().sort(function (a, b) { return T.value[a] - T.value[b]; });
				for (var i = 0; i < ch.length; i++)
					st.push(ch[i]);
			}
			body.appendChild(frag);
		}
		function rectAt(px, py) {
			for (var i = layout ? layout.rects.length - 1 : -1; i >= 0; i--) {
				var r = layout.rects[i];
				if (px >= r[1] && px < r[1] + r[2] && py >= r[4] && py < r[4] + ROW_H)
					return r;
			}
			return null;
		}
		function showTip(n, x, y) {
			tip.textContent = o.tip(self.T, n, layout ? layout.zoom : 0);
			tip.hidden = false;
			var wrap = canvas.parentNode.getBoundingClientRect();
			tip.style.left = Math.max(Math.min(x + 12, wrap.width - tip.offsetWidth - 4), 0) + 'px';
			tip.style.top = (y + 14) + 'px';
		}
		function changed() {
			if (o.onChange)
				o.onChange();
		}
		function zoomTo(n) {
			var z = [];
			pathOf(self.T, n).forEach(function (x) { z.push.apply(z, keyOf(self.T, x)); });
			self.state.zoom = z;
			focusNode = n;
			changed();
			draw();
		}
		function resetZoom() {
			self.state.zoom = [];
			focusNode = -1;
			changed();
			draw();
		}
		canvas.addEventListener('mousemove', function (ev) {
			var b = canvas.getBoundingClientRect(), r = rectAt(ev.clientX - b.left, ev.clientY - b.top);
			if (r)
				showTip(r[0], ev.clientX - b.left, ev.clientY - b.top);
			else
				tip.hidden = true;
		});
		canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
		canvas.addEventListener('click', function (ev) {
			var b = canvas.getBoundingClientRect(), r = rectAt(ev.clientX - b.left, ev.clientY - b.top);
			if (r)
				zoomTo(r[0]);
		});
		canvas.addEventListener('keydown', function (ev) {
			var T = self.T;
			if (!T)
				return;
			var n = focusNode >= 0 && focusNode < T.parent.length ? focusNode : zoomNode(T);
			var up = self.state.icicle ? 'ArrowDown' : 'ArrowUp';
			var down = self.state.icicle ? 'ArrowUp' : 'ArrowDown';
			var next = n;
			if (ev.key === up) {
				var ch = T.children[n].slice().sort(function (a, b) { return T.value[b] - T.value[a]; });
				if (ch.length)
					next = ch[0];
			} else if (ev.key === down) {
				if (n > 0)
					next = T.parent[n];
			} else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
				if (n > 0) {
					var sib = T.children[T.parent[n]];
					var k = sib.indexOf(n) + (ev.key === 'ArrowLeft' ? -1 : 1);
					if (k >= 0 && k < sib.length)
						next = sib[k];
				}
			} else if (ev.key === 'Enter' || ev.key === ' ') {
				zoomTo(n);
				ev.preventDefault();
				return;
			} else if (ev.key === 'Escape') {
				resetZoom();
				return;
			} else if (ev.key === '/') {
				$('fg-search').focus();
				ev.preventDefault();
				return;
			} else {
				return;
			}
			ev.preventDefault();
			focusNode = next;
			draw();
			var r = layout.rects.filter(function (q) { return q[0] === next; })[0];
			if (r)
				showTip(next, r[1] + r[2] / 2, r[4]);
		});
		$('fg-reset').addEventListener('click', resetZoom);
		$('fg-invert').addEventListener('click', function () {
			self.state.icicle = !self.state.icicle;
			$('fg-invert').setAttribute('aria-pressed', String(self.state.icicle));
			changed();
			draw();
		});
		var timer = 0;
		$('fg-search').addEventListener('input', function () {
			clearTimeout(timer);
			timer = setTimeout(function () {
				self.state.q = $('fg-search').value;
				changed();
				draw();
			}, 120);
		});
		document.addEventListener('keydown', function (ev) {
			if (ev.key === 'Escape' && document.activeElement === $('fg-search')) {
				$('fg-search').value = '';
				self.state.q = '';
				changed();
				draw();
			}
		});
		var resizeTimer = 0;
		window.addEventListener('resize', function () {
			clearTimeout(resizeTimer);
			resizeTimer = setTimeout(draw, 150);
		});
		self.setTree = function (T) {
			self.T = T;
			focusNode = -1;
			$('fg-invert').setAttribute('aria-pressed', String(self.state.icicle));
			if ($('fg-search').value !== self.state.q)
				$('fg-search').value = self.state.q;
			draw();
		};
		self.draw = draw;
		return self;
	}

	return {create: create, tree: tree, pct: pct};
})();
