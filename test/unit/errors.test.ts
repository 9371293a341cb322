// Which failures are the engine's connection and which are local (pure: no engine).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { exitCodeFor, isConnectionError } from '../../src/core/errors';

const errorOf = async (action: () => Promise<unknown>): Promise<unknown> =>
  action().then(
    () => assert.fail('expected a failure'),
    (error: unknown) => error,
  );

describe('connection errors', () => {
  it('a socket that is not there is a connection error; a missing local file is not', async () => {
    const socket = await errorOf(
      () =>
        new Promise((resolve, reject) => {
          const client = net.connect('/nonexistent/dockerception.sock', () => resolve(client));
          client.on('error', reject);
        }),
    );
    assert.equal((socket as { code?: string }).code, 'ENOENT');
    assert.equal(isConnectionError(socket), true);
    const file = await errorOf(() => fs.readFile('/nonexistent/Dockerfile.run'));
    assert.equal((file as { code?: string }).code, 'ENOENT');
    assert.equal(isConnectionError(file), false);
    assert.equal(isConnectionError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), true);
    assert.equal(isConnectionError(new Error('No command specified')), false);
  });

  it('maps codes to the exit codes the README lists', () => {
    assert.deepEqual((['NO_PAIR', 'ENGINE_UNREACHABLE', 'CANCELLED', 'BUILDER_START', 'BUILDER_EXIT'] as const).map(exitCodeFor), [2, 3, 130, 1, 1]);
  });
});
