// Issue 26's last part, as a person meets it in code-server + Chromium on the real engine (one code-server
// start, the packaged .vsix installed): a `dockerception` task as the `preLaunchTask` of a `node` launch
// configuration (js-debug is built into code-server 4.100.3). Started from the Run and Debug view's start
// button and from "Debug: Select and Start Debugging", the task's terminal shows the build, the runtime image
// is tagged, and only then the program runs: it asks the engine for the image itself and writes what it saw
// into a marker file and the Debug Console. Referenced by a tasks.json label and by the provider's own
// label ("dockerception: build ok (force)"). A failing build (the builder exits 4) and a folder that holds no
// pair stop the launch at VS Code's dialog, the program never runs, and the builder's failure is in the
// Problems panel through the $dockerception matcher. Screenshots under test-artifacts/prelaunch-ui/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, launchChromium, startCodeServer, writeFiles, type CodeServer } from '../support/code-server';
import { docker, imageId } from '../support/docker-cli';
import { uiSteps } from '../support/ui-steps';

const SHOTS = path.join(ARTIFACTS, 'prelaunch-ui');
/** The packaged extension (npm test packages it; DC_VSIX names another one). */
const VSIX = process.env.DC_VSIX ?? path.join(ROOT, 'dockerception.vsix');
const RUN = Math.random().toString(36).slice(2, 6);
const PREFIX = `dc-e2e-prelaunch-${RUN}`;
const TAGS = ['ok', 'bad'].flatMap((name) => [`${PREFIX}-${name}`, `${PREFIX}-${name}-builder`]);
const OK = `${PREFIX}-ok`;

// The program the launch configurations run: it asks the engine for the runtime image as it starts, so
// what it writes says whether the preLaunchTask had tagged the image before the program ran.
const APP = `const { execFileSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const [tag, marker] = process.argv.slice(2);
let image = null;
try {
  image = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {}
mkdirSync(path.dirname(marker), { recursive: true });
writeFileSync(marker, JSON.stringify({ tag, image, at: Date.now() }));
console.log('app ran (' + path.basename(marker, '.json') + '): ' + tag + ' is ' + (image ? image.slice(7, 19) : 'not there'));
`;

/** A launch configuration of js-debug's `node` type running app.js after TASK; its marker file is markers/MARKER.json. */
const launch = (name: string, preLaunchTask: string, marker: string) => ({
  name,
  type: 'node',
  request: 'launch',
  program: '${workspaceFolder}/app.js',
  args: [OK, `\${workspaceFolder}/markers/${marker}.json`],
  preLaunchTask,
});

const FILES: Record<string, string> = {
  'ok/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /out && echo "hello from ok" > /out/hello.txt\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  'ok/Dockerfile.run': 'FROM busybox:1.36\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n',
  // The builder image builds; its container (line 3's CMD) exits 4: the CLI's BUILDER_EXIT, placed on line 3.
  'bad/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /out && echo "hello from bad" > /out/hello.txt\nCMD ["sh", "-c", "echo compiling bad >&2; exit 4"]\n',
  'bad/Dockerfile.run': 'FROM scratch\nCOPY hello.txt /hello.txt\n',
  // A folder without a pair: the CLI's NO_PAIR, exit code 2, and no problem line.
  'docs/README.md': 'Not a pair.\n',
  'app.js': APP,
  '.vscode/settings.json': JSON.stringify({
    'dockerception.runtimeTag': `${PREFIX}-\${name}`,
    'dockerception.revealOutput': 'never',
  }),
  // The README's form: type and pair, nothing else (the problem matcher is the provider's).
  '.vscode/tasks.json': JSON.stringify(
    {
      version: '2.0.0',
      tasks: [
        { label: 'dc: build ok', type: 'dockerception', pair: 'ok' },
        { label: 'dc: build bad', type: 'dockerception', pair: 'bad' },
        { label: 'dc: build docs', type: 'dockerception', pair: 'docs' },
      ],
    },
    null,
    2,
  ),
  '.vscode/launch.json': JSON.stringify(
    {
      version: '0.2.0',
      configurations: [
        // The first one is the Run and Debug view's selection when it opens.
        launch('app after tasks.json task', 'dc: build ok', 'tasks-json'),
        launch('app after detected task', 'dockerception: build ok (force)', 'detected'),
        launch('app after no pair', 'dc: build docs', 'no-pair'),
        launch('app after failing build', 'dc: build bad', 'bad'),
      ],
    },
    null,
    2,
  ),
};

