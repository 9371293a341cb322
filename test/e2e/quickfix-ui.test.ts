// The other Quick Fix of the Problems panel, as a person meets it in code-server + Chromium on the real engine:
// a busybox pair whose builder's tar has no Dockerfile loses its Dockerfile.run (deleted in the Explorer while
// the builder Dockerfile is open); the Build of the CodeLens still on that editor runs the builder and fails with
// NO_PAIR once its tar has no Dockerfile, shown in the Problems panel on the builder's CMD line; the Quick Fix
// "Create Dockerfile.run for qf" writes one for that tar (its one executable as the ENTRYPOINT); the next build
// succeeds with no problems, and `docker run` runs it. Then, Dockerfile.run deleted again, a right-click Build on
// the lone Dockerfile says it is not a pair and offers to create one. One code-server start. Screenshots under
// test-artifacts/quickfix-ui/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';
import { docker, imageId } from '../support/docker-cli';
import { uiSteps } from '../support/ui-steps';

const SHOTS = path.join(ARTIFACTS, 'quickfix-ui');
/** The packaged extension (npm test packages it; DC_VSIX names another one). */
const VSIX = process.env.DC_VSIX ?? path.join(ROOT, 'dockerception.vsix');
/** This run's own names (dc-*: the suite's cleanup removes whatever a failed run leaves). */
const PREFIX = `dc-e2e-qf-${randomBytes(3).toString('hex')}`;
const RUNTIME_TAG = PREFIX;
const BUILDER_TAG = `${PREFIX}-builder`;
/** The container this test makes itself, to see what `docker run` says of the image. */
const RUN_CONTAINER = `${PREFIX}-run`;

/** The Quick Fix's file for this builder's tar (src/core/runtime-dockerfile.ts): its one executable runs. */
const FOR_THE_TAR = '# The runtime image: its build context is the tar the builder\'s CMD writes to stdout.\nFROM scratch\nCOPY . /\nENTRYPOINT ["/cat"]\n';
/** The file the "not a pair" button writes, before any tar is known. */
const TEMPLATE =
  '# The runtime image: its build context is the tar the builder\'s CMD writes to stdout.\nFROM scratch\nCOPY . /\n# Name the program the tar carries:\n# ENTRYPOINT ["/app"]\n';

const FILES: Record<string, string> = {
  // Its tar holds hello.txt and busybox (static) as cat, and no Dockerfile: the runtime build needs the pair's Dockerfile.run.
  'qf/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /out && echo hello > /out/hello.txt && cp /bin/busybox /out/cat\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  'qf/Dockerfile.run': 'FROM busybox:1.36\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n',
  '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': RUNTIME_TAG }),
};

const removeContainer = (name: string) => spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });

