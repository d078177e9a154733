/*
 * perfsight SVG flame graph: zoom (click a frame; "Reset Zoom" or Escape undoes it) and regex
 * search ("Search", or Ctrl-F, or #s=REGEX in the URL) with the matched share, in the spirit of
 * flamegraph.pl. Frame names are read from the <title> text nodes and written back as text only.
 */
(function () {
	'use strict';
	var svg = document.documentElement;
	var inverted = svg.getAttribute('data-inverted') === '1';
	var pad = Number(svg.getAttribute('data-pad')) || 10;
	var width = Number(svg.getAttribute('width'));
	var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
	var details = document.getElementById('details');
	var matchedText = document.getElementById('matched');
	var unzoomBtn = document.getElementById('unzoom');
	var searchBtn = document.getElementById('search');
	var total = 0;
	var searching = null;

	frames.forEach(function (g) {
		var r = g.querySelector('rect');
		var t = g.querySelector('title').textContent;
		g._name = t.replace(/ \([0-9]+ [^()]*, [0-9.]+%\)$/, '');
		g._info = t;
		g._x = Number(r.getAttribute('x'));
		g._w = Number(r.getAttribute('width'));
		g._y = Number(r.getAttribute('y'));
		g._fill = r.getAttribute('fill');
		g._n = Number(g.getAttribute('data-samples'));
		if (g._n > total)
			total = g._n;
	});

	function label(g, w) {
		var text = g.querySelector('text');
		var r = g.querySelector('rect');
		var room = Math.floor((w - 6) / 7);
		var s = g._name;
		if (room < 3)
			s = '';
		else if (s.length > room)
			s = s.slice(0, room - 2) + '..';
		text.textContent = s;
		text.setAttribute('x', (Number(r.getAttribute('x')) + 3).toFixed(2));
	}
	function place(g, x, w, hidden) {
		var r = g.querySelector('rect');
		r.setAttribute('x', x.toFixed(2));
		r.setAttribute('width', w.toFixed(2));
		g.classList.toggle('hide', !!hidden);
		label(g, w);
	}
	function isAncestor(a, g) {
		return inverted ? a._y < g._y : a._y > g._y;
	}
	function zoom(g) {
		var x0 = g._x, w0 = g._w;
		var ratio = (width - 2 * pad) / w0;
		frames.forEach(function (f) {
			var inside = f._x >= x0 - 0.001 && f._x + f._w <= x0 + w0 + 0.001;
			if (f === g || (inside && !isAncestor(f, g))) {
				place(f, pad + (f._x - x0) * ratio, f._w * ratio, false);
			} else if (f._x <= x0 + 0.001 && f._x + f._w >= x0 + w0 - 0.001 && isAncestor(f, g)) {
				place(f, pad, width - 2 * pad, false);
				f.setAttribute('opacity', '0.6');
			} else {
				place(f, f._x, f._w, true);
			}
		});
		unzoomBtn.classList.remove('hide');
		svg.setAttribute('data-zoomed', g._name);
		if (searching)
			search(searching);
	}
	function unzoom() {
		frames.forEach(function (f) {
			f.removeAttribute('opacity');
			place(f, f._x, f._w, false);
		});
		unzoomBtn.classList.add('hide');
		svg.removeAttribute('data-zoomed');
		if (searching)
			search(searching);
	}
	function search(re) {
		var hits = 0;
		/* the matched share counts a frame only when no matching frame is below it */
		var spans = [];
		frames.forEach(function (f) {
			var r = f.querySelector('rect');
			var m = re && re.test(f._name);
			r.setAttribute('fill', m ? 'rgb(230,0,230)' : f._fill);
			f.classList.toggle('match', !!m);
			if (m) {
				hits++;
				spans.push(f);
			}
		});
		spans.sort(function (a, b) { return a._x - b._x || b._w - a._w; });
		var sum = 0, end = -1;
		spans.forEach(function (f) {
			if (f._x >= end - 0.001) {
				sum += f._n;
				end = f._x + f._w;
			}
		});
		svg.setAttribute('data-matches', String(hits));
		matchedText.textContent = re ? 'Matched: ' + (total ? (100 * sum / total).toFixed(1) : '0.0') +
			'%' : ' ';
		searchBtn.textContent = re ? 'Reset Search' : 'Search';
	}
	function askSearch() {
		if (searching) {
			searching = null;
			search(null);
			return;
		}
		var q = window.prompt('Enter a search term (regexp allowed)', '');
		if (!q)
			return;
		try {
			searching = new RegExp(q);
		} catch (e) {
			matchedText.textContent = 'invalid regular expression';
			return;
		}
		search(searching);
	}
	frames.forEach(function (g) {
		g.addEventListener('click', function () { zoom(g); });
		g.addEventListener('mouseover', function () { details.textContent = g._info; });
		g.addEventListener('mouseout', function () { details.textContent = ' '; });
	});
	unzoomBtn.addEventListener('click', unzoom);
	searchBtn.addEventListener('click', askSearch);
	window.addEventListener('keydown', function (ev) {
		if (ev.key === 'Escape')
			unzoom();
		else if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f') {
			ev.preventDefault();
			askSearch();
		}
	});
	var m = /[#&]s=([^&]*)/.exec(location.hash);
	if (m) {
		try {
			searching = new RegExp(decodeURIComponent(m[1]));
			search(searching);
		} catch (e) {
			matchedText.textContent = 'invalid regular expression';
		}
	}
	frames.forEach(function (g) { label(g, g._w); });
})();
