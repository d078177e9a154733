/*
 * Browser checks of perfsight's other pages, run by run.js (modes diff, diffhostile, trend,
 * trendhostile): perfsight diff's page (the differential flame graph: draws, colours what
 * changed, search, zoom, views, the base shape, the table) and the trend page (one chart per
 * series, points select their capture, links to reports). Every mode also checks: no console
 * error, no network request, hostile names shown as text and never run.
 * The expectations come from the data each page embeds, as run.js does for the report.
 */
'use strict';
const fs = require('fs');
const path = require('path');

function embedded(file) {
	const m = /<script type="application\/json" id="perfsight-data">([^<]*)<\/script>/
		.exec(fs.readFileSync(file, 'utf8'));
	if (!m)
		throw new Error('no perfsight-data script element in ' + file);
	return JSON.parse(m[1]);
}

const PAYLOADS = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
	'<i>\'"&x</i>'];

/* the payloads the data holds are in the page's text, and no element or dialog came of them */
async function hostileChecks(t, page, log, held, tag) {
	const text = await page.evaluate(() => document.body.innerText + document.title);
	let present = 0;
	for (const s of PAYLOADS) {
		if (!held.some((x) => String(x).includes(s)))
			continue;
		present++;
		t.check(tag + '::visible_as_text ' + JSON.stringify(s.slice(0, 12)), text.includes(s),
			'not found in the page text');
	}
	t.check(tag + '::payloads_in_data', present >= 1, present + ' payloads in the data');
	const dom = await page.evaluate(() => ({
		img: document.querySelectorAll('img').length,
		scripts: document.querySelectorAll('script').length,
		marked: document.querySelectorAll('main b, main i').length,
	}));
	t.check(tag + '::no_payload_nodes', dom.img === 0 && dom.marked === 0 && dom.scripts === 2,
		JSON.stringify(dom));
	t.check(tag + '::no_dialog', log.dialogs.length === 0, log.dialogs.join(' | '));
}

async function common(t, page, log, tag) {
	await t.waitFor(page, () => document.documentElement.dataset.ready === '1');
	t.check(tag + '::loads', await page.evaluate(() => document.documentElement.dataset.ready === '1'),
		'the page did not finish: ' + log.errors.join(' | '));
}

