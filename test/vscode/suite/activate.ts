// Activates the extension under development and returns the API it hands out under test.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';

export const EXTENSION_ID = 'dockerception.dockerception';

export async function activateForTest(): Promise<DockerceptionApi> {
  const extension = vscode.extensions.getExtension<DockerceptionApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed`);
  const api = await extension.activate();
  assert.ok(api, 'under test (ExtensionMode.Test) the extension hands out its test API');
  return api;
}
