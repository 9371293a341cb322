// The Pairs view at a glance (issue 26), as a person reads it in code-server + Chromium with the side bar at
// its default width: each row's label is the pair's name and its description leads with the runtime size,
// which is not cut; the icon shows the state (building, built, up to date, failed, doctor error, engine
// unreachable); the engine's address is in sight without hovering; the status bar names the pair; builder
// and runtime tags read alike (as the engine lists them). Then the engine goes away: a private dockerd of
// this test's own (the shared engine is never stopped) is stopped, the rows keep their sizes with "engine
// unreachable; last seen …", and when it is started again the rows and the status bar come back without a build.
// One code-server start. Screenshots under test-artifacts/view-ui/.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ARTIFACTS, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';
import { uiSteps } from '../support/ui-steps';
import { PrivateEngine } from '../support/endpoints/dockerd';

const SHOTS = path.join(ARTIFACTS, 'view-ui');
const BUSYBOX = 'busybox:1.36';
const SIZE = String.raw`[\d.]+ (?:B|kB|MB)`;
/** The one wording of a comparison: "(12.1× smaller)", "(85.8% smaller)", "(1151× smaller)". */
const SMALLER = String.raw`\((?:[\d.]+×|[\d.]+%) smaller\)`;

const FILES: Record<string, string> = {
  // A runtime image that can start (busybox is static), beside a builder made larger by what it built with.
  'app/Dockerfile': `FROM ${BUSYBOX}\nRUN mkdir /o && cp /bin/busybox /o/ && head -c 20000000 /dev/zero > /toolchain\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
  'app/Dockerfile.run': 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "hello"]\n',
  // The runtime image names a program it does not have: the doctor's MISSING_ENTRYPOINT.
  'box/Dockerfile': `FROM ${BUSYBOX}\nRUN mkdir /o && echo hi > /o/hi.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
  'box/Dockerfile.run': 'FROM scratch\nCOPY hi.txt /\nENTRYPOINT ["/ls"]\n',
  'broken/Dockerfile': `FROM ${BUSYBOX}\nCMD ["sh", "-c", "echo the compiler broke >&2; exit 3"]\n`,
  'broken/Dockerfile.run': 'FROM scratch\n',
  // Slow enough to be read while it builds.
  'slow/Dockerfile': `FROM ${BUSYBOX}\nRUN mkdir /o && cp /bin/busybox /o/ && head -c 10000000 /dev/zero > /toolchain\nCMD ["sh", "-c", "sleep 12; tar -cf - -C /o ."]\n`,
  'slow/Dockerfile.run': 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "slow"]\n',
};

interface RowInfo {
  label: string;
  description: string;
  icon: string;
  colour: string;
  /** The description's first size (the runtime's) lies wholly inside the visible part of the row. */
  runtimeVisible: boolean;
  /** The whole description is visible (nothing cut by the ellipsis). */
  wholeVisible: boolean;
}

