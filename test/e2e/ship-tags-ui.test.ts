// dockerception.runtimeTag as a list with git variables, as a person uses it in code-server (Debian's
// Chromium, the real engine, a Debian docker-registry on a free loopback port): Build Pair from the row
// tags the image with every expanded tag (read on the engine), the report shows the estimated pull size
// before a push (the CLI's estimate, said as one), Push Runtime Image pushes every tag (read from the
// registry's API by curl), and the report then shows the registry's figure. The extension runs from
// this checkout (dist/ from 'npm run build').
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

const SHOTS = path.join(ARTIFACTS, 'e2e-ship-tags');
const PREFIX = `dc-shiptags${Math.random().toString(36).slice(2, 6)}`;
const BRANCH = 'feature/Ship#1';
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const imageId = (ref: string): string | undefined => {
  try {
    return docker('image', 'inspect', '--format', '{{.Id}}', ref).trim();
  } catch {
    return undefined;
  }
};

describe('dockerception.runtimeTag as a list, built and pushed in the real UI', { timeout: 8 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let registry: PrivateRegistry;
  let home: string;
  let workspace: string;
  let env: NodeJS.ProcessEnv;
  let expected: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    registry = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
    await registry.start();
    home = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-shiptags-'));
    workspace = path.join(home, 'workspace');
    writeFiles(workspace, {
      'app/Dockerfile': 'FROM busybox:1.36\nCMD ["sh", "-c", "mkdir /o && seq 1 30000 > /o/numbers.txt && tar -cf - -C /o ."]\n',
      'app/Dockerfile.run': 'FROM busybox:1.36\nCOPY numbers.txt /\nCMD ["wc", "-l", "/numbers.txt"]\n',
      '.vscode/settings.json': JSON.stringify({
        'dockerception.runtimeTag': [
          `${PREFIX}-\${name}`,
          `${registry.host}/${PREFIX}-\${name}:\${gitSha}`,
          `${registry.host}/${PREFIX}-\${folder}:\${gitBranch}`,
        ],
        'dockerception.revealOutput': 'never',
      }),
    });
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: workspace,
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
      }).trim();
    git('init', '-q', '-b', BRANCH);
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const sha = git('rev-parse', '--short', 'HEAD');
    // What the settings give, by hand: the branch made safe for a tag ('/' and '#' become '-').
    expected = [`${PREFIX}-app`, `${registry.host}/${PREFIX}-app:${sha}`, `${registry.host}/${PREFIX}-app:feature-Ship-1`];
    env = { ...process.env, DOCKERCEPTION_STATE_DIR: path.join(home, 'state'), DOCKER_CONFIG: path.join(home, 'docker-config') };
    mkdirSync(env.DOCKER_CONFIG as string, { recursive: true });
    for (const ref of expected) assert.equal(imageId(ref), undefined, `${ref} is not on the engine before the test`);
    ({ server, browser, page } = await openWorkbench({ name: 'e2e-ship-tags', workspace, env }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const tag of [...expected, `${PREFIX}-app-builder`]) {
      try {
        docker('rmi', '-f', tag);
      } catch {
        // not made
      }
    }
    await registry?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('Build Pair tags every expanded tag; the report estimates the pull size; Push pushes every tag; the report then shows the pushed figure; Remove Images removes every tag', async () => {
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    const clickMenu = async (rowLocator: ReturnType<Page['locator']>, label: string) => {
      await rowLocator.click({ button: 'right' });
      // VS Code ignores a click that lands right as its context menu opens: hover, then Enter.
      const item = page.locator('.context-view .action-label', { hasText: label }).first();
      await item.waitFor();
      await item.hover();
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
    };
    const appRow = () => page.locator('.monaco-list-row[aria-level="1"]', { hasText: 'app' }).first();
    const openReport = async () => {
      await appRow().hover();
      await appRow().locator('.action-label[aria-label="Show Report"]').click();
      const report = page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
      await report.locator('h1', { hasText: 'app: where the bytes are' }).waitFor({ timeout: 30_000 });
      return report;
    };
    try {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>View: Show Dockerception');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'View: Show Dockerception' }).first().click();
      await appRow().waitFor({ timeout: 60_000 });
      await appRow().hover();
      await appRow().locator('.action-label[aria-label="Build Pair"]').click();
      const deadline = Date.now() + 180_000;
      while (!expected.every(imageId) && Date.now() < deadline) await page.waitForTimeout(1000);
      await page.waitForTimeout(2000);
      await shot('built');

      // On the engine: one image under every tag the list gives, the first being the one the view shows.
      const ids = expected.map(imageId);
      assert.ok(ids[0], `${expected[0]} was tagged`);
      assert.deepEqual(
        ids,
        expected.map(() => ids[0]),
        `every tag names the built image: ${JSON.stringify(Object.fromEntries(expected.map((r, i) => [r, ids[i]])))}`,
      );
      await appRow().click();
      const runtimeRow = page.locator('.monaco-list-row[aria-level="2"]', { hasText: 'runtime' }).first();
      await runtimeRow.waitFor();
      assert.ok((await runtimeRow.innerText()).includes(expected[0]), `the view shows the first tag: ${await runtimeRow.innerText()}`);

      // The report before any push: an estimate, said as one, equal to the CLI's (inspect --pull-size).
      const cli = JSON.parse(
        execFileSync(
          process.execPath,
          [path.join(ROOT, 'dist', 'cli.js'), 'inspect', path.join(workspace, 'app'), '--tag', expected[0], '--pull-size', '--json'],
          {
            env,
            encoding: 'utf8',
          },
        ),
      ) as { estimate: { pullSize: number }; pullSizeSource: string };
      assert.equal(cli.pullSizeSource, 'estimate');
      const report = await openReport();
      const estimated = report.locator('#pull-size', { hasText: 'to pull' });
      await estimated.waitFor({ timeout: 60_000 });
      const before = (await estimated.innerText()).replace(/\u00a0/g, ' ');
      assert.match(before, /^runtime [\d.]+ MB, about [\d.]+ (kB|MB) to pull \(estimated: its layers gzipped as the engine pushes them/);
      assert.ok(before.includes(`about ${formatBytes(cli.estimate.pullSize)} to pull`), `${before} / the CLI's ${cli.estimate.pullSize} B`);
      await shot('report-estimate');

      // Push Runtime Image from the row: every tag is pushed; the registry has each, one digest.
      await clickMenu(appRow(), 'Push Runtime Image');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: pushed' }).first();
      await toast.waitFor({ timeout: 120_000 });
      await shot('pushed');
      const said = (await toast.innerText()).replace(/\u00a0/g, ' ');
      const repo = `${PREFIX}-app`;
      const digests = expected.slice(1).map((ref) => registryDigest(registry, repo, ref.slice(ref.lastIndexOf(':') + 1), undefined, false));
      assert.ok(digests[0]?.startsWith('sha256:'), `the registry has ${expected[1]}`);
      assert.equal(digests[1], digests[0], `the registry has ${expected[2]} as the same image`);
      // The first tag names no registry (Docker Hub's library/, where nobody can push): it stays on the engine;
      // the toast names the pushed image and its other tag.
      assert.ok(said.includes(`pushed ${registry.host}/${repo}@${digests[0]}`), said);
      assert.ok(said.includes(`also as ${expected[2]}`), said);
      const pushedSize = registryManifest(registry, repo, expected[1].slice(expected[1].lastIndexOf(':') + 1), undefined, false).pullSize;

      // The open report now (updated by the push, not reopened): the registry's figure, within 2% of the estimate.
      const fromPush = report.locator('#pull-size', { hasText: 'pushed' });
      await fromPush.waitFor({ timeout: 30_000 });
      const afterText = (await fromPush.innerText()).replace(/\u00a0/g, ' ');
      assert.ok(afterText.includes(`, ${formatBytes(pushedSize)} to pull (pushed`), `${afterText} / the registry's ${pushedSize} B`);
      assert.ok(Math.abs(cli.estimate.pullSize - pushedSize) / pushedSize <= 0.02, `estimate ${cli.estimate.pullSize} B, pushed ${pushedSize} B`);
      console.log(`# tags ${expected.join(', ')}; estimate ${cli.estimate.pullSize} B, pushed ${pushedSize} B; ${afterText}`);
      await shot('report-pushed');

      // Remove Images from the row: the modal names every tag and the builder's; Remove takes them all off the
      // engine (the registry keeps what was pushed).
      await clickMenu(appRow(), 'Remove Images');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 15_000 });
      const asked = (await dialog.innerText()).replace(/\u00a0/g, ' ');
      for (const tag of [...expected, `${PREFIX}-app-builder`]) assert.ok(asked.includes(tag), `the question names ${tag}: ${asked}`);
      await shot('remove-images-asked');
      await dialog.locator('.monaco-button', { hasText: 'Remove' }).first().click();
      const removedToast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: removed' }).first();
      await removedToast.waitFor({ timeout: 30_000 });
      const removedText = (await removedToast.innerText()).replace(/\u00a0/g, ' ');
      for (const tag of [...expected, `${PREFIX}-app-builder`]) {
        assert.equal(imageId(tag), undefined, `${tag} was removed from the engine`);
        assert.ok(removedText.includes(tag), `the toast names ${tag}: ${removedText}`);
      }
      assert.equal(
        registryDigest(registry, repo, expected[1].slice(expected[1].lastIndexOf(':') + 1), undefined, false),
        digests[0],
        'the registry keeps the push',
      );
      await shot('remove-images-done');
    } catch (error) {
      await shot('FAILED').catch(() => undefined);
      throw error;
    }
  });
});
