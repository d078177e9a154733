#!/usr/bin/env node
/*
 * Browser checks of perfsight's HTML report and SVG flame graph in the system's headless
 * Chromium, driven by playwright-core (no browser is downloaded).
 *
 *   node run.js report FILE.html SHOTDIR             the interactive report
 *   node run.js hostile FILE.html SHOTDIR            hostile strings stay text, nothing runs
 *   node run.js svg FILE.svg FOLDED SHOTDIR          the standalone SVG flame graph
 *   node run.js svghostile FILE.svg FOLDED SHOTDIR   the same with hostile names
 *   node run.js open FILE.html SHOTDIR               time to open and draw (prints ms)
 *   node run.js callgraph FILE.html SHOTDIR          the call-graph view (pstats, callgrind)
 *   node run.js diff|diffhostile|trend|trendhostile FILE.html SHOTDIR
 *                                                    perfsight diff's and trend's pages
 *                                                    (pages.js)
 *
 * The expected facts come from the data the report embeds (docs/report-data.md), read from the
 * file itself, never from what the page shows.
 *
 * Prints one line per check: "ok - NAME" or "not ok - NAME: WHY" (tests/e2e/browser.sh numbers
 * them). Any request the page makes is a failure: the report must be self-contained.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const {chromium} = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [mode, file, aux, svgShots] = process.argv.slice(2);
/* where screenshots go: the last argument */
const shotdir = ['report', 'hostile', 'open', 'callgraph', 'diff', 'diffhostile', 'trend',
	'trendhostile'].includes(mode) ? aux : svgShots;
let failed = 0;

function skip(name, why) { console.log('ok - ' + name + ' # SKIP ' + why); }
function ok(name) { console.log('ok - ' + name); }
function nok(name, why) {
	failed++;
	console.log('not ok - ' + name + ': ' + String(why).replace(/\n/g, ' '));
}
function check(name, cond, why) { cond ? ok(name) : nok(name, why); }

async function launch() {
	const userDir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'perfsight-chromium-'));
	const ctx = await chromium.launchPersistentContext(userDir, {
		executablePath: CHROMIUM,
		headless: true,
		viewport: {width: 1280, height: 900},
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			'--disable-dev-shm-usage'],
	});
	return {ctx, userDir};
}

/* Opens url, recording console errors, page errors, dialogs and every request. */
async function open(ctx, url) {
	const page = await ctx.newPage();
	const log = {errors: [], requests: [], dialogs: []};
	page.on('console', (m) => { if (m.type() === 'error') log.errors.push(m.text()); });
	page.on('pageerror', (e) => log.errors.push(String(e)));
	page.on('dialog', async (d) => {
		log.dialogs.push(d.type() + ': ' + d.message());
		if (log.answer !== undefined && d.type() === 'prompt')
			await d.accept(log.answer);
		else
			await d.dismiss();
	});
	page.on('request', (r) => {
		if (r.url() !== url.split('#')[0] && !r.url().startsWith('data:'))
			log.requests.push(r.url());
	});
	const t0 = Date.now();
	await page.goto(url, {waitUntil: 'load'});
	log.loadMs = Date.now() - t0;
	return {page, log};
}

/*
 * The GC trigger table (#gc-trig) against data.gc_triggers: the rows of pid (null: all) summed
 * by Python path, the 15 heaviest; the pause columns only when the data has pauses.
 */
