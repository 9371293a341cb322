// Issue 26 as a person meets it in code-server + Chromium on the real engine (one code-server start):
// "Choose the Docker Engine" lists what the docker CLI knows (held to `docker context ls` on a private
// DOCKER_CONFIG, with contexts made by `docker context create`), writes dockerception.host where it takes
// effect in a remote window (code-server is one) and the extension then talks to the chosen engine; the Get
// Started walkthrough's buttons run the real commands and tick their steps; the dockerception task runs
// the CLI in the terminal from "Tasks: Run Task" and from tasks.json, and a failing pair's error lands in
// the Problems panel on its Dockerfile line through the $dockerception matcher. The extension runs from
// this checkout (dist/ from 'npm run build'). Screenshots under test-artifacts/choose-ui/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, launchChromium, startCodeServer, writeFiles, type CodeServer } from '../support/code-server';
import { uiSteps } from '../support/ui-steps';

const SHOTS = path.join(ARTIFACTS, 'choose-ui');
const RUN = Math.random().toString(36).slice(2, 6);
const TAG = `dc-choose${RUN}-\${name}`;
const SOCKET = 'unix:///var/run/docker.sock';

describe('choose the engine, Get Started, and tasks in the real UI', { timeout: 10 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let home: string;
  let workspace: string;
  let dockerConfig: string;
  let unreachable: string;
  const tags = () => ['ok', 'bad', 'hello-dockerception'].flatMap((name) => [`dc-choose${RUN}-${name}`, `dc-choose${RUN}-${name}-builder`]);
  const docker = (...args: string[]) =>
    execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_CONFIG: dockerConfig } });

  const { shot, attempt, runCommand, waitFor } = uiSteps(() => page, SHOTS);
  const rows = () => page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const read = (text: string) => text.replace(/[\s\u00a0]+/g, ' ').trim();
  /** Each entry as "label description": what a person reads on its first line (a separator's title apart). */
  async function pickRows(): Promise<string[]> {
    await rows().first().waitFor();
    await page.waitForTimeout(300);
    const texts: string[] = [];
    for (const row of await rows().all()) {
      const label = await row.locator('.label-name').first().innerText();
      const description = (await row.locator('.label-description').count()) ? await row.locator('.label-description').first().innerText() : '';
      texts.push(read(`${label} ${description}`));
    }
    return texts;
  }
  const toast = (text: string | RegExp) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).last();
  const clearNotifications = () => runCommand('Notifications: Clear All Notifications');
  /** The Pairs view's description: the engine's URL, as the title bar shows it. */
  async function viewEngine(): Promise<string> {
    return read(await page.locator('.pane-header', { hasText: 'Pairs' }).first().locator('.description').innerText());
  }
  const settingsFile = (tab: 'User' | 'Machine') => path.join(server.userDataDir, tab, 'settings.json');
  const settingIn = (tab: 'User' | 'Machine'): unknown => {
    try {
      return JSON.parse(readFileSync(settingsFile(tab), 'utf8'))['dockerception.host'];
    } catch {
      return undefined;
    }
  };
  /** The Problems panel's rows (message, source(code), [Ln, Col]) as a person reads them. */
  async function problems(): Promise<string[]> {
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = page.locator('.markers-panel');
    await panel.waitFor();
    await page.waitForTimeout(500);
    return (await panel.locator('.monaco-list-row').allInnerTexts()).map(read);
  }

  before(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    home = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-choose-'));
    workspace = path.join(home, 'workspace');
    dockerConfig = path.join(home, 'docker-config');
    unreachable = `unix://${home}/nothing-listens.sock`;
    mkdirSync(dockerConfig, { recursive: true });
    // The docker CLI makes the contexts in the private config folder (never the real ~/.docker).
    docker('context', 'create', 'dc-nowhere', '--docker', `host=${unreachable}`);
    docker('context', 'create', 'dc-local', '--docker', `host=${SOCKET}`);
    // A context with TLS (skip-tls-verify): the setting cannot carry that, so the pick explains instead.
    docker('context', 'create', 'dc-tls', '--docker', 'host=tcp://127.0.0.1:2376,skip-tls-verify=true');
    writeFiles(workspace, {
      'ok/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /out && echo "hello from ok" > /out/hello.txt\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
      'ok/Dockerfile.run': 'FROM busybox:1.36\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n',
      // Line 2 fails: the CLI says so as bad/Dockerfile:2, which the $dockerception matcher reads.
      'bad/Dockerfile': 'FROM busybox:1.36\nRUN echo compiling && exit 3\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
      'bad/Dockerfile.run': 'FROM scratch\nCOPY hello.txt /hello.txt\n',
      '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': TAG, 'dockerception.revealOutput': 'never' }),
    });
    server = await startCodeServer({
      name: 'e2e-choose',
      trusted: true,
      // DOCKER_HOST is the real engine, so that "the docker CLI's choice" builds; the contexts are elsewhere.
      env: { DOCKER_CONFIG: dockerConfig, DOCKER_HOST: SOCKET, DOCKERCEPTION_STATE_DIR: path.join(home, 'state') },
      settings: { 'window.zoomLevel': 0, 'terminal.integrated.gpuAcceleration': 'off', 'files.autoSave': 'off' },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    await page.goto(server.url(workspace, [['extensionDevelopmentPath', server.remote(ROOT)]]), { timeout: 90_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const tag of tags()) {
      try {
        execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
      } catch {
        // not made
      }
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("1. the quick pick lists what 'docker context ls' lists, DOCKER_HOST, the default and 'Enter an address…', each with its address", async () => {
    await attempt('engine-pick', async () => {
      await runCommand('View: Show Dockerception');
      assert.equal(await waitFor('the view names the engine', viewEngine, (v) => v !== ''), SOCKET);
      await runCommand('Dockerception: Choose the Docker Engine');
      const texts = await pickRows();
      console.log(`Choose the Docker Engine:\n  ${texts.join('\n  ')}`);
      const listed = docker('context', 'ls', '--format', '{{.Name}}')
        .split('\n')
        .map((n) => n.trim())
        .filter(Boolean);
      assert.deepEqual([...listed].sort(), ['dc-local', 'dc-nowhere', 'dc-tls', 'default']);
      const contextRows = texts.filter((t) => listed.some((name) => t.startsWith(`${name} `)));
      assert.equal(contextRows.length, listed.length, 'one row for each context the docker CLI lists');
      assert.ok(texts.some((t) => t.startsWith(`default ${SOCKET}`)));
      assert.ok(texts.some((t) => t.startsWith(`dc-nowhere ${unreachable}`)));
      assert.ok(texts.some((t) => t.startsWith(`dc-local ${SOCKET}`)));
      assert.ok(texts.some((t) => t.startsWith(`DOCKER_HOST ${SOCKET}`)));
      assert.match(texts[0], /^Use the docker CLI's choice unix:\/\/\/var\/run\/docker\.sock \(from DOCKER_HOST\) · current/);
      assert.equal(texts.filter((t) => t.includes('· current')).length, 1, 'one row is current');
      assert.ok(texts.some((t) => t.startsWith('Enter an address…')));
      await page.keyboard.press('Escape');
    });
  });

  it('2. picking a context writes the setting where it applies in a remote window, and the extension talks to that engine', async () => {
    await attempt('engine-context-chosen', async () => {
      // What issue 26 saw: in a remote window the User (local) settings do not apply to a machine-overridable setting.
      const user = JSON.parse(readFileSync(settingsFile('User'), 'utf8'));
      writeFileSync(settingsFile('User'), JSON.stringify({ ...user, 'dockerception.host': unreachable }));
      await page.waitForTimeout(2000);
      assert.equal(await viewEngine(), SOCKET, 'a value in the User settings does not apply here');
      writeFileSync(settingsFile('User'), JSON.stringify(user));

      await runCommand('Dockerception: Choose the Docker Engine');
      await rows().filter({ hasText: 'dc-nowhere' }).first().click();
      await toast(`builds now use ${unreachable}`).waitFor({ timeout: 15_000 });
      const said = read(await toast(`builds now use`).innerText());
      assert.match(said, /written to the Remote settings/);
      assert.equal(settingIn('Machine'), unreachable, 'written to the remote machine settings');
      assert.equal(settingIn('User'), undefined, 'not to the User settings, which do not apply');
      assert.equal(await waitFor('the view names the chosen engine', viewEngine, (v) => v === unreachable), unreachable);
      // The extension now asks that engine: nothing listens there.
      await page.locator('.monaco-list-row', { hasText: 'Docker engine unreachable' }).first().waitFor({ timeout: 30_000 });
      await runCommand('Dockerception: Choose the Docker Engine');
      const texts = await pickRows();
      assert.ok(
        texts.some((t) => t.startsWith(`dc-nowhere ${unreachable} · current`)),
        texts.join('\n'),
      );
      assert.equal(texts.filter((t) => t.includes('· current')).length, 1, 'one row is current');
      await page.keyboard.press('Escape');
    });
  });

  it("3. 'Enter an address…' refuses what the engine parser refuses, saying why, and takes a good one", async () => {
    await attempt('engine-address-entered', async () => {
      await clearNotifications();
      await runCommand('Dockerception: Choose the Docker Engine');
      await rows().filter({ hasText: 'Enter an address' }).first().click();
      const input = page.locator('.quick-input-widget input');
      await input.fill('ftp://example.com');
      const message = page.locator('.quick-input-widget .quick-input-message');
      await waitFor(
        'the input says what is wrong',
        async () => read(await message.innerText()),
        (t) => /ftp/.test(t),
        10_000,
      );
      await shot('engine-address-refused');
      assert.match(
        read(await message.innerText()),
        /uses 'ftp:\/\/', which is not an engine address\. The docker CLI takes unix:\/\/\/path, tcp:\/\/host:port/,
      );
      await input.fill('tcp://[::1]');
      await waitFor(
        'the input says what is wrong',
        async () => read(await message.innerText()),
        (t) => /IPv6 host needs a port/.test(t),
        10_000,
      );
      await input.fill(SOCKET);
      await page.waitForTimeout(500);
      await page.keyboard.press('Enter');
      await toast(`builds now use ${SOCKET}`).waitFor({ timeout: 15_000 });
      assert.equal(settingIn('Machine'), SOCKET);
      assert.equal(await waitFor('the view names the engine', viewEngine, (v) => v === SOCKET), SOCKET);
      // The extension asks the engine there again: the pairs show, the unreachable row goes.
      await waitFor(
        'the unreachable row goes',
        () => page.locator('.monaco-list-row', { hasText: 'Docker engine unreachable' }).count(),
        (n) => n === 0,
      );
      await page.locator('.monaco-list-row', { hasText: 'not built' }).first().waitFor({ timeout: 30_000 });
    });
  });

  it("4. a TLS context is explained, not written; 'Use the docker CLI's choice' clears the setting", async () => {
    await attempt('engine-cli-choice', async () => {
      await clearNotifications();
      await runCommand('Dockerception: Choose the Docker Engine');
      await rows().filter({ hasText: 'dc-tls' }).first().click();
      await toast("the docker context 'dc-tls' uses TLS").waitFor({ timeout: 15_000 });
      assert.equal(settingIn('Machine'), SOCKET, 'a TLS context is not written as a bare address');
      await clearNotifications();
      await runCommand('Dockerception: Choose the Docker Engine');
      await rows().filter({ hasText: "Use the docker CLI's choice" }).first().click();
      await toast(`builds now use ${SOCKET} (from DOCKER_HOST)`).waitFor({ timeout: 15_000 });
      assert.equal(settingIn('Machine'), undefined, 'the setting is gone');
      assert.equal(settingIn('User'), undefined);
    });
  });

  it('4b. when the setting cannot be written, it says so and the Settings editor opens on the Remote tab', async () => {
    await attempt('engine-write-failed', async () => {
      await clearNotifications();
      // The remote settings file made unwritable (a folder in its place): VS Code's write fails.
      const file = settingsFile('Machine');
      const kept = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      rmSync(file, { force: true });
      mkdirSync(file, { recursive: true });
      try {
        await runCommand('Dockerception: Choose the Docker Engine');
        await rows().filter({ hasText: 'dc-nowhere' }).first().click();
        const said = toast('could not write dockerception.host');
        await said.waitFor({ timeout: 15_000 });
        assert.match(
          read(await said.innerText()),
          /could not write dockerception\.host to the Remote settings \(.+\)\. The Settings editor is open: set it there\./,
        );
        const editor = page.locator('.settings-editor');
        await editor.waitFor({ timeout: 15_000 });
        const tab = read(
          await editor.locator('.settings-tabs-widget .action-label.checked, .settings-tabs-widget .action-label[aria-checked="true"]').first().innerText(),
        );
        assert.match(tab, /^Remote/, `the Settings editor's tab: ${tab}`);
        await editor.locator('.setting-item-contents', { hasText: 'Docker engine address' }).first().waitFor({ timeout: 15_000 });
        await shot('engine-write-failed-settings');
      } finally {
        rmSync(file, { recursive: true, force: true });
        if (kept !== undefined) writeFileSync(file, kept);
      }
      assert.equal(await viewEngine(), SOCKET, 'the engine is the one it was');
    });
  });

  it('5. Get Started: the walkthrough is there, its buttons run the real commands and tick their steps', async () => {
    const walkthrough = page.locator('.gettingStartedContainer');
    const stepOf = (title: string) => walkthrough.locator('.getting-started-step', { hasText: title }).first();
    /** Ticked: the step's check mark (a codicon with the class 'complete'), as a person sees it. */
    const done = async (title: string) => (await stepOf(title).locator('.codicon.complete').count()) > 0;
    async function backToWalkthrough(): Promise<void> {
      await page.keyboard.press('Escape');
      await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click();
      await walkthrough.waitFor();
    }
    async function press(title: string, button: string): Promise<void> {
      await stepOf(title).click();
      await stepOf(title).locator('.button-link, a, button', { hasText: button }).first().click();
    }
    /** A command run without an open Dockerfile asks which pair: the example's. */
    async function pickExample(): Promise<void> {
      const row = rows().filter({ hasText: 'hello-dockerception' }).first();
      if (
        await row.waitFor({ timeout: 5000 }).then(
          () => true,
          () => false,
        )
      )
        await row.click();
    }
    await attempt('walkthrough-open', async () => {
      await clearNotifications();
      await runCommand('Welcome: Open Walkthrough...');
      await rows().filter({ hasText: 'Get Started with Dockerception' }).first().click();
      await walkthrough
        .locator('.getting-started-category', { hasText: 'Get Started with Dockerception' })
        .first()
        .waitFor({ timeout: 15_000 })
        .catch(() => undefined);
      await stepOf('Create the example pair').waitFor({ timeout: 15_000 });
      const titles = (await walkthrough.locator('.getting-started-step .step-title').allInnerTexts()).map(read);
      console.log(`walkthrough steps: ${titles.join(' | ')}`);
      assert.deepEqual(titles, [
        'What a pair is',
        'Choose the Docker Engine',
        'Create the example pair',
        'Build it',
        'Read the report',
        'Fix a doctor finding',
      ]);
      assert.ok(!(await done('Create the example pair')), 'nothing made the example pair yet');
      await press('What a pair is', 'Show the Pairs view');
      await page.locator('#workbench\\.parts\\.sidebar .monaco-list-row', { hasText: 'not built yet' }).first().waitFor();
      await waitFor('the step is ticked', () => done('What a pair is'), Boolean, 10_000);
      // Its button opens the engine's quick pick (tested above); the step ticks on the command.
      await press('Choose the Docker Engine', 'Choose the Docker Engine');
      await rows().filter({ hasText: "Use the docker CLI's choice" }).first().waitFor();
      await backToWalkthrough();
      await waitFor('the step is ticked', () => done('Choose the Docker Engine'), Boolean, 10_000);
    });
    await attempt('walkthrough-example-created', async () => {
      await press('Create the example pair', 'Create Example Pair');
      const builder = path.join(workspace, 'hello-dockerception', 'Dockerfile');
      await waitFor(
        'the example pair is written',
        async () => existsSync(builder) && existsSync(path.join(workspace, 'hello-dockerception', 'Dockerfile.run')),
        Boolean,
      );
      await page.locator('.tabs-container .tab.active', { hasText: 'Dockerfile' }).first().waitFor({ timeout: 15_000 });
      await backToWalkthrough();
      await waitFor('its step is ticked', () => done('Create the example pair'), Boolean, 10_000);
    });
    await attempt('walkthrough-built', async () => {
      await press('Build it', 'Build');
      await pickExample();
      // The example's runtime image holds hello.txt and no program: built, and the doctor says it cannot start.
      await toast(new RegExp(`built dc-choose${RUN}-hello-dockerception|but the doctor found a problem`)).waitFor({ timeout: 120_000 });
      await backToWalkthrough();
      await waitFor('its step is ticked', () => done('Build it'), Boolean, 10_000);
    });
    await attempt('walkthrough-report', async () => {
      await press('Read the report', 'Show Report');
      await pickExample();
      const report = page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
      await report.locator('h1', { hasText: 'where the bytes are' }).waitFor({ timeout: 30_000 });
      assert.match(read(await report.locator('h1').first().innerText()), /hello-dockerception: where the bytes are/);
      await shot('walkthrough-report-open');
      await backToWalkthrough();
      await waitFor('its step is ticked', () => done('Read the report'), Boolean, 10_000);
    });
    await attempt('walkthrough-fix', async () => {
      await press('Fix a doctor finding', 'Open the Problems panel');
      await page.locator('.markers-panel').waitFor({ timeout: 15_000 });
      // What the step's text points at: the example's finding, on its Dockerfile.run.
      const found = (await page.locator('.markers-panel .monaco-list-row').allInnerTexts()).map(read);
      assert.ok(
        found.some((t) => /no ENTRYPOINT and no CMD.*MISSING_ENTRYPOINT \[Ln \d+, Col 1\]$/.test(t)),
        found.join('\n'),
      );
      assert.ok(!(await done('Fix a doctor finding')), 'opening the panel is not a fix');
      // The step completes on a Quick Fix (editor.action.quickFix), as on the Dockerfile line the doctor names.
      await page.locator('.tabs-container .tab', { hasText: 'Dockerfile' }).first().click();
      await runCommand('Quick Fix...');
      await backToWalkthrough();
      await waitFor('its step is ticked', () => done('Fix a doctor finding'), Boolean, 10_000);
    });
  });

  it("6. Tasks: Run Task → dockerception → a pair runs the CLI in the terminal; a failing pair's error is in Problems on its line", async () => {
    // The terminal's rows in view, as the DOM renderer draws them (terminal.integrated.gpuAcceleration off).
    const output = () => page.locator('.xterm-rows:visible').last();
    const terminalText = async () =>
      read(
        (await output()
          .innerText()
          .catch(() => '')) ?? '',
      );
    async function runTask(group: string | undefined, name: string): Promise<void> {
      await runCommand('Tasks: Run Task');
      if (group) {
        await page.locator('.quick-input-widget input').fill(group);
        await page.waitForTimeout(500);
        await rows().filter({ hasText: group }).first().click();
      }
      const row = rows().filter({ hasText: name }).first();
      await row.waitFor({ timeout: 30_000 });
      await row.click();
    }
    // The end of the CLI's output (the terminal renders the rows in view): its summary table, no problem lines.
    const summary = /image dc-choose\w+-ok-builder:latest dc-choose\w+-ok size [\d.]+ MB [\d.]+ [kM]?B/;
    await attempt('task-ok', async () => {
      await runTask('dockerception', 'build ok');
      const text = await waitFor('the terminal shows the CLI', terminalText, (t) => summary.test(t), 120_000);
      assert.doesNotMatch(text, /: (error|warning) [A-Z_]+:/);
    });
    await attempt('task-bad-problems', async () => {
      await runTask('dockerception', 'build bad');
      const text = await waitFor('the terminal shows the failure', terminalText, (t) => /BUILDER_BUILD_FAILED/.test(t), 120_000);
      assert.match(text, /bad\/Dockerfile:2: error BUILDER_BUILD_FAILED: The builder image failed to build at step 2\/3/);
      const list = await waitFor('the Problems panel has the failure', problems, (r) => r.some((t) => /\[Ln 2, Col 1\]$/.test(t)), 30_000);
      console.log(`Problems after the failing task:\n  ${list.join('\n  ')}`);
      // (The walkthrough's example pair has its own finding above: only the task's failure is counted here.)
      const problem = list.filter((t) => /BUILDER_BUILD_FAILED/.test(t));
      assert.equal(problem.length, 1, list.join('\n'));
      assert.match(
        problem[0],
        /^The builder image failed to build at step 2\/3 \(RUN echo compiling && exit 3\).*dockerception ?\(?BUILDER_BUILD_FAILED\)? \[Ln 2, Col 1\]$/,
      );
      // The extension's own finding from the walkthrough's build is still there: the task's matcher has an owner of its own.
      assert.ok(
        list.some((t) => /MISSING_ENTRYPOINT/.test(t)),
        `the task left the extension's problems alone:\n${list.join('\n')}`,
      );
      // The file row above it names bad/Dockerfile.
      assert.ok(
        list.some((t) => /^Dockerfile ?bad 1$/.test(t)),
        list.join('\n'),
      );
    });
    await attempt('task-from-tasks-json', async () => {
      writeFiles(workspace, {
        '.vscode/tasks.json': JSON.stringify({
          version: '2.0.0',
          tasks: [{ label: 'dc: ok from tasks.json', type: 'dockerception', pair: 'ok', force: true, problemMatcher: ['$dockerception'] }],
        }),
      });
      await page.waitForTimeout(1500);
      // No terminal left from the tasks before: what shows next is this task's.
      await runCommand('Terminal: Kill All Terminals');
      await runTask(undefined, 'dc: ok from tasks.json');
      const text = await waitFor('the terminal shows the CLI', terminalText, (t) => summary.test(t), 120_000);
      assert.doesNotMatch(text, /: (error|warning) [A-Z_]+:/);
    });
  });
});
