/**
 * `npm run screenshot`: starts the demo on free ports in a temporary folder, lets a lease
 * lifecycle run through it, logs in to the n8n editor with headless Chromium (Debian's
 * `chromium`, driven by playwright-core, which never downloads a browser) and saves the
 * message-bus demo workflow to docs/demo-workflow.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { freePort } from '../harness';
import { demoOptionsFromEnv, REPO_ROOT, startDemo } from './demo';

const OUTPUT = process.env.SCREENSHOT_FILE ?? path.join(REPO_ROOT, 'docs', 'demo-workflow.png');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(
			`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` or set CHROMIUM_PATH`,
		);
	const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esi-leap-screenshot-'));
	const options = {
		...demoOptionsFromEnv(say),
		folder: path.join(folder, 'n8n'),
		n8nPort: await freePort(),
		keystonePort: await freePort(),
		esiPort: await freePort(),
	};
	const demo = await startDemo(options);
	const profile = path.join(folder, 'chromium-profile');
	const browser = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1400, height: 760 },
		deviceScaleFactor: 1,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	try {
		await demo.runLifecycle();
		await demo.n8n.waitForExecutions(demo.workflows.bus, { count: 2, timeoutMs: 30_000 });

		const page = browser.pages()[0] ?? (await browser.newPage());
		await page.goto(`${demo.editorUrl}/signin`);
		await page
			.locator('input[type="email"], input[name="emailOrLdapLoginId"]')
			.first()
			.fill(options.owner.email);
		await page.locator('input[type="password"]').first().fill(options.owner.password);
		await page.keyboard.press('Enter');
		await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 30_000 });

		await page.goto(`${demo.editorUrl}/workflow/${demo.workflows.bus}`);
		await page.locator('[data-test-id="canvas-node"]').nth(3).waitFor({ timeout: 30_000 });
		// n8n opens a "Production Checklist" popover on published workflows (a little after the
		// canvas); it would hide the trigger, so close it like a user would.
		const checklist = page.getByText('Production Checklist', { exact: true });
		if (
			await checklist.waitFor({ timeout: 8000 }).then(
				() => true,
				() => false,
			)
		) {
			const closed = await checklist.evaluate((heading) => {
				for (let box = heading.parentElement; box; box = box.parentElement) {
					const close = box.querySelector(
						'button, [role="button"], [class*="close" i], [data-test-id*="close" i]',
					) as { click(): void } | null;
					if (close) {
						close.click();
						return true;
					}
				}
				return false;
			});
			if (!closed) await page.keyboard.press('Escape');
			await checklist.waitFor({ state: 'hidden', timeout: 5000 });
		}
		// Let the canvas finish fitting the view and the icons load.
		await page.waitForTimeout(2000);
		fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
		await page.screenshot({ path: OUTPUT });
		say(`saved ${path.relative(process.cwd(), OUTPUT)}`);
	} finally {
		await browser.close();
		await demo.stop();
		fs.rmSync(folder, { recursive: true, force: true });
	}
}

main().catch((error: Error) => {
	process.stderr.write(`screenshot failed: ${error.stack ?? error.message}\n`);
	process.exit(1);
});
