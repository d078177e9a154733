#!/usr/bin/env node
/*
 * Screenshot of a perfsight report in the system's headless Chromium (playwright-core, no
 * browser download): the top of the page, once report.js has drawn it.
 *
 *   node screenshot.js REPORT.html OUT.png
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const {chromium} = require('playwright-core');

(async () => {
	const [file, out] = process.argv.slice(2);
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perfsight-chromium-'));
	const ctx = await chromium.launchPersistentContext(userDir, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		viewport: {width: 1280, height: 1000},
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
			'--disable-background-networking', '--disable-component-update'],
	});
	let rc = 0;
	try {
		const page = await ctx.newPage();
		await page.goto('file://' + path.resolve(file), {waitUntil: 'load'});
		const end = Date.now() + 20000;
		while (!(await page.evaluate(() => document.documentElement.dataset.ready === '1')))
			if (Date.now() > end)
				throw new Error('the report did not finish drawing');
			else
				await page.waitForTimeout(50);
		await page.screenshot({path: out});
	} catch (e) {
		console.error('screenshot: ' + e.message.split('\n')[0]);
		rc = 1;
	} finally {
		await ctx.close();
		fs.rmSync(userDir, {recursive: true, force: true});
	}
	process.exit(rc);
})();
