/*
 * page.js: the DOM helpers (and the search's regex) of every perfsight page (report.js, flame.js, diff.js, trend.js),
 * loaded first. Text only ever enters the page as text (textContent): never as HTML.
 */
var PerfsightPage = (function () {
	'use strict';
	function $(id) { return document.getElementById(id); }
	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}
	function add(parent) {
		for (var i = 1; i < arguments.length; i++)
			parent.appendChild(arguments[i]);
		return parent;
	}
	function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
	function td(text, cls) { return el('td', cls, text); }
	/* the user's regular expression: null for none, undefined when it does not compile */
	function reOf(q) {
		if (!q)
			return null;
		try {
			return new RegExp(q);
		} catch (e) {
			return undefined;
		}
	}
	return {$: $, el: el, add: add, clear: clear, td: td, reOf: reOf};
})();
