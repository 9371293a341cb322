// The tests' registry helper when its port is taken between freePort() and the registry's bind (seen in CI:
// "listen tcp 127.0.0.1:33145: bind: address already in use"): it starts again on another free port.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../support/endpoints/process';
import { PrivateRegistry } from '../support/registry';

describe('the tests’ registry helper', () => {
  it('moves to another free port when the one it was given is taken, and answers there', async () => {
    const taken = await freePort();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    const registry = new PrivateRegistry(taken, 'unused', 'unused', { auth: false });
    try {
      await registry.start();
      assert.notEqual(registry.port, taken);
      const answer = await fetch(`${registry.url}/v2/`);
      assert.equal(answer.status, 200, 'the registry answers on its new port');
    } finally {
      await registry.remove();
      squatter.close();
    }
  });
});