describe('the Quick Fix that creates a missing Dockerfile.run', { timeout: 10 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const { shot, attempt, runCommand, openFile } = uiSteps(() => page, SHOTS);
  const editorPart = () => page.locator('#workbench\\.parts\\.editor');
  const read = (text: string) => text.replace(/[\s\u00a0]+/g, ' ').trim();

  const toast = (text: string | RegExp) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).last();
  /** A context menu's item: VS Code ignores a click that lands right as the menu opens, so hover, then Enter. */
  async function choose(label: RegExp): Promise<void> {
    const item = page.locator('.context-view .action-label', { hasText: label }).first();
    await item.waitFor();
    await item.hover();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
  }
  /** The CodeLens above line 1 of the active editor ("Build | not built yet | Report"), once it says `want`. */
  async function codeLens(want: RegExp): Promise<string> {
    let text = '';
    for (let i = 0; i < 120 && !want.test(text); i++) {
      if (i > 0) await page.waitForTimeout(250);
      const lens = editorPart().locator('.codelens-decoration').first();
      text = (await lens.count()) > 0 ? read(await lens.innerText()) : '';
    }
    assert.match(text, want, 'the CodeLens');
    return text;
  }
  /**
   * The Problems panel as a person reads it: each problem row (message, source, code, [Ln, Col]; the parentheses
   * around the code are drawn by CSS) under the file row it is grouped in, "Dockerfile qf" (the file's name,
   * its folder; the count left off).
   */
  async function problems(): Promise<Array<{ file: string; problem: string }>> {
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = page.locator('.markers-panel');
    await panel.waitFor();
    await page.waitForTimeout(500);
    const drawn = await panel.locator('.monaco-list-row').evaluateAll((rows: any[]) =>
      rows.map((row): { text: string; name: string; folder: string } => ({
        text: row.innerText,
        name: row.querySelector('.label-name')?.innerText ?? '',
        folder: row.querySelector('.label-description')?.innerText ?? '',
      })),
    );
    let file = '';
    const rows: Array<{ file: string; problem: string }> = [];
    for (const row of drawn) {
      const text = read(row.text);
      if (/\[Ln \d+, Col \d+\]$/.test(text)) rows.push({ file, problem: text });
      else file = read(`${row.name} ${row.folder}`);
    }
    return rows;
  }
  /** The text of the file in the editor, line by line as the editor draws it (its view lines, top to bottom). */
  async function editorText(): Promise<string> {
    const lines = editorPart().locator('.monaco-editor .view-lines .view-line');
    const drawn = await lines.evaluateAll((nodes: any[]) =>
      nodes.map((n): { top: number; text: string } => ({ top: parseFloat(n.style.top), text: n.innerText })),
    );
    return drawn
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text.replace(/\u00a0/g, ' '))
      .join('\n');
  }

  before(async () => {
    assert.ok(existsSync(VSIX), `${VSIX} is built by 'npm run package' before this test`);
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-qf-'));
    writeFiles(workspace, FILES);
    ({ server, browser, page } = await openWorkbench({
      name: 'quickfix-ui',
      workspace,
      vsix: VSIX,
      width: 1400,
      settings: { 'workbench.colorTheme': 'Default Dark Modern', 'files.autoSave': 'off' },
    }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    // Builder containers of this run's builder image (other runs share the engine): none may be left.
    const left = imageId(BUILDER_TAG) ? docker('ps', '-aq', '--filter', `ancestor=${BUILDER_TAG}`).trim().split('\n').filter(Boolean) : [];
    removeContainer(RUN_CONTAINER);
    for (const tag of [RUNTIME_TAG, BUILDER_TAG]) if (imageId(tag)) docker('rmi', tag);
    if (workspace) rmSync(workspace, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no builder container left');
  });

  it("1. Dockerfile.run deleted in the Explorer, the Build of the CodeLens runs the builder and fails NO_PAIR, shown on the builder's CMD line", async () => {
    await attempt('no-pair-in-problems', async () => {
      await openFile('qf/Dockerfile');
      assert.equal(await codeLens(/^Build \| not built yet \| Report$/), 'Build | not built yet | Report');
      await shot('pair-found');
      // The Explorer, on the active file's folder: right-click its Dockerfile.run → Delete Permanently (a remote
      // folder has no trash in code-server), and confirm.
      await runCommand('File: Reveal Active File in Explorer View');
      const runtimeRow = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: /^Dockerfile\.run$/ }).first();
      await runtimeRow.waitFor();
      await runtimeRow.click({ button: 'right' });
      await choose(/^Delete( Permanently)?$/);
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 15_000 });
      console.log(`delete dialog: ${read(await dialog.innerText())}`);
      await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Delete$/ }).click();
      const runtimeFile = path.join(workspace, 'qf', 'Dockerfile.run');
      for (let i = 0; i < 40 && existsSync(runtimeFile); i++) await page.waitForTimeout(250);
      assert.ok(!existsSync(runtimeFile), 'Dockerfile.run is deleted');
      await page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: /^Dockerfile\.run$/ }).waitFor({ state: 'detached' });
      await shot('runtime-dockerfile-deleted');
      // The builder Dockerfile's editor still shows the CodeLens it had, its Build: VS Code asks for lenses again
      // when the editor is edited or has the focus back, and the lens's provider is not told of the deletion.
      // (Build from the palette or a right-click on the lone Dockerfile says "not a pair" instead: no NO_PAIR.)
      await codeLens(/^Build \| not built yet \| Report$/);
      await editorPart()
        .locator('.codelens-decoration a', { hasText: /^Build$/ })
        .first()
        .click();
      const failed = toast(/qf failed \(NO_PAIR\)/);
      await failed.waitFor({ timeout: 120_000 });
      const said = read(await failed.innerText());
      console.log(`notification: ${said}`);
      // The pair's Dockerfile.run is named relative to the extension host's working folder: \S* before qf/.
      const message = new RegExp(
        String.raw`\S*qf/Dockerfile\.run is missing and the builder's tar has no Dockerfile, so the runtime image has nothing to build from\. ` +
          String.raw`The tar holds \d+ entries \([^)]*\bcat\b[^)]*\)\. Create \S*qf/Dockerfile\.run \(for this tar: FROM scratch; COPY \. /; ENTRYPOINT \["/cat"\]\), ` +
          String.raw`or have the builder write a Dockerfile into its tar; then build again\.`,
      );
      assert.match(said, new RegExp(`Dockerception: qf failed \\(NO_PAIR\\)\\. ${message.source}`));
      const rows = await problems();
      console.log(`problems:\n  ${rows.map((r) => `${r.file} › ${r.problem}`).join('\n  ')}`);
      // One problem, on the builder Dockerfile (file row "Dockerfile qf"), line 3: the CMD that writes the tar.
      assert.equal(rows.length, 1, JSON.stringify(rows));
      assert.equal(rows[0].file, 'Dockerfile qf');
      assert.match(rows[0].problem, new RegExp(`^${message.source} dockerception NO_PAIR \\[Ln 3, Col 1\\]$`));
      // The builder ran (its image is tagged); nothing was tagged for the runtime.
      assert.ok(imageId(BUILDER_TAG), `${BUILDER_TAG} is tagged`);
      assert.equal(imageId(RUNTIME_TAG), undefined, `${RUNTIME_TAG} is not tagged`);
    });
  });

  it('2. the Quick Fix on that line offers "Create Dockerfile.run for qf" and writes one for the tar', async () => {
    await attempt('quick-fix-creates-dockerfile-run', async () => {
      // Double-click the problem: the builder Dockerfile, focused, with the cursor on the problem's line.
      await page.locator('.markers-panel .monaco-list-row', { hasText: 'NO_PAIR' }).first().dblclick();
      await page.locator('.tabs-container .tab.active', { hasText: /^Dockerfile$/ }).waitFor();
      await editorPart().locator('.monaco-editor.focused').waitFor();
      await page.keyboard.press('Control+.');
      const widget = page.locator('.action-widget');
      await widget.waitFor({ timeout: 15_000 });
      const offered = (await widget.locator('.monaco-list-row.action').allInnerTexts()).map(read);
      console.log(`Quick Fix offers: ${offered.join(' | ')}`);
      assert.deepEqual(offered, ['Create Dockerfile.run for qf']);
      const fix = widget.locator('.monaco-list-row.action', { hasText: 'Create Dockerfile.run for qf' }).first();
      // The widget is keyboard-driven (a click lands on its pointer block): the fix is the focused row.
      assert.match((await fix.getAttribute('class')) ?? '', /focused/);
      await shot('quick-fix-offered');
      await page.keyboard.press('Enter');
      await widget.waitFor({ state: 'hidden' });
      const file = path.join(workspace, 'qf', 'Dockerfile.run');
      for (let i = 0; i < 40 && !existsSync(file); i++) await page.waitForTimeout(250);
      assert.equal(readFileSync(file, 'utf8'), FOR_THE_TAR, 'Dockerfile.run on disk is the one for the tar');
      await openFile('qf/Dockerfile.run');
      // Drawn a moment after the tab opens; its last line is the empty one after the final newline.
      let shown = '';
      for (let i = 0; i < 40 && shown !== FOR_THE_TAR; i++) {
        if (i > 0) await page.waitForTimeout(250);
        shown = await editorText();
      }
      assert.equal(shown, FOR_THE_TAR, 'the editor shows it');
      assert.equal(await page.locator('.tabs-container .tab.dirty').count(), 0, 'nothing is left unsaved');
    });
  });

  it('3. built again: no problems, and docker run runs the ENTRYPOINT the fix named', async () => {
    await attempt('rebuilt', async () => {
      // Its CodeLens: the pair is found again, its last build the failure.
      await codeLens(/^Build \| last build failed: NO_PAIR \| Report$/);
      await editorPart()
        .locator('.codelens-decoration a', { hasText: /^Build$/ })
        .first()
        .click();
      // The CodeLens first, while the editor has the focus the click left there: VS Code drops a lens refresh
      // that is pending when its editor loses the focus (until it has it again).
      const lens = await codeLens(/^Build \| builder [\d.]+ MB → runtime [\d.]+ MB \| Report$/);
      console.log(`CodeLens: ${lens}`);
      await shot('rebuilt');
      const rows = await problems();
      console.log(`problems: ${JSON.stringify(rows)}`);
      // The NO_PAIR on the builder Dockerfile is gone, and the doctor found nothing.
      assert.deepEqual(rows, []);
      // The image runs: cat (busybox) prints the file the tar carried.
      assert.ok(imageId(RUNTIME_TAG), `${RUNTIME_TAG} is tagged`);
      const run = spawnSync('docker', ['run', '--name', RUN_CONTAINER, RUNTIME_TAG, '/hello.txt'], { encoding: 'utf8' });
      console.log(`docker run ${RUNTIME_TAG} /hello.txt: exit ${run.status}: ${run.stdout.trim()}`);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, 'hello\n');
    });
  });

  it('4. Dockerfile.run deleted again: a right-click Build on the lone Dockerfile says it is not a pair and creates one', async () => {
    await attempt('not-a-pair-creates', async () => {
      const runtimeFile = path.join(workspace, 'qf', 'Dockerfile.run');
      rmSync(runtimeFile);
      await openFile('qf/Dockerfile');
      await runCommand('File: Reveal Active File in Explorer View');
      const builderRow = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: /^Dockerfile$/ }).first();
      await page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: /^Dockerfile\.run$/ }).waitFor({ state: 'detached' });
      await builderRow.click({ button: 'right' });
      await choose(/^Build Pair$/);
      const warning = toast(/is not a pair/);
      await warning.waitFor({ timeout: 30_000 });
      const said = read(await warning.innerText());
      console.log(`notification: ${said}`);
      assert.match(
        said,
        /Dockerception: qf is not a pair: it has a builder Dockerfile but no Dockerfile\.run, the runtime image's Dockerfile \(its context is the tar the builder writes\)\. Create one to make it a pair\./,
      );
      await shot('not-a-pair');
      await warning.locator('.monaco-button', { hasText: /^Create Dockerfile\.run$/ }).click();
      for (let i = 0; i < 40 && !existsSync(runtimeFile); i++) await page.waitForTimeout(250);
      assert.equal(readFileSync(runtimeFile, 'utf8'), TEMPLATE, 'Dockerfile.run on disk is the template');
      // It opens in the editor.
      await page.locator('.tabs-container .tab.active', { hasText: /^Dockerfile\.run$/ }).waitFor();
      await shot('created');
    });
  });
});
