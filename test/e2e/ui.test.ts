// End to end, as a person clicks it: the packaged .vsix installed into code-server, the examples opened,
// Debian's Chromium driven by playwright-core, the real engine. Each step saves a screenshot under
// test-artifacts/e2e/; on a failure the test prints that path and the output channel's last lines.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, launchChromium, startCodeServer, type CodeServer } from '../support/code-server';
import { docker, imageId } from '../support/docker-cli';

const SHOTS = path.join(ARTIFACTS, 'e2e');
const VSIX = path.join(ROOT, 'dockerception.vsix');
const TAG = (name: string) => `dc-e2e-${name}`;

const removeTag = (ref: string) => {
  if (imageId(ref)) docker('rmi', ref);
};
async function until(what: string, probe: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
const allContainers = () => docker('ps', '-aq', '--no-trunc').trim().split('\n').filter(Boolean);
/** Containers that were there before this test: not ours to count. */
let baseline = new Set<string>();
const leftovers = () => allContainers().filter((id) => !baseline.has(id));

describe('the extension in the real UI', { timeout: 15 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  let step = 0;

  /** Screenshot for the step; returns its path. */
  async function shot(name: string): Promise<string> {
    const file = path.join(SHOTS, `${String(++step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** The output channel's visible lines (the panel scrolls to the end as lines arrive). */
  async function outputText(): Promise<string> {
    await runCommand('Dockerception: Show Output');
    const lines = page.locator('.part.panel .monaco-editor .view-lines');
    await lines.first().waitFor({ timeout: 10_000 });
    return (await lines.first().innerText()).replace(/\u00a0/g, ' ');
  }

  /** Runs a step; on failure says where the screenshot is and what the output channel said last. */
  async function attempt(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      await shot(name);
    } catch (error) {
      const file = await shot(`${name}-FAILED`).catch(() => '(no screenshot)');
      const out = await outputText().catch(() => '(output not readable)');
      console.error(`\nStep '${name}' failed. Screenshot: ${file}\nLast output-channel lines:\n${out.split('\n').slice(-25).join('\n')}\n`);
      throw error;
    }
  }

  async function runCommand(title: string): Promise<void> {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
  }

  async function openFile(relative: string): Promise<void> {
    const [dir, base] = [path.dirname(relative), path.basename(relative)];
    await runCommand('Go to File...');
    await page.keyboard.type(relative);
    // Wait for the filtered result (the list first shows recently opened files), then open it.
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ hasText: base }).filter({ hasText: dir });
    await row.first().click();
    await page.locator('.breadcrumbs-control', { hasText: dir }).filter({ hasText: base }).first().waitFor();
  }

  async function pick(label: string): Promise<void> {
    await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().click();
  }

  const statusBar = () => page.locator('#workbench\\.parts\\.statusbar');

  /** Waits until the status bar shows a finished build of `pair` (sizes side by side). */
  async function waitForBuilt(timeoutMs = 120_000): Promise<string> {
    const item = statusBar().locator('.statusbar-item', { hasText: /builder .* → runtime / });
    await item.first().waitFor({ timeout: timeoutMs });
    return (await item.first().innerText()).trim();
  }

  before(async () => {
    assert.ok(existsSync(VSIX), `${VSIX} is built by 'npm run package' before this test`);
    baseline = new Set(allContainers());
    mkdirSync(SHOTS, { recursive: true });
    workspace = path.join(mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-')), 'examples');
    cpSync(path.join(ROOT, 'examples'), workspace, { recursive: true });
    mkdirSync(path.join(workspace, '.vscode'));
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dockerception.runtimeTag': 'dc-e2e-${name}' }));
    for (const name of ['hello-go', 'hello-c', 'hello-doctor', 'zz-slow']) for (const ref of [TAG(name), `${TAG(name)}-builder`]) removeTag(ref);
    server = await startCodeServer({ name: 'e2e', trusted: true, settings: { 'workbench.colorTheme': 'Default Dark Modern', 'window.zoomLevel': 0 } });
    await server.install(VSIX);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(server.url(workspace));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await statusBar().locator('.statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
    await shot('workbench-loaded');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (workspace) rmSync(path.dirname(workspace), { recursive: true, force: true });
  });

  it('1. "Dockerception: Build" from the command palette builds the chosen pair', async () => {
    await attempt('palette-build', async () => {
      await runCommand('Dockerception: Build');
      await pick('hello-c'); // two pairs and no active editor: a quick pick asks which
      const text = await waitForBuilt();
      assert.match(text, /builder [\d.]+ MB → runtime [\d.]+ kB/);
      const out = await outputText();
      assert.match(out, /==> Tagged dc-e2e-hello-c/);
      assert.match(out, /size\s+[\d.]+ MB\s+[\d.]+ kB\s+\d+× smaller/);
      assert.ok(imageId(TAG('hello-c')), 'the runtime image is tagged');
    });
  });

  it('2. a right-click on a Dockerfile in the explorer → Build Pair', async () => {
    await attempt('explorer-build-pair', async () => {
      await runCommand('View: Show Explorer');
      const folder = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hello-go' }).first();
      await folder.click();
      const dockerfile = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: /^Dockerfile$/ }).first();
      await dockerfile.waitFor();
      await dockerfile.click({ button: 'right' });
      // VS Code ignores a click that lands right as its context menu opens: hover, then Enter.
      const item = page.locator('.context-view .action-label', { hasText: 'Build Pair' }).first();
      await item.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      const text = await waitForBuilt();
      await statusBar()
        .locator('.statusbar-item', { hasText: /runtime [\d.]+ MB/ })
        .first()
        .waitFor({ timeout: 120_000 });
      assert.ok(imageId(TAG('hello-go')), `hello-go is tagged (status bar: ${text})`);
      assert.match(await outputText(), /==> Tagged dc-e2e-hello-go/);
    });
  });

  it('3. the status-bar button builds the pair of the active editor', async () => {
    await attempt('status-bar-build', async () => {
      removeTag(TAG('hello-c'));
      await openFile('hello-c/Dockerfile.run');
      await statusBar()
        .locator('.statusbar-item', { hasText: /builder .* → runtime / })
        .first()
        .click();
      // The tag was removed above: its return shows the click ran a build that succeeded.
      await until('hello-c to be tagged again', () => imageId(TAG('hello-c')) !== undefined);
      await statusBar()
        .locator('.statusbar-item', { hasText: /runtime [\d.]+ kB/ })
        .first()
        .waitFor({ timeout: 30_000 });
    });
  });

  it('4. a build cancelled from the progress notification leaves no container and no tag', async () => {
    await attempt('cancel-from-notification', async () => {
      // Without the cache the Go compile runs, which leaves time to cancel.
      writeFileSync(
        path.join(workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'dockerception.runtimeTag': 'dc-e2e-${name}', 'dockerception.noCache': true }),
      );
      removeTag(TAG('hello-go'));
      await openFile('hello-go/Dockerfile'); // the palette command builds the active editor's pair
      await runCommand('Dockerception: Build');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: building hello-go' });
      await toast.waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2000); // well into the builder build
      await shot('cancel-notification-shown');
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
      await page.locator('.notifications-toasts', { hasText: 'was cancelled; nothing was tagged' }).waitFor({ timeout: 60_000 });
      await page.waitForTimeout(1000);
      assert.deepEqual(leftovers(), [], 'no container left');
      assert.equal(imageId(TAG('hello-go')), undefined, 'nothing tagged');
      assert.match(await outputText(), /CANCELLED/);
      writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dockerception.runtimeTag': 'dc-e2e-${name}' }));
    });
  });

  it('5. the tree item of a built pair shows the sizes side by side and its images', async () => {
    await attempt('tree-sizes', async () => {
      await runCommand('View: Show Dockerception');
      await runCommand('Dockerception: Refresh');
      // Build the cancelled pair again from its inline tree button.
      const goRow = page.locator('.monaco-list-row', { hasText: 'hello-go' }).first();
      await goRow.hover();
      await goRow.locator('.action-label[aria-label="Build Pair"]').click();
      await until('hello-go to be tagged', () => imageId(TAG('hello-go')) !== undefined);
      await page
        .locator('.monaco-list-row', { hasText: 'hello-go' })
        .filter({ hasText: /[\d.]+ MB ← [\d.]+ MB/ })
        .first()
        .waitFor({ timeout: 30_000 });
      const row = page.locator('.monaco-list-row', { hasText: 'hello-c' }).filter({ hasText: '←' }).first();
      await row.waitFor({ timeout: 30_000 });
      const description = await row.locator('.label-description').innerText();
      assert.match(description, /^[\d.]+ kB ← [\d.]+ MB \(\d+× smaller\)$/, 'the runtime size first');
      await row.click();
      const runtimeRow = page.locator('.monaco-list-row[aria-level="2"]', { hasText: 'runtime' }).first();
      await runtimeRow.waitFor();
      assert.match(await runtimeRow.innerText(), /kB · dc-e2e-hello-c/);
      await page.locator('.monaco-list-row[aria-level="2"]', { hasText: 'last build' }).first().waitFor();
      // Widen the side bar so the whole description shows, for the README's picture of the tree.
      const sidebar = await page.locator('.part.sidebar').boundingBox();
      if (sidebar) {
        const x = sidebar.x + sidebar.width;
        await page.mouse.move(x - 1, sidebar.y + 300);
        await page.mouse.down();
        await page.mouse.move(x + 260, sidebar.y + 300, { steps: 8 });
        await page.mouse.up();
      }
      await runCommand('Dockerception: Show Output');
      await page.keyboard.press('Escape');
    });
  });
  it('6. the size report opens from the tree item and shows where the bytes are', async () => {
    await attempt('size-report', async () => {
      const goRow = page.locator('.monaco-list-row', { hasText: 'hello-go' }).first();
      await goRow.hover();
      await goRow.locator('.action-label[aria-label="Show Report"]').click();
      const report = page.frameLocator('iframe.webview').frameLocator('#active-frame');
      await report.locator('h1', { hasText: 'hello-go: where the bytes are' }).waitFor({ timeout: 30_000 });
      // The report renders again when its pull-size estimate comes later than its first render: read it after.
      await report.locator('#pull-size', { hasText: /to pull|is unknown/ }).waitFor({ timeout: 60_000 });
      const text = await report.locator('body').innerText();
      assert.match(text, /runtime 4\.46 MB, about \d+(\.\d+)? MB to pull \(estimated/);
      assert.match(text, /The runtime image is \d+× smaller than its builder/);
      assert.match(text, /846 MB dc-e2e-hello-go-builder:latest/);
      assert.match(text, /4\.46 MB dc-e2e-hello-go/);
      assert.match(text, /Largest files in the runtime image\s+4\.\d+ MB\s+\/app/);
      assert.match(text, /Runtime Dockerfile from the builder's output/);
      // The bars are drawn to scale: 4.46 MB against 846 MB.
      const builderBar = await report.locator('rect.bar.builder').boundingBox();
      const runtimeBar = await report.locator('rect.bar.runtime').boundingBox();
      assert.ok(builderBar && runtimeBar && runtimeBar.width * 50 < builderBar.width, `bars ${runtimeBar?.width} vs ${builderBar?.width}`);
    });
  });

  it('7. the doctor names the dynamically linked binary of hello-doctor; after it grows, the report shows what grew', async () => {
    await attempt('doctor-report', async () => {
      await openFile('hello-doctor/Dockerfile.run');
      await runCommand('Dockerception: Build'); // the active editor's pair
      await page.locator('.notifications-toasts', { hasText: 'but the doctor found a problem' }).first().waitFor({ timeout: 120_000 });
      const first = imageId(TAG('hello-doctor'));
      assert.ok(first, 'the doctor warns by default: the image is tagged');
      assert.match(await outputText(), /doctor: error MISSING_LOADER: \/hello is dynamically linked/);

      // 300 kB of initialised data: the binary grows, and the report says where.
      appendFileSync(path.join(workspace, 'hello-doctor', 'hello.c'), '\nconst char padding[300000] = {1};\n');
      await openFile('hello-doctor/Dockerfile.run');
      await runCommand('Dockerception: Build');
      await until('hello-doctor to be built again', () => {
        const id = imageId(TAG('hello-doctor'));
        return id !== undefined && id !== first;
      });
      await runCommand('View: Show Dockerception');
      const row = page.locator('.monaco-list-row', { hasText: 'hello-doctor' }).first();
      await row.hover();
      await row.locator('.action-label[aria-label="Show Report"]').click();
      const report = page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
      await report.locator('h1', { hasText: 'hello-doctor: where the bytes are' }).waitFor({ timeout: 30_000 });
      await report.locator('#pull-size', { hasText: /to pull|is unknown/ }).waitFor({ timeout: 60_000 });
      const text = await report.locator('body').innerText();
      assert.match(
        text,
        /Doctor\s+severity\s+code\s+file[\s\S]*error\s+MISSING_LOADER\s+\/hello\s+\/hello is dynamically linked: it needs the loader \/lib64\/ld-linux-x86-64\.so\.2/,
      );
      assert.match(text, /What grew\s+Since the build of .*\(\d+(\.\d+)? kB\): \+\d{3} kB in all\.\s+\+\d{3} kB\s+\/hello\s+grown/);
      // For the README's picture: the report alone, its Doctor and What grew sections in view.
      await runCommand('View: Hide Panel');
      await report.locator('#what-grew').scrollIntoViewIfNeeded();
    });
  });

  it('8. a window reload during a build removes its builder container before the extension host goes', async () => {
    await attempt('reload-during-build', async () => {
      const dir = path.join(workspace, 'zz-slow');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox:1.36\nCMD ["sh", "-c", "echo working >&2; sleep 600"]\n');
      writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\n');
      try {
        await openFile('zz-slow/Dockerfile.run');
        await runCommand('Dockerception: Build');
        await until('the builder container to run', () => leftovers().length > 0, 60_000);
        await runCommand('Developer: Reload Window');
        await until('the builder container to be gone', () => leftovers().length === 0, 30_000);
        await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
        await statusBar().locator('.statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
        assert.equal(imageId(TAG('zz-slow')), undefined, 'nothing tagged');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
