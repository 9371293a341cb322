// Push Runtime Image as a person clicks it, in code-server with Debian's Chromium, the real engine and a
// Debian docker-registry on a free loopback port: the pair row's context menu, the notification, the
// row's description with the pull size and its tooltip with the digest, held to what the registry's API
// answers (curl). The extension runs from this checkout (dist/ from 'npm run build').
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { formatBytes } from '../../src/core/sizes';
import { ARTIFACTS, ROOT, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';
import { freePort } from '../support/endpoints/process';
import { PrivateRegistry, registryDigest, registryManifest } from '../support/registry';

const SHOTS = path.join(ARTIFACTS, 'e2e-ship');
const PREFIX = `dc-shipui${Math.random().toString(36).slice(2, 6)}`;
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('Push Runtime Image in the real UI', { timeout: 8 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let registry: PrivateRegistry;
  let home: string;
  let ref: string;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    registry = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
    await registry.start();
    home = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-ship-'));
    const workspace = path.join(home, 'workspace');
    ref = `${registry.host}/${PREFIX}-app:1`;
    const files: Record<string, string> = {
      'app/Dockerfile': 'FROM busybox:1.36\nCMD ["sh", "-c", "mkdir /o && echo shipped > /o/hello.txt && tar -cf - -C /o ."]\n',
      'app/Dockerfile.run': 'FROM scratch\nCOPY hello.txt /\n',
      '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': `${registry.host}/${PREFIX}-\${name}:1`, 'dockerception.revealOutput': 'never' }),
    };
    writeFiles(workspace, files);
    const env = { ...process.env, DOCKERCEPTION_STATE_DIR: path.join(home, 'state'), DOCKER_CONFIG: path.join(home, 'docker-config') };
    mkdirSync(env.DOCKER_CONFIG, { recursive: true });
    // Built beforehand by the CLI under the tag the setting gives: the test is about the push.
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'build', path.join(workspace, 'app'), '--tag', ref], { env, stdio: 'ignore' });
    ({ server, browser, page } = await openWorkbench({ name: 'e2e-ship', workspace, env }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const tag of [ref, ref.replace(/:1$/, '-builder:1')]) {
      try {
        docker('rmi', '-f', tag);
      } catch {
        // not made
      }
    }
    await registry?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("pushes from the pair row's context menu: the digest and pull size a person sees are the registry's", async () => {
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    try {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>View: Show Dockerception');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'View: Show Dockerception' }).first().click();
      const row = page
        .locator('.monaco-list-row', { hasText: 'app' })
        .filter({ hasText: /\d+ B ← [\d.]+ MB/ })
        .first();
      await row.waitFor({ timeout: 60_000 });
      assert.doesNotMatch(await row.locator('.label-description').innerText(), /to pull/, 'no pull size before a push');

      await row.click({ button: 'right' });
      // VS Code ignores a click that lands right as its context menu opens: hover, then Enter.
      const item = page.locator('.context-view .action-label', { hasText: 'Push Runtime Image' }).first();
      await item.waitFor();
      assert.equal(await page.locator('.context-view .action-label', { hasText: 'Copy Digest' }).count(), 0, 'no Copy Digest before a push');
      await item.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');

      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: pushed' }).first();
      await toast.waitFor({ timeout: 120_000 });
      await shot('pushed');
      const said = (await toast.innerText()).replace(/\u00a0/g, ' ');
      const canonical = /pushed (\S+@sha256:[0-9a-f]{64})/.exec(said)?.[1];
      const digest = registryDigest(registry, `${PREFIX}-app`, '1', undefined, false);
      assert.equal(canonical, `${registry.host}/${PREFIX}-app@${digest}`, said);
      const pull = formatBytes(registryManifest(registry, `${PREFIX}-app`, '1', undefined, false).pullSize);
      assert.ok(said.includes(`(${pull} to pull)`), said);

      // The row: its description ends with the pull size; its tooltip names the digest.
      const pushedRow = page.locator('.monaco-list-row', { hasText: 'app' }).filter({ hasText: 'to pull' }).first();
      await pushedRow.waitFor({ timeout: 30_000 });
      const description = (await pushedRow.locator('.label-description').innerText()).replace(/\u00a0/g, ' ');
      assert.match(description, new RegExp(`^\\d+ B ← [\\d.]+ MB \\(\\d+× smaller\\), ${pull.replace('.', '\\.')} to pull$`));
      await pushedRow.hover();
      const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'pushed' }).first();
      await hover.waitFor({ timeout: 15_000 });
      assert.ok((await hover.innerText()).includes(canonical ?? '-'), await hover.innerText());
      await shot('tooltip');

      // Copy Digest, now on the row's menu: the status bar says what went to the clipboard.
      await pushedRow.click({ button: 'right' });
      const copy = page.locator('.context-view .action-label', { hasText: 'Copy Digest' }).first();
      await copy.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      await page
        .locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: `Copied ${canonical}` })
        .first()
        .waitFor({ timeout: 15_000 });
      console.log(`# pushed from the row: ${canonical}; row: ${description}`);

      // The output channel: a line per layer.
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>Dockerception: Show Output');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dockerception: Show Output' }).first().click();
      const lines = page.locator('.part.panel .monaco-editor .view-lines').first();
      await lines.waitFor({ timeout: 10_000 });
      const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
      assert.match(text, /==> Pushing .* without credentials/);
      assert.match(text, /[0-9a-f]{12}: pushed/);
      assert.ok(text.includes(`Pushed ${canonical}: ${pull} to pull`), text);

      // Built in this window (up to date), the status bar's tooltip has the pull size beside the two sizes.
      await pushedRow.click({ button: 'right' });
      const build = page.locator('.context-view .action-label', { hasText: 'Build Pair' }).first();
      await build.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      const status = page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: /app: builder/ }).first();
      await status.waitFor({ timeout: 60_000 });
      await status.hover();
      const tip = page.locator('.monaco-hover, .workbench-hover', { hasText: 'to pull' }).first();
      await tip.waitFor({ timeout: 15_000 });
      const tipText = (await tip.innerText()).replace(/\u00a0/g, ' ');
      // The status bar's own tooltip (it says how the build went), with the pushed image and its pull size.
      assert.match(tipText, /app was up to date in/);
      assert.ok(tipText.includes(pull) && tipText.includes(canonical ?? '-'), tipText);
      await shot('status-bar-tooltip');

      // A new window (a reload: a new extension host) shows the same, from the push recorded with the build.
      await page.reload();
      const reloadedRow = page.locator('.monaco-list-row', { hasText: 'app' }).filter({ hasText: 'to pull' }).first();
      await reloadedRow.waitFor({ timeout: 60_000 });
      const after = (await reloadedRow.locator('.label-description').innerText()).replace(/\u00a0/g, ' ');
      // The window's own build above (up to date) ran the doctor, which finds the fixture's runtime image (no
      // command) cannot start: the row says so where it said the comparison; the sizes and pull size stay.
      assert.equal(after, description.replace(/ \(\d+× smaller\)/, ' · cannot start'), 'the row after a reload');
      await shot('after-reload');
    } catch (error) {
      await shot('FAILED').catch(() => undefined);
      throw error;
    }
  });
});
