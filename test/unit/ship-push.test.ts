import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isLocalName,
  isLoopbackRegistry,
  isShipError,
  parseChallenge,
  parseRegistryRef,
  pushableRefs,
  pushEventOf,
  pushFailure,
  refsToPush,
} from '../../src/core/ship';

describe('ship: references, challenges, push events and failures', () => {
  it('cuts a reference into registry, repository and tag/digest (Docker Hub names get library/)', () => {
    assert.deepEqual(parseRegistryRef('registry.example:5000/team/app:1.4'), {
      registry: 'registry.example:5000',
      apiHost: 'registry.example:5000',
      repository: 'team/app',
      reference: '1.4',
    });
    assert.deepEqual(parseRegistryRef('127.0.0.1:5000/app'), { registry: '127.0.0.1:5000', apiHost: '127.0.0.1:5000', repository: 'app', reference: 'latest' });
    assert.deepEqual(parseRegistryRef('busybox:1.36'), {
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/busybox',
      reference: '1.36',
    });
    assert.equal(parseRegistryRef(`localhost:5000/a/b@sha256:${'0'.repeat(64)}`).reference, `sha256:${'0'.repeat(64)}`);
  });

  it('reads WWW-Authenticate challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    assert.equal(parseChallenge('Basic realm="dockerception-tests"').scheme, 'basic');
  });

  it('loopback registries are the ones the engine allows without TLS by default', () => {
    assert.equal(isLoopbackRegistry('127.0.0.1:5000'), true);
    assert.equal(isLoopbackRegistry('127.1.2.3:5000'), true);
    assert.equal(isLoopbackRegistry('localhost:5000'), true);
    assert.equal(isLoopbackRegistry('192.0.2.2:5000'), false);
    assert.equal(isLoopbackRegistry('registry.example'), false);
  });

  it('turns the engine push messages into per-layer events', () => {
    assert.equal(pushEventOf({ status: 'Preparing', id: 'c8dd03e11844' })?.kind, 'preparing');
    assert.deepEqual(pushEventOf({ status: 'Pushing', id: 'c8dd03e11844', progressDetail: { current: 512, total: 2048 }, progress: '[==>  ] 512B/2kB' }), {
      kind: 'pushing',
      layer: 'c8dd03e11844',
      current: 512,
      total: 2048,
      message: 'c8dd03e11844: pushing [==>  ] 512B/2kB',
    });
    assert.deepEqual(pushEventOf({ status: 'Layer already exists', id: 'c8dd03e11844' }), {
      kind: 'exists',
      layer: 'c8dd03e11844',
      message: 'c8dd03e11844: layer already exists in the registry, not sent',
    });
    assert.equal(pushEventOf({ status: 'Mounted from team/other', id: 'ab' })?.kind, 'mounted');
    assert.equal(pushEventOf({ status: 'The push refers to repository [127.0.0.1:5000/app]' })?.kind, 'info');
    assert.equal(pushEventOf({ aux: { Digest: 'sha256:x' } }), undefined);
  });

  it('failures name the registry, quote its answer and say what to do', () => {
    const ref = 'registry.example:5000/team/app:1';
    const tls = pushFailure(ref, 'Get "https://registry.example:5000/v2/": x509: certificate signed by unknown authority', false);
    assert.equal(tls.code, 'PUSH_TLS');
    assert.match(tls.message, /registry\.example:5000 answered .*x509.*\/etc\/docker\/certs\.d\/registry\.example:5000\/ca\.crt/);
    const plain = pushFailure(ref, 'Get "https://registry.example:5000/v2/": http: server gave HTTP response to HTTPS client', false);
    assert.match(plain.message, /"insecure-registries"/);
    assert.match(
      pushFailure(ref, 'unauthorized: authentication required', true, '/home/u/.docker/config.json').message,
      /in \/home\/u\/\.docker\/config\.json: log in again with 'docker login registry\.example:5000'/,
    );
    assert.match(
      pushFailure(ref, 'unauthorized: authentication required', false).message,
      /There are no credentials for it: run 'docker login registry\.example:5000'/,
    );
    assert.equal(pushFailure(ref, 'denied: requested access to the resource is denied', true).code, 'PUSH_REFUSED');
    assert.equal(pushFailure(ref, 'name invalid: invalid repository name', true).code, 'PUSH_REFUSED');
    assert.equal(
      pushFailure(ref, 'Get "https://registry.example:5000/v2/": dial tcp 10.0.0.1:5000: connect: connection refused', false).code,
      'REGISTRY_UNREACHABLE',
    );
    assert.equal(pushFailure(ref, 'something else', false).code, 'PUSH_FAILED');
  });

  it("a plain name is Docker Hub's library/ (nobody pushes there); a user's repository or a registry is not", () => {
    for (const ref of ['app', 'app:1', 'docker.io/app:1']) assert.equal(isLocalName(ref), true, ref);
    for (const ref of ['team/app:1', 'docker.io/team/app', '127.0.0.1:5000/app:1', 'localhost/app', 'r.example/app'])
      assert.equal(isLocalName(ref), false, ref);
    // The same split as the registry API's: library/ for the first kind.
    assert.equal(parseRegistryRef('app:1').repository, 'library/app');
    assert.equal(parseRegistryRef('team/app:1').repository, 'team/app');
  });

  it('a list of tags: the plain names stay on the engine, the others are pushed; none to push is refused, saying what tag to give', () => {
    assert.deepEqual(pushableRefs(['app:1', 'r.example/team/app:1', 'me/app:1'], 'app'), { push: ['r.example/team/app:1', 'me/app:1'], local: ['app:1'] });
    assert.throws(
      () => pushableRefs(['app', 'docker.io/app:1'], 'svc-a-api'),
      (error: unknown) =>
        isShipError(error) &&
        error.code === 'NO_REGISTRY' &&
        error.message.startsWith('svc-a-api: the tag app, docker.io/app:1 names no registry') &&
        error.message.includes('--tag registry.example:5000/team/${name}:1'),
    );
  });

  it('never pushes the builder image unless asked', () => {
    assert.deepEqual(refsToPush(['r.example/app:1', 'r.example/app:1']), ['r.example/app:1']);
    assert.deepEqual(refsToPush(['r.example/app:1'], { pushBuilder: true }), ['r.example/app:1', 'r.example/app-builder:1']);
  });
});
