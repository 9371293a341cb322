// Native to VS Code (issue 26), as a person sees it in code-server + Chromium on the real engine: a busybox
// pair whose runtime image cannot start (the doctor's MISSING_ENTRYPOINT) shows in the Problems panel on its
// ENTRYPOINT line and clears after the fix and a rebuild; a Go pair whose binary needs a loader gets the
// CGO_ENABLED=0 Quick Fix; the CodeLens; Run Task lists the pairs' tasks; an up-to-date build says so.
// One code-server start. Screenshots under test-artifacts/native-ui/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';
import { docker, imageId } from '../support/docker-cli';
import { uiSteps } from '../support/ui-steps';

const SHOTS = path.join(ARTIFACTS, 'native-ui');
/** The packaged extension (npm test packages it; DC_VSIX names another one). */
const VSIX = process.env.DC_VSIX ?? path.join(ROOT, 'dockerception.vsix');
const TAGS = ['dc-native-ui-box', 'dc-native-ui-box-builder', 'dc-native-ui-gonet', 'dc-native-ui-gonet-builder'];

const removeTags = () => {
  for (const tag of TAGS) if (imageId(tag)) docker('rmi', tag);
};

const FILES: Record<string, string> = {
  'box/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /out && echo hello > /out/hello.txt\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  // Line 3 names a program the image does not have: the doctor's MISSING_ENTRYPOINT.
  'box/Dockerfile.run': 'FROM scratch\nCOPY hello.txt /hello.txt\nENTRYPOINT ["/ls"]\n',
  // net resolves names through the C library when cgo is on: the binary is dynamically linked.
  'gonet/main.go':
    'package main\n\nimport (\n\t"fmt"\n\t"net"\n)\n\nfunc main() {\n\taddrs, err := net.LookupHost("localhost")\n\tfmt.Println(addrs, err)\n}\n',
  'gonet/Dockerfile':
    'FROM golang:1.19\nWORKDIR /src\nCOPY main.go .\nRUN go mod init example.com/gonet && go build -o /out/app .\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  'gonet/Dockerfile.run': 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n',
  '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': 'dc-native-ui-${name}' }),
};