async function diff(t, hostile) {
	const data = embedded(t.file);
	const tag = hostile ? 'diffhostile' : 'diff';
	const {page, log} = await t.open(t.ctx, t.url);
	await common(t, page, log, tag);
	const frames = () => page.evaluate(() => Number(document.getElementById('fg-canvas').dataset.frames));
	const f0 = await frames();
	t.check(tag + '::flame_graph_draws', f0 > 1, 'frames ' + f0);
	await page.screenshot({path: path.join(t.shotdir, tag + '.png'), fullPage: true});
	if (hostile) {
		await page.click('#fg-table-box summary');
		await hostileChecks(t, page, log, data.strings.concat([data.base.label, data.new.label]), tag);
	} else {
		/* the colours: a node that grew is drawn red, one within noise grey (pixels sampled) */
		const tree = data.trees.python;
		const grew = tree.sig.filter((s) => s > 0).length;
		const reds = await page.evaluate(() => {
			const c = document.getElementById('fg-canvas');
			const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
			let red = 0, grey = 0;
			for (let i = 0; i < d.length; i += 4 * 5) {
				if (d[i] > 180 && d[i + 1] < 140 && d[i + 2] < 140)
					red++;
				else if (d[i] > 150 && Math.abs(d[i] - d[i + 1]) < 6 && Math.abs(d[i] - d[i + 2]) < 6)
					grey++;
			}
			return {red, grey};
		});
		t.check('diff::growth_is_red', grew > 0 && reds.red > 50 && reds.grey > 50,
			grew + ' nodes grew; pixels ' + JSON.stringify(reds));
		/* the table says the same */
		await page.click('#fg-table-box summary');
		const verdicts = await page.$$eval('#fg-table tbody tr td:last-child', (x) => x.map((e) => e.textContent));
		t.check('diff::table_has_verdicts', verdicts.includes('grew') && verdicts.includes('within noise'),
			verdicts.slice(0, 5).join(','));
		/* the changes table lists the document's changes */
		const rows = await page.$$eval('#changes-table tbody tr', (x) => x.length);
		t.check('diff::changes_listed', rows === data.changes.length, rows + ' rows, ' +
			data.changes.length + ' changes');
		/* search: the first change's leaf name */
		const first = data.changes[0];
		const table = {self: 'functions_self', total: 'functions_total', path: 'paths'}[first.table];
		const name = data[table][first.row].name.split(';').pop();
		await page.fill('#fg-search', name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
		await t.waitFor(page, () => /Matched/.test(document.getElementById('fg-match').textContent));
		const matched = await page.textContent('#fg-match');
		const hits = Number(await page.getAttribute('#fg-canvas', 'data-matches'));
		t.check('diff::search', /Matched: [0-9.]+%/.test(matched) && hits > 0, matched + ', ' + hits);
		await page.fill('#fg-search', '');
		await page.waitForTimeout(200);
		/* zoom: a click on the widest frame above the root */
		const bb = await page.evaluate(() => {
			const r = document.getElementById('fg-canvas').getBoundingClientRect();
			window.scrollBy(0, r.bottom - window.innerHeight + 40);
			const q = document.getElementById('fg-canvas').getBoundingClientRect();
			return {x: q.x, y: q.y, w: q.width, h: q.height};
		});
		await page.mouse.click(bb.x + bb.w / 2, bb.y + bb.h - 17 - 8);
		await page.waitForTimeout(200);
		const crumbs = await page.$$eval('#fg-crumbs button', (x) => x.length);
		t.check('diff::zoom', crumbs >= 2 && /zoom=/.test(await page.evaluate(() => location.hash)),
			crumbs + ' crumbs');
		await page.click('#fg-reset');
		/* the views and the base shape draw other trees */
		await page.click('[data-view="native"]');
		const fn = await frames();
		t.check('diff::native_view', fn > 1 && fn !== f0, 'frames ' + f0 + ' -> ' + fn);
		await page.click('[data-view="python"]');
		await page.click('[data-shape="base"]');
		const fb = await frames();
		const label = await page.getAttribute('#fg-canvas', 'aria-label');
		t.check('diff::base_shape', fb > 1 && /shape=base/.test(await page.evaluate(() => location.hash)),
			'frames ' + fb + ', ' + label);
		await page.screenshot({path: path.join(t.shotdir, 'diff-base.png'), fullPage: true});
	}
	t.check(tag + '::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	t.check(tag + '::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.close();
}

async function trend(t, hostile) {
	const data = embedded(t.file);
	const tag = hostile ? 'trendhostile' : 'trend';
	const {page, log} = await t.open(t.ctx, t.url);
	await common(t, page, log, tag);
	const charts = await page.$$eval('#chart-box svg', (x) => x.length);
	const drawable = data.series.filter((s) => s.values.some((v) => v !== null)).length;
	t.check(tag + '::charts', charts === drawable && charts > 0, charts + ' charts, ' + drawable + ' series');
	const points = await page.$$eval('#chart-box circle', (x) => x.length);
	const want = data.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
	t.check(tag + '::points', points === want, points + ' points, want ' + want);
	await page.screenshot({path: path.join(t.shotdir, tag + '.png'), fullPage: true});
	/* a point selects its capture */
	const c = data.captures[data.captures.length - 1];
	await page.evaluate((id) => {
		const dot = document.querySelector('#chart-box circle[data-capture="' + id + '"]');
		dot.dispatchEvent(new MouseEvent('click', {bubbles: false}));
	}, String(c.id));
	const sel = await page.evaluate(() => document.documentElement.dataset.selected);
	const detail = await page.textContent('#capture-detail');
	t.check(tag + '::point_selects_capture', sel === String(c.id) && detail.includes(c.label),
		'selected ' + sel);
	if (c.report) {
		const links = await page.$$eval('#chart-box a', (x) => x.map((a) => a.getAttribute('href')));
		t.check(tag + '::points_link_reports', links.includes(c.report), links.slice(0, 3).join(' '));
	}
	if (hostile)
		await hostileChecks(t, page, log, data.captures.map((x) => x.label)
			.concat(data.series.map((s) => s.name)), tag);
	t.check(tag + '::no_console_error', log.errors.length === 0, log.errors.join(' | '));
	t.check(tag + '::no_network_request', log.requests.length === 0, log.requests.join(' '));
	await page.close();
}

module.exports = async function (t) {
	if (t.mode === 'diff' || t.mode === 'diffhostile')
		return diff(t, t.mode === 'diffhostile');
	return trend(t, t.mode === 'trendhostile');
};
