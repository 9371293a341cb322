// The extension's entry (dist/extension.js, a few hundred bytes). VS Code counts the require of this file and
// the synchronous part of activate() as the extension's activation time ("Developer: Show Running
// Extensions"); so activate() only schedules the rest. dist/extension-main.js (src/extension/main.ts: the
// Pairs view, the status bar, the commands, Problems, tasks, CodeLens) is required once activate() has
// returned, and dist/extension-core.js (builds, the doctor, the report, the BuildKit session) on first use.
// activate() still returns a promise of the set-up: VS Code waits for it before it runs a command or fills
// the view that activated the extension, so nothing the user does arrives before the commands exist.
import type * as vscode from 'vscode';
import type { DockerceptionApi } from './extension/main';

export type { DockerceptionApi } from './extension/main';

type Main = typeof import('./extension/main');

let main: Main | undefined;

export function activate(context: vscode.ExtensionContext): Promise<DockerceptionApi | undefined> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        // Resolved at run time, next to this file: the bundle built from src/extension/main.ts.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        main = require('./extension-main.js') as Main;
        resolve(main.start(context));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/**
 * On a window reload or close: cancel running builds and wait until their builder containers are
 * removed, within VS Code's few seconds for deactivation. The rest is disposed through subscriptions.
 */
export async function deactivate(): Promise<void> {
  await main?.stop();
}