describe('native to VS Code: Problems, Quick Fix, CodeLens, tasks, up to date', { timeout: 12 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const { shot, attempt, runCommand, openFile } = uiSteps(() => page, SHOTS);
  const toast = (text: string | RegExp) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).last();
  async function clearNotifications(): Promise<void> {
    await runCommand('Notifications: Clear All Notifications');
  }
  /** The Problems panel's rows (message, source(code), [Ln, Col]) as a person reads them. */
  async function problems(): Promise<string[]> {
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = page.locator('.markers-panel');
    await panel.waitFor();
    await page.waitForTimeout(500);
    const texts = await panel.locator('.monaco-list-row').allInnerTexts();
    // File rows ("Dockerfile.run box 1") group the problems: a problem's row ends with its [Ln, Col].
    return texts.map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => /\[Ln \d+, Col \d+\]$/.test(t));
  }
  const codeLensText = async () => (await page.locator('.codelens-decoration').first().innerText()).replace(/[\s\u00a0]+/g, ' ').trim();

  before(async () => {
    assert.ok(existsSync(VSIX), `${VSIX} is built by 'npm run package' before this test`);
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    removeTags();
    workspace = mkdtempSync(path.join(os.tmpdir(), 'dc-native-ui-'));
    writeFiles(workspace, FILES);
    ({ server, browser, page } = await openWorkbench({
      name: 'native-ui',
      workspace,
      vsix: VSIX,
      width: 1400,
      settings: { 'workbench.colorTheme': 'Default Dark Modern', 'files.autoSave': 'off' },
    }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    // Containers this test made: those of its builder images (other engineers' runs share the engine).
    const ours = TAGS.filter((t) => t.endsWith('-builder') && imageId(t)).flatMap((t) =>
      docker('ps', '-aq', '--filter', `ancestor=${t}`).trim().split('\n').filter(Boolean),
    );
    removeTags();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
    assert.deepEqual(ours, [], 'no builder container left');
  });

  it('1. the CodeLens builds; a doctor error shows in the Problems panel on the ENTRYPOINT line, the status bar and the report', async () => {
    await attempt('doctor-error-in-problems', async () => {
      await openFile('box/Dockerfile.run');
      await page.locator('.codelens-decoration', { hasText: 'Build' }).first().waitFor({ timeout: 30_000 });
      assert.match(await codeLensText(), /^Build \| not built yet \| Report$/);
      await page
        .locator('.codelens-decoration a', { hasText: /^Build$/ })
        .first()
        .click();
      await toast('but the doctor found a problem').waitFor({ timeout: 120_000 });
      // The CodeLens first, where the click left the focus: VS Code asks for lenses again a moment after the provider says they changed.
      let lens = '';
      for (let i = 0; i < 80 && !/^Build \| builder/.test(lens); i++) {
        await page.waitForTimeout(250);
        lens = await codeLensText();
      }
      assert.match(lens, /^Build \| builder [\d.]+ MB → runtime [\d.]+ B · doctor: cannot start \| Report$/);
      const status = page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'box: builder' }).first();
      assert.match(await status.innerText(), /box: builder [\d.]+ MB → runtime [\d.]+ B · cannot start/);
      const rows = await problems();
      assert.equal(rows.length, 1, rows.join('\n'));
      assert.match(rows[0], /\/ls, which is not in the runtime image.*dockerception MISSING_\w+ \[Ln 3, Col 1\]$/);
      console.log(`problems: ${rows[0]}\nCodeLens: ${lens}`);
    });
  });

  it('2. the report leads with the error, not with the size', async () => {
    await attempt('report-leads-with-error', async () => {
      await page
        .locator('.codelens-decoration a', { hasText: /^Report$/ })
        .first()
        .click();
      const report = page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
      await report.locator('h1', { hasText: 'box: where the bytes are' }).waitFor({ timeout: 30_000 });
      const text = await report.locator('body').innerText();
      assert.match(text, /where the bytes are\s+This runtime image cannot start: MISSING_\w+ .*\/ls, which is not in the runtime image/);
      assert.match(text, /cannot start[\s\S]*The runtime image is \S+ (smaller|larger) than its builder/, 'the size comes after the error');
      // Back to the editor: the webview keeps the keyboard otherwise.
      await page.locator('.tabs-container .tab', { hasText: 'Dockerfile.run' }).first().click();
    });
  });

  it('3. fixed and built again, the problem clears; built once more, the notification says up to date', async () => {
    await attempt('cleared-then-up-to-date', async () => {
      await clearNotifications();
      writeFileSync(path.join(workspace, 'box', 'Dockerfile.run'), 'FROM busybox:1.36\nCOPY hello.txt /hello.txt\nENTRYPOINT ["cat", "/hello.txt"]\n');
      await openFile('box/Dockerfile.run');
      await runCommand('Dockerception: Build');
      await toast(/Dockerception: built dc-native-ui-box/).waitFor({ timeout: 120_000 });
      assert.deepEqual(await problems(), []);
      await clearNotifications();
      await openFile('box/Dockerfile.run');
      await runCommand('Dockerception: Build');
      const upToDate = toast(/is up to date/);
      await upToDate.waitFor({ timeout: 60_000 });
      const text = (await upToDate.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /Dockerception: dc-native-ui-box is up to date \(nothing changed since its last build\): builder [\d.]+ MB → runtime [\d.]+ MB/);
      assert.doesNotMatch(text, /built dc-native/);
      console.log(`up-to-date notification: ${text}`);
    });
  });

  it('4. a Go binary that needs a loader: the Quick Fix adds CGO_ENABLED=0, and the rebuild clears the problem', async () => {
    await attempt('quick-fix-cgo', async () => {
      await clearNotifications();
      await openFile('gonet/Dockerfile.run');
      await runCommand('Dockerception: Build');
      await toast('but the doctor found a problem').waitFor({ timeout: 240_000 });
      const rows = await problems();
      assert.equal(rows.length, 1, rows.join('\n'));
      assert.match(rows[0], /\/app is dynamically linked.*dockerception MISSING_LOADER \[Ln 3, Col 1\]$/);
      await openFile('gonet/Dockerfile.run');
      await runCommand('Go to Line/Column...');
      await page.keyboard.type('3');
      await page.keyboard.press('Enter');
      await runCommand('Quick Fix...');
      const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'CGO_ENABLED=0' }).first();
      await fix.waitFor({ timeout: 15_000 });
      await shot('quick-fix-offered');
      // The widget is keyboard-driven (a click lands on its pointer block): the fix is the focused row.
      assert.match((await fix.getAttribute('class')) ?? '', /focused/);
      await page.keyboard.press('Enter');
      // The edit is in the builder Dockerfile, open and unsaved (●) as any cross-file fix: save it.
      await page.locator('.tabs-container .tab.dirty', { hasText: 'Dockerfile' }).first().click();
      await page.keyboard.press('Control+S');
      const file = path.join(workspace, 'gonet', 'Dockerfile');
      for (let i = 0; i < 40 && !readFileSync(file, 'utf8').includes('CGO_ENABLED'); i++) await page.waitForTimeout(250);
      const builder = readFileSync(file, 'utf8');
      assert.match(builder, /WORKDIR \/src\nCOPY main\.go \.\nENV CGO_ENABLED=0\nRUN go mod init/);
      await clearNotifications();
      await openFile('gonet/Dockerfile.run');
      await runCommand('Dockerception: Build');
      await toast(/Dockerception: built dc-native-ui-gonet/).waitFor({ timeout: 240_000 });
      assert.deepEqual(await problems(), []);
    });
  });

  it('5. Run Task lists a dockerception task for each pair', async () => {
    await attempt('run-task-lists-pairs', async () => {
      await runCommand('Tasks: Run Task');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'dockerception' }).first().click();
      const rows = page.locator('.quick-input-list .monaco-list-row');
      await rows.filter({ hasText: 'build box' }).first().waitFor({ timeout: 30_000 });
      const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      console.log(`Run Task → dockerception:\n  ${texts.join('\n  ')}`);
      for (const name of ['box', 'gonet']) {
        assert.ok(
          texts.some((t) => t.startsWith(`dockerception: build ${name} builder dc-native-ui-${name}-builder:latest → runtime dc-native-ui-${name}`)),
          `a task builds ${name}`,
        );
        assert.ok(
          texts.some((t) => t.startsWith(`dockerception: build ${name} (force) builder`)),
          `a forced task builds ${name}`,
        );
      }
      await page.keyboard.press('Escape');
    });
  });
});