describe('the Pairs view at a glance, and while the engine is away', { timeout: 10 * 60_000 }, () => {
  const engine = new PrivateEngine('view-ui');
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const { attempt, runCommand } = uiSteps(() => page, SHOTS);
  const sidebar = () => page.locator('.part.sidebar');
  const row = (name: string): Locator =>
    sidebar()
      .locator('.monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }) })
      .first();
  const status = () => page.locator('#workbench\\.parts\\.statusbar .statusbar-item');

  /** What a person reads on a row, and whether its runtime size (the description's first size) is inside what shows. */
  async function read(name: string): Promise<RowInfo> {
    return row(name).evaluate((element) => {
      // This runs in the page (the tests compile without the DOM's types).
      interface Rect {
        right: number;
      }
      interface PageRange {
        setStart(node: unknown, offset: number): void;
        setEnd(node: unknown, offset: number): void;
        getBoundingClientRect(): Rect;
      }
      const web = globalThis as unknown as { getComputedStyle(e: unknown): { color: string }; document: { createRange(): PageRange } };
      const label = element.querySelector('.label-name')?.textContent ?? '';
      const descriptionElement = element.querySelector('.label-description');
      const description = descriptionElement?.textContent ?? '';
      const iconElement = element.querySelector('.custom-view-tree-node-item-icon');
      const icon = iconElement?.className ?? '';
      const colour = iconElement ? web.getComputedStyle(iconElement).color : '';
      // The clipping box: the label's container (overflow hidden, text-overflow ellipsis).
      const clip = element.querySelector('.monaco-icon-label-container')?.getBoundingClientRect();
      const text = descriptionElement?.firstChild;
      let runtimeVisible = false;
      let wholeVisible = false;
      if (clip && text && text.nodeType === 3) {
        // The ellipsis takes the last few pixels of a cut text: keep 12 px for it.
        const visibleRight = clip.right - 12;
        const range = web.document.createRange();
        const first = /^[\d.]+ (?:B|kB|MB)/.exec(text.textContent ?? '');
        if (first) {
          range.setStart(text, 0);
          range.setEnd(text, first[0].length);
          runtimeVisible = range.getBoundingClientRect().right <= visibleRight;
        }
        range.setStart(text, 0);
        range.setEnd(text, (text.textContent ?? '').length);
        wholeVisible = range.getBoundingClientRect().right <= clip.right;
      }
      return { label, description, icon, colour, runtimeVisible, wholeVisible };
    });
  }
  /** Waits until the row's description matches, then reads it. */
  async function readWhen(name: string, description: RegExp, timeout = 60_000): Promise<RowInfo> {
    await row(name).locator('.label-description', { hasText: description }).waitFor({ timeout });
    return read(name);
  }
  const hasIcon = (info: RowInfo, icon: string) => info.icon.split(/\s+/).includes(`codicon-${icon}`);

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await engine.start();
    engine.loadFrom([BUSYBOX]);
    workspace = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-view-'));
    writeFiles(workspace, {
      ...FILES,
      '.vscode/settings.json': JSON.stringify({
        'dockerception.host': engine.url,
        'dockerception.runtimeTag': 'dc-view-${name}',
        'dockerception.revealOutput': 'never',
      }),
    });
    // The default window and side bar: a 1600 px wide page leaves the side bar at VS Code's default width.
    ({ server, browser, page } = await openWorkbench({ name: 'e2e-view', workspace }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    // Every image this test made is in its own engine's data root, removed with it.
    await engine.remove();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('shows each state at a glance with the runtime size first and in sight, the engine, and the pair in the status bar', async () => {
    await attempt('not-built', async () => {
      await runCommand('View: Show Dockerception');
      for (const name of ['app', 'box', 'broken', 'slow']) {
        const info = await readWhen(name, /^not built yet$/);
        assert.equal(info.label, name, "the row's label is the pair's name");
        assert.ok(hasIcon(info, 'circle-large-outline'), `${name}: ${info.icon}`);
      }
      // The engine's address, read without hovering (the view's title bar is hidden while the view is alone).
      await sidebar().getByText(`Engine: ${engine.url}`, { exact: true }).waitFor({ timeout: 15_000 });
    });

    const width = (await sidebar().boundingBox())?.width ?? 0;
    console.log(`side bar width: ${width} px`);

    await attempt('building', async () => {
      await runCommand('Dockerception: Build All');
      const info = await readWhen('slow', /building: /, 120_000);
      assert.ok(hasIcon(info, 'sync') && /spin/.test(info.icon), `building: ${info.icon}`);
    });

    let built: RowInfo | undefined;
    await attempt('finished', async () => {
      await page.locator('.notifications-toasts', { hasText: 'Build All: broken failed' }).first().waitFor({ timeout: 180_000 });
      built = await readWhen('app', new RegExp(`^${SIZE} ← ${SIZE} ${SMALLER}$`));
      assert.ok(hasIcon(built, 'package'), `built: ${built.icon}`);
      assert.ok(built.runtimeVisible, `the runtime size is in sight at ${width} px: '${built.description}'`);

      const doctor = await readWhen('box', new RegExp(`^${SIZE} ← ${SIZE} · cannot start$`));
      assert.ok(hasIcon(doctor, 'warning'), `doctor error: ${doctor.icon}`);
      assert.ok(doctor.runtimeVisible);

      const failed = await readWhen('broken', /^last build failed: BUILDER_EXIT$/);
      assert.ok(hasIcon(failed, 'error'), `failed: ${failed.icon}`);

      const slow = await readWhen('slow', new RegExp(`^${SIZE} ← ${SIZE} ${SMALLER}$`));
      assert.ok(slow.runtimeVisible);
      // Good news and bad news in different colours.
      assert.notEqual(built.colour, failed.colour, 'built and failed icons differ in colour');
      assert.notEqual(doctor.colour, built.colour, 'a doctor error is not coloured as a success');
    });

    await attempt('up-to-date', async () => {
      await row('app').hover();
      await row('app').locator('.action-label[aria-label="Build Pair"]').click();
      // The build runs (spinner), then finds nothing changed: the up-to-date icon.
      await row('app').locator('.custom-view-tree-node-item-icon.codicon-pass').waitFor({ timeout: 60_000 });
      // The status bar names the pair its sizes belong to (after Build All it showed the last pair to finish).
      await status()
        .filter({ hasText: /app: builder [\d.]+ MB → runtime/ })
        .first()
        .waitFor({ timeout: 10_000 });
      const info = await read('app');
      assert.ok(hasIcon(info, 'pass'), `up to date: ${info.icon}`);
      assert.match(info.description, new RegExp(`^${SIZE} ← ${SIZE} ${SMALLER}$`));
    });

    await attempt('tags', async () => {
      await row('app').click();
      await page.keyboard.press('ArrowRight');
      const images = sidebar()
        .locator('.monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: /^(builder|runtime)$/ }) });
      await images.nth(1).waitFor({ timeout: 10_000 });
      const texts = await images.allInnerTexts();
      const builderTag = /dc-view-app-builder\S*/.exec(texts.find((t) => t.startsWith('builder')) ?? '')?.[0];
      const runtimeTag = /dc-view-app(?!-)\S*/.exec(texts.find((t) => t.startsWith('runtime')) ?? '')?.[0];
      assert.equal(builderTag, 'dc-view-app-builder:latest');
      assert.equal(runtimeTag, 'dc-view-app:latest', 'both tags are shown as the engine lists them');
      // …as the engine itself lists them.
      for (const tag of [builderTag, runtimeTag]) {
        const repoTags = JSON.parse(engine.docker('image', 'inspect', '-f', '{{json .RepoTags}}', String(tag)).stdout) as string[];
        assert.ok(repoTags.includes(String(tag)), `${tag} in ${repoTags.join(', ')}`);
      }
      await page.keyboard.press('ArrowLeft');
    });

    // The best picture of the view for the README: every state in one side bar, the focus elsewhere (no row
    // highlighted and no hover buttons over a description).
    await page.mouse.click(900, 300);
    await page.mouse.move(900, 500);
    // test-artifacts only: media/screenshot-view.png is copied from it by hand (a test never writes into the tree).
    await sidebar().screenshot({ path: path.join(SHOTS, 'view.png') });
  });

  it('keeps the sizes while the engine is away and comes back, status bar included, without a build', async () => {
    const before = await read('app');
    const sizes = /^(\S+ \S+ ← \S+ \S+)/.exec(before.description)?.[1];
    assert.ok(sizes, before.description);

    await attempt('engine-away', async () => {
      await engine.stop();
      await runCommand('Dockerception: Refresh');
      const info = await readWhen('app', /engine unreachable; last seen \d/, 30_000);
      assert.equal(info.description.startsWith(`${sizes} · engine unreachable; last seen `), true, info.description);
      assert.ok(hasIcon(info, 'debug-disconnect'), `unreachable: ${info.icon}`);
      assert.ok(info.runtimeVisible, info.description);
      console.log(`away: '${info.description}' (whole description visible: ${info.wholeVisible})`);
      const engineRow = sidebar().locator('.monaco-list-row', { hasText: 'Docker engine unreachable' }).first();
      assert.match(await engineRow.innerText(), /Refresh, or choose another engine/);
      // The view's message comes from the extension host apart from the rows: waited for, not read at once.
      await sidebar().getByText(`Engine: ${engine.url} (unreachable)`, { exact: true }).waitFor({ timeout: 15_000 });
      // A build now fails for want of an engine: the status bar says so for this pair.
      await row('app').hover();
      await row('app').locator('.action-label[aria-label="Build Pair"]').click();
      await status().filter({ hasText: 'app: engine unreachable' }).first().waitFor({ timeout: 60_000 });
      // The image rows keep what they knew, not "(not built)".
      await row('app').click();
      await page.keyboard.press('ArrowRight');
      const runtime = sidebar()
        .locator('.monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: /^runtime$/ }) })
        .first();
      assert.match(await runtime.innerText(), new RegExp(`${SIZE} · dc-view-app:latest · engine unreachable; last seen`));
    });

    await attempt('engine-back', async () => {
      await engine.start();
      // No click: the view looks again by itself.
      const info = await readWhen('app', new RegExp(`^${sizes.replace(/[.()]/g, '\\$&')} ${SMALLER}$`), 30_000);
      assert.ok(hasIcon(info, 'pass') || hasIcon(info, 'package'), `back: ${info.icon}`);
      await status()
        .filter({ hasText: /app: builder [\d.]+ MB → runtime/ })
        .first()
        .waitFor({ timeout: 15_000 });
      assert.equal(await sidebar().locator('.monaco-list-row', { hasText: 'Docker engine unreachable' }).count(), 0);
      await sidebar().getByText(`Engine: ${engine.url}`, { exact: true }).waitFor({ timeout: 15_000 });
      const box = await read('box');
      assert.match(box.description, / · cannot start$/);
    });
  });
});