describe('a dockerception task as a preLaunchTask in the real UI', { timeout: 5 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let home: string;
  let workspace: string;
  const { attempt, runCommand, waitFor } = uiSteps(() => page, SHOTS);
  const read = (text: string) => text.replace(/[\s\u00a0]+/g, ' ').trim();
  const marker = (name: string) => path.join(workspace, 'markers', `${name}.json`);
  const rows = () => page.locator('.quick-input-widget .quick-input-list .monaco-list-row');

  /** The task's terminal, in front: its rows in view, as the DOM renderer draws them (gpuAcceleration off). */
  async function terminalText(): Promise<string> {
    await runCommand('Terminal: Focus Terminal');
    const rowsInView = page.locator('.xterm-rows:visible').last();
    await rowsInView.waitFor({ timeout: 15_000 });
    await page.waitForTimeout(300);
    return read(await rowsInView.innerText());
  }
  /** What the Debug Console shows. */
  async function debugConsoleText(): Promise<string> {
    await runCommand('Focus on Debug Console View');
    const repl = page.locator('.repl .monaco-list-rows').first();
    await repl.waitFor({ timeout: 15_000 });
    return read(await repl.innerText());
  }
  /** The Problems panel's rows (message, source(code), [Ln, Col]) as a person reads them. */
  async function problems(): Promise<string[]> {
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = page.locator('.markers-panel');
    await panel.waitFor();
    await page.waitForTimeout(500);
    return (await panel.locator('.monaco-list-row').allInnerTexts()).map(read);
  }
  /** "Debug: Select and Start Debugging", then the configuration NAME. */
  async function selectAndStart(name: string): Promise<void> {
    await runCommand('Debug: Select and Start Debugging');
    const row = rows().filter({ hasText: name }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
  }
  /** The session started by a launch has ended: the floating debug toolbar is gone. */
  async function sessionEnded(): Promise<void> {
    await waitFor(
      'the debug session ends',
      () => page.locator('.debug-toolbar:visible').count(),
      (n) => n === 0,
      30_000,
    );
  }
  /** The launch's marker, once the program wrote it. */
  async function ran(name: string): Promise<{ tag: string; image: string | null; at: number }> {
    await waitFor(`the program writes markers/${name}.json`, async () => existsSync(marker(name)), Boolean, 120_000);
    return JSON.parse(readFileSync(marker(name), 'utf8'));
  }
  /** VS Code's modal dialog about the preLaunchTask: its message and buttons. */
  async function preLaunchDialog(): Promise<{ message: string; buttons: string[] }> {
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 120_000 });
    // (In the browser the message is drawn as the dialog's detail line.)
    const message = read(await dialog.locator('.dialog-message-container').first().locator('.dialog-message-text, .dialog-message-detail').first().innerText());
    const buttons = (await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts()).map(read).sort();
    return { message, buttons };
  }
  async function abortDialog(): Promise<void> {
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Abort$/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
  }
  // The end of the CLI's output (the terminal renders the rows in view): its summary table.
  const summary = new RegExp(`image ${OK}-builder:latest ${OK} size [\\d.]+ MB [\\d.]+ [kM]?B`);

  before(async () => {
    assert.ok(existsSync(VSIX), `${VSIX} is built by 'npm run package' before this test`);
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    home = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-prelaunch-'));
    workspace = path.join(home, 'workspace');
    writeFiles(workspace, FILES);
    server = await startCodeServer({
      name: 'prelaunch-ui',
      trusted: true,
      // The build records of this test's builds stay with it (what makes a rebuild "up to date").
      env: { DOCKERCEPTION_STATE_DIR: path.join(home, 'state') },
      settings: { 'window.zoomLevel': 0, 'terminal.integrated.gpuAcceleration': 'off', 'files.autoSave': 'off' },
    });
    await server.install(VSIX);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    await page.goto(server.url(workspace), { timeout: 90_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    // Containers this test made: those of its builder images (other engineers' runs share the engine).
    const containers = TAGS.filter((t) => t.endsWith('-builder') && imageId(t)).flatMap((t) =>
      docker('ps', '-aq', '--filter', `ancestor=${t}`).trim().split('\n').filter(Boolean),
    );
    for (const id of containers) docker('rm', '-f', id);
    for (const tag of TAGS) if (imageId(tag)) docker('rmi', tag);
    // Processes this test started (the CLI of a task, the program under js-debug) name the workspace.
    let left: string[] = [];
    for (let i = 0; i < 20; i++) {
      left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => workspace && line.includes(workspace));
      if (left.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (home) rmSync(home, { recursive: true, force: true });
    assert.deepEqual(containers, [], 'no builder container left');
    assert.deepEqual(left, [], 'no process of this test left');
  });

  it("1. a tasks.json label as preLaunchTask, started from the Run and Debug view: the build's terminal, the image tagged, then the program", async () => {
    assert.equal(imageId(OK), undefined, 'the runtime image is not there before the launch');
    await attempt('tasks-json-label-ran', async () => {
      await runCommand('View: Show Run and Debug');
      const start = page.locator('#workbench\\.parts\\.sidebar .start-debug-action-item');
      await start.waitFor({ timeout: 15_000 });
      // The view's selection is launch.json's first configuration: its start button launches it.
      const selected = () => start.locator('select').evaluate((select: any): string => select.options[select.selectedIndex]?.text ?? '');
      await waitFor('the view selects the first configuration', selected, (t) => t === 'app after tasks.json task');
      await start.locator('.codicon-debug-start').click();
      const app = await ran('tasks-json');
      const image = imageId(OK);
      assert.ok(image, `${OK} is tagged`);
      assert.equal(app.image, image, 'the program saw the runtime image the task tagged: the task had finished before it started');
      await sessionEnded();
      const text = await waitFor('the Debug Console has the program output', debugConsoleText, (t) => /app ran \(tasks-json\)/.test(t));
      assert.match(text, new RegExp(`app ran \\(tasks-json\\): ${OK} is ${image.slice(7, 19)}`));
    });
    await attempt('tasks-json-label-terminal', async () => {
      const text = await waitFor('the terminal shows the build', terminalText, (t) => summary.test(t), 30_000);
      console.log(`terminal after 'dc: build ok':\n  ${text}`);
      assert.doesNotMatch(text, /: (error|warning) [A-Z_]+:/);
      assert.match(text, /Terminal will be reused by tasks/, 'the task ended');
    });
  });

  it("2. the provider's own label as preLaunchTask ('dockerception: build ok (force)'), from the palette", async () => {
    // The runtime tag removed (the builder kept): only the forced build tags it again.
    docker('rmi', OK);
    await attempt('detected-label-ran', async () => {
      await selectAndStart('app after detected task');
      const app = await ran('detected');
      const image = imageId(OK);
      assert.ok(image, `${OK} is tagged again`);
      assert.equal(app.image, image, 'the program saw the image the forced build tagged');
      await sessionEnded();
      // (Each session has its own Debug Console: it shows this one's.)
      const text = await waitFor('the Debug Console has the program output', debugConsoleText, (t) => /app ran \(detected\)/.test(t));
      assert.match(text, new RegExp(`app ran \\(detected\\): ${OK} is ${image.slice(7, 19)}`));
    });
    await attempt('detected-label-terminal', async () => {
      const text = await waitFor('the terminal shows the forced build', terminalText, (t) => summary.test(t), 30_000);
      console.log(`terminal after 'dockerception: build ok (force)':\n  ${text}`);
      assert.doesNotMatch(text, /up to date/, 'forced: built, not skipped');
    });
  });

  it('3. a folder without a pair: VS Code reports the exit code (2) and does not launch', async () => {
    await attempt('no-pair-dialog', async () => {
      await selectAndStart('app after no pair');
      const { message, buttons } = await preLaunchDialog();
      console.log(`dialog: ${message} [${buttons.join(' | ')}]`);
      assert.equal(message, "The preLaunchTask 'dc: build docs' terminated with exit code 2.");
      assert.deepEqual(buttons, ['Abort', 'Debug Anyway', 'Show Errors']);
    });
    await attempt('no-pair-aborted', async () => {
      await abortDialog();
      await page.waitForTimeout(1000);
      assert.equal(await page.locator('.debug-toolbar:visible').count(), 0, 'no debug session started');
      assert.equal(existsSync(marker('no-pair')), false, 'the program did not run');
      const text = await terminalText();
      assert.match(text, /NO_PAIR: No Dockerception pair in \S+docs/);
    });
  });

  it("4. a failing build: VS Code's dialog, Abort, the program never runs, the failure is in the Problems panel", async () => {
    await attempt('failing-build-dialog', async () => {
      await selectAndStart('app after failing build');
      const { message, buttons } = await preLaunchDialog();
      console.log(`dialog: ${message} [${buttons.join(' | ')}]`);
      // VS Code 1.100 counts the error markers as the task ends, and names the exit code when there are none:
      // the matcher's marker for the task's last file is delivered 100 ms after the exit (terminalTaskSystem's
      // workaround for microsoft/vscode#92868), so the dialog names the exit code and Problems shows the failure.
      assert.equal(message, "The preLaunchTask 'dc: build bad' terminated with exit code 1.");
      assert.deepEqual(buttons, ['Abort', 'Debug Anyway', 'Show Errors']);
    });
    await attempt('failing-build-aborted', async () => {
      await abortDialog();
      await page.waitForTimeout(1000);
      assert.equal(await page.locator('.debug-toolbar:visible').count(), 0, 'no debug session started');
      assert.equal(existsSync(marker('bad')), false, 'the program did not run');
      assert.equal(imageId(`${PREFIX}-bad`), undefined, 'nothing tagged for the failing pair');
      const text = await terminalText();
      assert.match(text, /bad\/Dockerfile:3: error BUILDER_EXIT: The builder container exited with code 4/);
    });
    await attempt('failing-build-problems', async () => {
      const list = await waitFor('the Problems panel has the failure', problems, (r) => r.some((t) => /BUILDER_EXIT/.test(t)), 30_000);
      console.log(`Problems:\n  ${list.join('\n  ')}`);
      const problem = list.filter((t) => /BUILDER_EXIT/.test(t));
      assert.equal(problem.length, 1, list.join('\n'));
      assert.match(problem[0], /^The builder container exited with code 4.*dockerception ?\(?BUILDER_EXIT\)? \[Ln 3, Col 1\]$/);
      assert.ok(
        list.some((t) => /^Dockerfile ?bad 1$/.test(t)),
        list.join('\n'),
      );
    });
  });
});
