// The steps every code-server UI test takes: a numbered screenshot after each step (and of a failed one), and
// a command run from the palette as a person runs it (F1, type, click the entry).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';

export interface UiSteps {
  /** A screenshot of the page, numbered in the order taken: SHOTS/NN-name.png. */
  shot(name: string): Promise<string>;
  /** Runs a step; then a screenshot, or on failure a screenshot named …-FAILED and the error again. */
  attempt(name: string, body: () => Promise<void>): Promise<void>;
  /** Opens the command palette with TEXT typed (after '>'). */
  palette(text: string): Promise<void>;
  /** Runs a command by its title from the palette. */
  runCommand(title: string): Promise<void>;
  /** Opens a workspace file by its relative path through Go to File, once its breadcrumbs show it. */
  openFile(relative: string): Promise<void>;
  /** Asks `get` every 250 ms until `ok` holds for its value (then that value); fails after `ms` saying what it still was. */
  waitFor<T>(what: string, get: () => Promise<T>, ok: (value: T) => boolean, ms?: number): Promise<T>;
}

/** The steps on the page `page()` returns (set in the suite's before()), screenshots into `shots`. */
export function uiSteps(page: () => Page, shots: string): UiSteps {
  let step = 0;
  const steps: UiSteps = {
    async shot(name) {
      const file = path.join(shots, `${String(++step).padStart(2, '0')}-${name}.png`);
      await page().screenshot({ path: file });
      return file;
    },
    async attempt(name, body) {
      try {
        await body();
        await steps.shot(name);
      } catch (error) {
        console.error(`\nStep '${name}' failed. Screenshot: ${await steps.shot(`${name}-FAILED`).catch(() => '(none)')}`);
        throw error;
      }
    },
    async palette(text) {
      await page().keyboard.press('Escape');
      await page().keyboard.press('F1');
      const input = page().locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(`>${text}`);
    },
    async runCommand(title) {
      await steps.palette(title);
      await page().locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
    },
    async openFile(relative) {
      await steps.runCommand('Go to File...');
      await page().keyboard.type(relative);
      const row = page()
        .locator('.quick-input-list .monaco-list-row')
        .filter({ hasText: path.basename(relative) })
        .filter({ hasText: path.dirname(relative) });
      await row.first().click();
      await page()
        .locator('.breadcrumbs-control', { hasText: path.dirname(relative) })
        .filter({ hasText: path.basename(relative) })
        .first()
        .waitFor();
    },
    async waitFor(what, get, ok, ms = 30_000) {
      const end = Date.now() + ms;
      let value = await get();
      while (!ok(value)) {
        if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
        await page().waitForTimeout(250);
        value = await get();
      }
      return value;
    },
  };
  return steps;
}