async function gcTriggerChecks(page, data, pid, name) {
	const m = new Map();
	let probes = false;
	(data.gc_triggers || []).filter((x) => pid === null || x.pid === pid).forEach((x) => {
		const k = x.stack.join(',');
		const r = m.get(k) || {samples: 0, pauses: 0, pause_s: 0};
		r.samples += x.gc_samples;
		if (x.pauses !== undefined) {
			probes = true;
			r.pauses += x.pauses;
			r.pause_s += x.pause_s;
		}
		m.set(k, r);
	});
	const want = [...m.values()].sort((a, b) => (b.pause_s - a.pause_s) || (b.samples - a.samples))
		.slice(0, 15);
	const rows = await page.$$eval('#gc-trig tbody tr', (trs) => trs.map((tr) =>
		[...tr.cells].map((c) => c.textContent)));
	const hidden = await page.$$eval('#gc-trig thead th', (th) => th.map((x) => x.hidden));
	const nums = (col) => rows.map((r) => parseInt(r[col], 10)).sort((a, b) => a - b);
	const wantNums = (k) => want.map((r) => r[k]).sort((a, b) => a - b);
	const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
	if (!want.length) {
		check(name, rows.length === 1 && /None in this selection/.test(rows[0].join('')),
			'no trigger rows in the data, the table shows ' + JSON.stringify(rows));
		return;
	}
	check(name, rows.length === want.length && hidden[1] === !probes && hidden[2] === !probes &&
		same(nums(probes ? 3 : 1), wantNums('samples')) &&
		(!probes || same(nums(1), wantNums('pauses'))),
		'shown ' + JSON.stringify(rows.slice(0, 3)) + ', want ' + JSON.stringify(want.slice(0, 3)) +
		', pause columns hidden ' + hidden.slice(1, 3) + ' with probes ' + probes);
}

/* page.waitForFunction evaluates a string, which the report's CSP rightly forbids: poll */
async function waitFor(page, fn, timeout) {
	const end = Date.now() + (timeout || 10000);
	for (;;) {
		if (await page.evaluate(fn).catch(() => false))
			return true;
		if (Date.now() > end)
			return false;
		await page.waitForTimeout(50);
	}
}

/* The graph can be taller than the window: scroll its root row into view, return its box. */
async function bottomOfCanvas(page) {
	await page.evaluate(() => {
		const r = document.getElementById('fg-canvas').getBoundingClientRect();
		window.scrollBy(0, r.bottom - window.innerHeight + 40);
	});
	return (await page.$('#fg-canvas')).boundingBox();
}

function fileUrl(f) { return 'file://' + path.resolve(f); }

/* The report data embedded in an HTML report (its <, >, & are \u escapes, which JSON reads). */
function embeddedData(html) {
	const m = /<script type="application\/json" id="perfsight-data">([^<]*)<\/script>/
		.exec(fs.readFileSync(html, 'utf8'));
	if (!m)
		throw new Error('no perfsight-data script element in ' + html);
	return JSON.parse(m[1]);
}

/* The heaviest Python function of the data (else the heaviest frame), as a literal regex. */
function searchTerm(data) {
	const w = new Map();
	for (const p of data.processes)
		for (const t of p.threads) {
			const m = t.trees.mixed;
			for (let i = 1; i < m.parent.length; i++) {
				const py = m.kind[i] <= 1 ? 1e9 : 0;
				w.set(m.name[i], (w.get(m.name[i]) || 0) + m.self[i] + m.total[i] + py);
			}
		}
	const best = Array.from(w.entries()).sort((a, b) => b[1] - a[1])[0][0];
	return data.strings[best].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function report(ctx, data, hostile) {
	const {page, log} = await open(ctx, fileUrl(file));
	const tag = hostile ? 'hostile' : 'report';
	await waitFor(page, () => document.documentElement.dataset.ready === '1');
	check(tag + '::loads', await page.evaluate(() => document.documentElement.dataset.ready === '1'),
		'report.js did not finish: ' + log.errors.join(' | '));
	const frames = Number(await page.getAttribute('#fg-canvas', 'data-frames'));
	const painted = await page.evaluate(() => {
		const c = document.getElementById('fg-canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4 * 7)
			if (d[i]) n++;
		return n;
	});
	check(tag + '::flame_graph_draws', frames > 1 && painted > 100,
		'frames ' + frames + ', painted pixels ' + painted);
	await page.screenshot({path: path.join(shotdir, tag + '.png'), fullPage: true});

	if (hostile) {
		/* every payload the data holds is shown as text: frame names in the table, comms */
		await page.click('#fg-table-box summary');
		const text = await page.evaluate(() => document.body.innerText);
		const titleText = await page.title();
		const held = data.strings.concat(data.processes.map((p) => [String(p.comm)].concat(
			p.threads.map((t) => String(t.comm)))).flat(), [String((data.meta || {}).command)]);
		let present = 0;
		for (const s of ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
			'"quoted" \'single\' & <b>bold</b>', '<i>\'"&x</i>']) {
			if (!held.some((x) => x.includes(s)))
				continue;
			present++;
			check('hostile::visible_as_text ' + JSON.stringify(s.slice(0, 12)), text.includes(s),
				'not found in the page text');
		}
		check('hostile::payloads_in_data', present >= 2, present + ' payloads in the data');
		check('hostile::title_is_text', titleText.includes('<img src=x onerror=alert(1)>'),
			'title: ' + titleText);
		const tableText = await page.textContent('#fg-table');
		check('hostile::frame_names_as_text', tableText.includes('<img src=x onerror=alert(1)>') ||
			tableText.includes('</script><script>'), 'no hostile frame in the table');
		/* exercise the parts that render names: search, zoom, top functions, requests */
		await page.fill('#fg-search', 'onerror|script|quoted');
		await page.waitForTimeout(300);
		await page.click('#top-table tbody tr');
		const bb = await bottomOfCanvas(page);
		await page.mouse.move(bb.x + bb.width / 3, bb.y + bb.height - 26);
		await page.mouse.click(bb.x + bb.width / 3, bb.y + bb.height - 26);
		await page.waitForTimeout(200);
		const dom = await page.evaluate(() => ({
			img: document.querySelectorAll('img').length,
			scripts: document.querySelectorAll('script').length,
			bold: document.querySelectorAll('main b, main i').length,
			pwned: typeof window.pwned,
		}));
		check('hostile::no_payload_nodes', dom.img === 0 && dom.bold === 0 && dom.scripts === 2,
			JSON.stringify(dom));
		check('hostile::no_dialog', log.dialogs.length === 0, log.dialogs.join(' | '));
		await page.screenshot({path: path.join(shotdir, 'hostile-after.png'), fullPage: true});
	} else {
		/* search: the highlighted frames are exactly the matching names the data holds */
		const re = searchTerm(data);
		const expected = new Set(data.strings.filter((s) => new RegExp(re).test(s)));
		await page.click('#fg-table-box summary');
		await page.fill('#fg-search', re);
		await waitFor(page, () => /Matched/.test(document.getElementById('fg-match').textContent));
		const matchText = await page.textContent('#fg-match');
		const hits = Number(await page.getAttribute('#fg-canvas', 'data-matches'));
		const rows = await page.$$eval('#fg-table tbody tr.match td:first-child',
			(tds) => tds.map((t) => t.textContent));
		const wrong = rows.filter((r) => !expected.has(r));
		const share = Number((/Matched: ([0-9.]+)%/.exec(matchText) || [])[1]);
		check('report::search_highlights', hits > 0 && rows.length > 0 && !wrong.length &&
			share > 0 && share <= 100,
			'matches ' + hits + ', rows ' + rows.length + ', wrong ' + wrong.slice(0, 3) + ', ' + matchText);
		const unmatched = await page.$$eval('#fg-table tbody tr:not(.match) td:first-child',
			(tds) => tds.map((t) => t.textContent));
		check('report::search_leaves_others', !unmatched.some((r) => new RegExp(re).test(r)),
			'an unhighlighted row matches');
		await page.screenshot({path: path.join(shotdir, 'search.png')});
		await page.fill('#fg-search', '');
		await page.waitForTimeout(300);

		/* a click on the second row from the bottom zooms into that frame */
		const before = await page.$$eval('#fg-crumbs button', (b) => b.length);
		const bb = await bottomOfCanvas(page);
		await page.mouse.click(bb.x + bb.width / 2, bb.y + bb.height - 2 - 17 * 1.5);
		await page.waitForTimeout(100);
		const after = await page.$$eval('#fg-crumbs button', (b) => b.map((x) => x.textContent));
		const hash = await page.evaluate(() => location.hash);
		check('report::click_zooms', after.length > before && /zoom=/.test(hash),
			'breadcrumbs ' + before + ' -> ' + after.length + ', hash ' + hash);
		await page.screenshot({path: path.join(shotdir, 'zoomed.png')});
		await page.click('#fg-reset');
		const reset = await page.$$eval('#fg-crumbs button', (b) => b.length);
		check('report::reset_zoom', reset === 1, reset + ' breadcrumbs after reset');

		/*
		 * each view shows the frames of that view's trees in the data and no other, and the
		 * table changes with the view wherever the data's trees differ
		 */
		const shown = async () => page.$$eval('#fg-table tbody tr td:first-child',
			(tds) => Array.from(new Set(tds.map((t) => t.textContent))));
		const shownText = async () => page.textContent('#fg-table tbody');
		const viewNames = {}, viewKey = {};
		for (const v of ['native', 'mixed', 'python']) {
			viewNames[v] = new Set();
			viewKey[v] = '';
			for (const p of data.processes)
				for (const t of p.threads) {
					t.trees[v].name.forEach((n) => viewNames[v].add(data.strings[n]));
					viewKey[v] += t.trees[v].name.join(',') + '/' + t.trees[v].total.join(',') + ';';
				}
		}
		const seen = {}, text = {};
		for (const v of ['python', 'native', 'mixed']) {
			await page.click('button[data-view="' + v + '"]');
			seen[v] = await shown();
			text[v] = await shownText();
		}
		const foreign = ['native', 'mixed', 'python'].map((v) =>
			seen[v].filter((n) => !viewNames[v].has(n)).slice(0, 3).map((n) => v + ': ' + n)).flat();
		const same = [['python', 'mixed'], ['native', 'mixed']].filter(([a, b]) =>
			viewKey[a] !== viewKey[b] && text[a] === text[b]).map((x) => x.join('='));
		check('report::view_switch', !foreign.length && !same.length && seen.python.length > 1,
			'frames of another view ' + foreign + ', unchanged ' + same);
		await page.click('button[data-view="mixed"]');

		/* "What to change" heads the page when the capture was analysed: one item per
		 * verdict, named by its id, and every not-judged one with its reason */
		const wtc = data.what_to_change;
		if (!wtc) {
			skip('report::what_to_change', 'no analysis in this capture');
		} else {
			const got = await page.evaluate(() => ({
				hidden: document.getElementById('change').hidden,
				first: document.querySelector('main section:not([hidden])').id,
				ids: Array.from(document.querySelectorAll('#change-list li.verdict strong'))
					.map((e) => e.textContent),
				skips: document.querySelectorAll('#change-skip li').length,
			}));
			const want = (wtc.verdicts || []).map((v) => v.id);
			check('report::what_to_change', !got.hidden && got.first === 'change' &&
				JSON.stringify(got.ids) === JSON.stringify(want) &&
				got.skips === (wtc.not_judged || []).length,
			JSON.stringify(got) + ' want ' + JSON.stringify(want));
		}

		/* a request handler's row shows only the stacks through it: the figures say the
		 * sum, over every thread's mixed tree, of the outermost frames of that name */
		const allRows = (data.handlers || {}).rows || [];
		const views = allRows.filter((r) => r.kind === 'view');
		const hrows = views.length ? views : allRows;
		if (!hrows.length) {
			/* no dispatch seen: the section says so (or, without the analysis, is not shown) */
			const hidden = await page.evaluate(() => document.getElementById('handlers').hidden);
			const note = await page.textContent('#handlers-note');
			check('report::no_handler_table_without_dispatch', data.handlers ?
				!hidden && /No request dispatch of a known framework/.test(note) &&
				!(data.handlers.rows || []).length : hidden,
				'section hidden ' + hidden + ', note "' + note + '"');
		} else {
			const h = hrows[0];
			let want = 0;
			for (const p of data.processes)
				for (const t of p.threads || []) {
					const T = t.trees.mixed;
					for (let i = 1; i < T.parent.length; i++) {
						if (T.name[i] !== h.name)
							continue;
						let a = T.parent[i], outer = true;
						for (; a > 0; a = T.parent[a])
							if (T.name[a] === h.name)
								outer = false;
						if (outer)
							want += T.total[i];
					}
				}
			const before = await page.textContent('#fg-figures');
			await page.click('#handlers-table tr[data-handler="' + h.name + '"]');
			const during = await page.textContent('#fg-figures');
			const filt = await page.textContent('#filter');
			const active = await page.getAttribute('#handlers-table tr[data-handler="' + h.name + '"]',
				'aria-selected');
			await page.click('#handlers-table tr[data-handler="' + h.name + '"]');
			const after = await page.textContent('#fg-figures');
			check('report::handler_filter', want > 0 && during.includes(want.toLocaleString('en-US')) &&
				filt.includes(data.strings[h.name]) && active === 'true' && after === before,
				'want ' + want + ': "' + before + '" -> "' + during + '" -> "' + after + '", filter "' +
				filt + '", selected ' + active);
		}

		/* the GC by the code that triggers it: the data's rows summed by Python path */
		await gcTriggerChecks(page, data, null, 'report::gc_triggers_table');
		const busiest = (await page.$$eval('#findings li', (l) => l.map((x) => x.textContent)))
			.filter((s) => s.startsWith('The busiest Python function is '))[0];
		/* the GC its code triggers: the trigger rows with it on the stack, their GC samples as a
		 * share of all samples and, with probes, their pauses (unless a process's rows were cut
		 * at 20, when the sum is not all of it) */
		const trig = data.gc_triggers || [];
		const perPid = {};
		trig.forEach((x) => { perPid[x.pid] = (perPid[x.pid] || 0) + 1; });
		if (!busiest || !trig.length || Object.values(perPid).some((n) => n >= 20)) {
			skip('report::busiest_counts_its_gc', !busiest ? 'no busiest Python function'
				: !trig.length ? 'no GC in this capture' : 'a process has 20 trigger rows: the data holds not all');
		} else {
			const from = 'The busiest Python function is '.length;
			const name = busiest.slice(from, busiest.indexOf(': ', from));
			const ids = data.strings.map((s, i) => s === name ? i : -1).filter((i) => i >= 0);
			const mine = trig.filter((x) => x.stack.some((s) => ids.includes(s)));
			const pauses = mine.reduce((a, x) => a + (x.pauses || 0), 0);
			const samples = mine.reduce((a, x) => a + x.gc_samples, 0);
			const all = data.processes.reduce((a, p) => a + p.threads.reduce((b, t) =>
				b + t.trees.mixed.total[0], 0), 0);
			const m = /the garbage collection its code triggered \(([0-9.]+)% of CPU/.exec(busiest);
			const probes = trig.some((x) => x.pauses !== undefined);
			check('report::busiest_counts_its_gc', (samples === 0 && pauses === 0) ? !m :
				m && Math.abs(parseFloat(m[1]) - 100 * samples / all) <= 0.15 &&
				(!probes || busiest.includes('; ' + pauses + ' pauses, ')),
				'"' + busiest + '": ' + samples + ' GC samples of ' + all + ' and ' + pauses +
				' pauses began under ' + name);
		}

		/* the worker filter changes the figures everywhere */
		const figs = await page.textContent('#fg-figures');
		const top = await page.textContent('#top-table tbody');
		/* a worker when there are several processes, else a thread of the only one */
		const worker = data.processes.filter((p) => p.role === 'worker')[0] || data.processes[0];
		const thread = data.processes.length > 1 ? null : worker.threads.length > 1 ?
			worker.threads[worker.threads.length - 1] : undefined;
		if (thread === undefined) {
			skip('report::worker_filter', 'one process with one thread: nothing to filter');
			skip('report::filter_gc_list', 'one process with one thread: nothing to filter');
			skip('report::filter_gil_list', 'one process with one thread: nothing to filter');
		} else {
			await page.click(thread ? '#workers-table tr.thread[data-tid="' + thread.tid + '"]'
				: '#workers-table tr.process[data-pid="' + worker.pid + '"]');
			const figs2 = await page.textContent('#fg-figures');
			const top2 = await page.textContent('#top-table tbody');
			const filt = await page.textContent('#filter');
			const total = (thread ? [thread] : worker.threads)
				.reduce((a, t) => a + t.trees.mixed.total[0], 0);
			const who = String(thread ? thread.tid : worker.pid);
			check('report::worker_filter', figs2 !== figs && top2 !== top && filt.includes(who) &&
				figs2.includes(total.toLocaleString('en-US')),
				'figures "' + figs + '" -> "' + figs2 + '", want ' + total);
			const gcRows = await page.$$eval('#gc-long tbody tr td:nth-child(3)',
				(t) => t.map((x) => x.textContent));
			const want = thread ? worker.pid + '/' + thread.tid : worker.pid + '/';
			check('report::filter_gc_list', gcRows.every((r) => r.startsWith(want)),
				'GC rows of others: ' + gcRows.filter((r) => !r.startsWith(want)));
			const gilRows = await page.$$eval('#gil-long tbody tr td:nth-child(3)',
				(t) => t.map((x) => x.textContent));
			const gilWant = (data.gil_waits || []).filter((x) => x.pid === worker.pid &&
				(!thread || x.tid === thread.tid)).length;
			check('report::filter_gil_list', gilRows.every((r) => r.startsWith(want)) &&
				(gilWant === 0) === (gilRows.length === 0),
				gilRows.length + ' rows for ' + gilWant + ' waits of the selection, others: ' +
				gilRows.filter((r) => !r.startsWith(want)));
			await gcTriggerChecks(page, data, worker.pid, 'report::filter_gc_triggers');
		}
		await page.screenshot({path: path.join(shotdir, 'worker.png'), fullPage: true});
		/* the state survives a reload through the URL hash */
		await page.click('button[data-view="python"]');
		await page.reload();
		await waitFor(page, () => document.documentElement.dataset.ready === '1');
		const pressed = await page.getAttribute('button[data-view="python"]', 'aria-pressed');
		const filt2 = await page.textContent('#filter');
		check('report::state_in_hash', pressed === 'true' && (thread === undefined ||
			filt2.includes(String(thread ? thread.tid : worker.pid))),
			'after reload: python pressed ' + pressed + ', filter ' + filt2);
		/* top functions: sorting, callers and callees */
		await page.click('button[data-view="mixed"]');
		await page.click('#top-table th button[data-sort="total"]');
		const totals = await page.$$eval('#top-table tbody tr td:nth-child(4)',
			(t) => t.map((x) => parseFloat(x.textContent)));
		check('report::top_sorted', totals.length > 1 && totals.every((v, i) => !i || totals[i - 1] >= v),
			'totals ' + totals.slice(0, 5));
		await page.click('#top-table tbody tr:nth-child(2)');
		const callers = await page.$$eval('#top-callers tbody tr', (t) => t.length);
		check('report::callers_callees', callers > 0, 'no callers shown');
		if (data.pyinstrument) {
			const req = await page.$$eval('#pyi-req tbody tr', (t) => t.length);
			const tree = await page.$$eval('#pyi-tree summary', (t) => t.length);
			check('report::pyinstrument', req === data.pyinstrument.sessions.length && tree > 0,
				req + ' requests, ' + tree + ' tree nodes');
		}
		/* keyboard: focus the graph, move up and zoom with Enter */
		await page.click('#fg-reset');
		await page.focus('#fg-canvas');
		await page.keyboard.press('ArrowUp');
		await page.keyboard.press('Enter');
		const kcrumbs = await page.$$eval('#fg-crumbs button', (b) => b.length);
		check('report::keyboard_zoom', kcrumbs === 2, kcrumbs + ' breadcrumbs');
		await page.emulateMedia({colorScheme: 'dark'});
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		check('report::dark_mode', bg !== 'rgb(253, 253, 252)', 'background ' + bg);
		await page.screenshot({path: path.join(shotdir, 'dark.png')});
		await page.emulateMedia({media: 'print', colorScheme: 'light'});
		const printed = await page.evaluate(() => ({
			controls: getComputedStyle(document.querySelector('.controls')).display,
			header: getComputedStyle(document.querySelector('header')).position,
		}));
		check('report::print_css', printed.controls === 'none' && printed.header === 'static',
			JSON.stringify(printed));
		await page.pdf({path: path.join(shotdir, 'printed.pdf')}).catch(() => {});
		await page.emulateMedia({media: 'screen'});
	}
	check(tag + '::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	check(tag + '::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.close();
}

async function svg(ctx) {
	const folded = fs.readFileSync(aux, 'utf8').split('\n').filter(Boolean);
	const sum = folded.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
	const {page, log} = await open(ctx, fileUrl(file));
	const root = await page.$eval('g.f', (g) => Number(g.getAttribute('data-samples')));
	const n = await page.$$eval('g.f', (g) => g.length);
	check('svg::totals_equal_folded', root === sum, 'root ' + root + ', folded ' + sum);
	check('svg::draws', n > 1, n + ' frames');
	/* the leaf of the heaviest stack, as a literal regex */
	const heaviest = folded.slice().sort((a, b) => Number(b.slice(b.lastIndexOf(' ') + 1)) -
		Number(a.slice(a.lastIndexOf(' ') + 1)))[0];
	const leaf = heaviest.slice(0, heaviest.lastIndexOf(' ')).split(';').pop();
	const re = new RegExp(leaf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
	log.answer = re.source;
	await page.click('#search');
	const hits = Number(await page.getAttribute('svg', 'data-matches'));
	const names = await page.$$eval('g.f.match title', (t) => t.map((x) => x.textContent));
	const matched = await page.textContent('#matched');
	check('svg::search', hits > 0 && names.every((x) => re.test(x)) &&
		/Matched: [0-9.]+%/.test(matched), hits + ' hits, ' + matched);
	await page.screenshot({path: path.join(shotdir, 'svg-search.png')});
	const target = await page.$$('g.f');
	const frame = target[Math.min(3, target.length - 1)];
	await frame.click();
	const w = await frame.$eval('rect', (r) => Number(r.getAttribute('width')));
	const width = await page.$eval('svg', (s) => Number(s.getAttribute('width')));
	const zoomed = await page.$eval('svg', (s) => s.getAttribute('data-zoomed'));
	check('svg::click_zooms', zoomed && Math.abs(w - (width - 20)) < 0.5,
		'zoomed ' + zoomed + ', width ' + w + ' of ' + width);
	await page.screenshot({path: path.join(shotdir, 'svg-zoom.png')});
	await page.click('#unzoom');
	const w2 = await target[0].$eval('rect', (r) => Number(r.getAttribute('width')));
	check('svg::reset_zoom', Math.abs(w2 - (width - 20)) < 0.5, 'root width ' + w2);
	check('svg::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	check('svg::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.close();
}

async function svgHostile(ctx) {
	const {page, log} = await open(ctx, fileUrl(file) + '#s=onerror');
	const text = await page.evaluate(() => document.documentElement.textContent);
	check('svg-hostile::title_as_text', text.includes('</script><script>alert(3)</script>') &&
		text.includes('<i>\'"&x</i>'), 'title or subtitle missing from the text');
	const titles = await page.$$eval('g.f title', (t) => t.map((x) => x.textContent));
	check('svg-hostile::frame_names_as_text', titles.some((t) => t.includes('<img src=x onerror=alert(1)>')),
		'no hostile frame name');
	const hits = Number(await page.getAttribute('svg', 'data-matches'));
	check('svg-hostile::search', hits > 0, hits + ' matches');
	const frames = await page.$$('g.f');
	for (const f of frames.slice(0, 40))
		await f.hover().catch(() => {});
	await frames[Math.min(2, frames.length - 1)].click();
	const dom = await page.evaluate(() => ({
		scripts: document.querySelectorAll('script').length,
		foreign: document.querySelectorAll('img, i, b, foreignObject').length,
	}));
	check('svg-hostile::no_payload_nodes', dom.scripts === 1 && dom.foreign === 0, JSON.stringify(dom));
	check('svg-hostile::no_dialog', log.dialogs.length === 0, log.dialogs.join(' | '));
	check('svg-hostile::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	check('svg-hostile::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.screenshot({path: path.join(shotdir, 'svg-hostile.png')});
	await page.close();
}

/*
 * The call-graph view of a pstats or callgrind report: the table ranks the data's functions,
 * a function's callers are its edges, the reconstructed parts say they are, and every name
 * (some are markup) is text: no element, no dialog, no request comes of one.
 */
async function callgraph(ctx, data) {
	const G = data.callgraph;
	const {page, log} = await open(ctx, fileUrl(file));
	await waitFor(page, () => document.documentElement.dataset.ready === '1');
	check('cg::loads', await page.evaluate(() => document.documentElement.dataset.ready === '1'),
		'report.js did not finish: ' + log.errors.join(' | '));
	const shown = await page.evaluate(() => ({
		cg: !document.getElementById('cg').hidden,
		flame: !document.getElementById('flame').hidden,
		rows: document.querySelectorAll('#cg-table tbody tr').length,
		first: (document.querySelector('#cg-table tbody tr td') || {}).textContent,
		recon: document.getElementById('cg-recon').textContent,
		tags: Array.from(document.querySelectorAll('#cg h3 .tag')).map((t) => t.textContent),
		hot: document.querySelectorAll('#cg-hot li').length,
		tree: (document.querySelector('#cg-tree summary') || {}).textContent || '',
	}));
	check('cg::shown_instead_of_the_flame_graph', shown.cg && !shown.flame, JSON.stringify(shown));
	const nf = G.functions.name.length;
	check('cg::table_rows', shown.rows === Math.min(nf, 200) + (nf > 200 ? 1 : 0),
		shown.rows + ' rows for ' + nf + ' functions');
	/* the default order: the most self cost of the first event first */
	let best = 0;
	for (let f = 1; f < nf; f++)
		if (G.functions.self[G.event][f] > G.functions.self[G.event][best])
			best = f;
	const want = data.strings[G.functions.name[best]];
	check('cg::heaviest_first', shown.first.startsWith(want), shown.first + ' vs ' + want);
	check('cg::reconstructed_labelled', /reconstructed/.test(shown.tags.join(' ')) &&
		shown.tags.length === 2 && /not measured stacks/.test(shown.recon), shown.tags + ' ' + shown.recon);
	check('cg::hot_paths', shown.hot === Math.max(1, (G.hot_paths || []).length), shown.hot);
	check('cg::tree_root', /all/.test(shown.tree), shown.tree);
	/* a function's callers are its edges in the data */
	await page.click('#cg-table tbody tr');
	const callers = await page.evaluate(() =>
		document.querySelectorAll('#cg-callers tbody tr').length);
	const incoming = G.edges.callee.filter((c) => c === best).length;
	check('cg::callers_are_edges', callers === incoming, callers + ' rows, ' + incoming + ' edges');
	/* names are text: markup in them made no element and no dialog (for the profiles that
	 * have such names: browser.sh gives one of pstats and one of pprofile) */
	const markup = data.strings.filter((t) => /[<>&]/.test(t) && !/^<(built-in|method|module|genexpr|listcomp|lambda)/.test(t));
	if (markup.length) {
		await page.fill('#cg-search', markup.slice(0, 20)
			.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
		await page.waitForTimeout(300);
		const text = await page.evaluate(() => document.getElementById('cg-table').textContent);
		const made = await page.evaluate(() => document.querySelectorAll('#cg img, #cg script').length);
		check('cg::hostile_names_are_text', markup.slice(0, 20).every((t) => text.includes(t)) && made === 0,
			made + ' elements; missing ' + markup.filter((t) => !text.includes(t)).join(' | '));
	}
	check('cg::no_dialog', log.dialogs.length === 0, log.dialogs.join(' | '));
	check('cg::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	check('cg::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.screenshot({path: path.join(shotdir, 'callgraph.png'), fullPage: true});
	await page.close();
}

async function openBig(ctx) {
	const {page, log} = await open(ctx, fileUrl(file));
	await waitFor(page, () => document.documentElement.dataset.ready === '1', 30000);
	const ms = await page.evaluate(() => performance.now());
	console.log('# open_ms ' + Math.round(ms) + ' load_ms ' + log.loadMs);
	check('open::ready', await page.evaluate(() => document.documentElement.dataset.ready === '1'),
		'report.js did not finish');
	check('open::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	check('open::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.screenshot({path: path.join(shotdir, 'big.png')});
	await page.close();
}

(async () => {
	let env;
	try {
		env = await launch();
	} catch (e) {
		nok('browser::launch', e.message.split('\n')[0]);
		process.exit(1);
	}
	try {
		fs.mkdirSync(shotdir, {recursive: true});
		if (mode === 'report' || mode === 'hostile')
			await report(env.ctx, embeddedData(file), mode === 'hostile');
		else if (mode === 'svg')
			await svg(env.ctx);
		else if (mode === 'svghostile')
			await svgHostile(env.ctx);
		else if (mode === 'open')
			await openBig(env.ctx);
		else if (mode === 'callgraph')
			await callgraph(env.ctx, embeddedData(file));
		else if (/^(diff|trend)(hostile)?$/.test(mode))
			await require('./pages.js')({mode, file, url: fileUrl(file), shotdir, ctx: env.ctx,
				open, check, waitFor});
		else
			nok('browser::usage', 'unknown mode ' + mode);
	} catch (e) {
		nok('browser::' + mode, e.message.split('\n')[0]);
	} finally {
		await env.ctx.close();
		fs.rmSync(env.userDir, {recursive: true, force: true});
	}
	process.exit(failed ? 1 : 0);
})();
