import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandVariables, imageReferences, platformArgs, registryOf } from '../../src/core/dockerfile-refs';

const refs = (text: string, args: Record<string, string> = {}) => imageReferences(text, args).map((r) => `${r.kind} ${r.ref} @${r.line}`);

test('FROM, COPY --from, RUN --mount=from and # syntax= are images; stages and scratch are not', () => {
  const text = [
    '# syntax=docker/dockerfile:1.4',
    'FROM golang:1.19 AS build',
    'RUN --mount=type=bind,from=dc-tools:1,source=/bin,target=/t true',
    'COPY --from=dc-assets:2 /a /a',
    'FROM scratch',
    'COPY --from=build /out /out',
    'COPY --from=0 /out /out2',
    'FROM build AS again',
  ].join('\n');
  assert.deepEqual(refs(text), ['syntax docker/dockerfile:1.4 @0', 'from golang:1.19 @1', 'mount-from dc-tools:1 @2', 'copy-from dc-assets:2 @3']);
});

test('ARGs before the first FROM resolve FROM lines; build args override only declared ARGs', () => {
  const text = 'ARG BASE=busybox\nARG TAG=1.36\nFROM ${BASE}:$TAG\nFROM ${OTHER:-alpine}:3\n';
  assert.deepEqual(refs(text), ['from busybox:1.36 @2', 'from alpine:3 @3']);
  assert.deepEqual(refs(text, { TAG: '1.37', OTHER: 'debian' }), ['from busybox:1.37 @2', 'from alpine:3 @3']);
});

test('--from and from= are taken as written: neither builder expands variables there', () => {
  const text = 'ARG IMG=dc-a:1\nFROM scratch\nARG IMG\nCOPY --from=$IMG /x /x\nRUN --mount=type=bind,from=dc-b:2,target=/t true\n';
  assert.deepEqual(refs(text), ['copy-from $IMG @3', 'mount-from dc-b:2 @4']);
});

test("BuildKit's automatic platform ARGs are in scope for FROM without a declaration", () => {
  assert.deepEqual(
    imageReferences('FROM dc-base-${TARGETARCH}\n', {}, platformArgs('linux', 'amd64')).map((r) => r.ref),
    ['dc-base-amd64'],
  );
});

test('variable forms', () => {
  const vars = new Map([
    ['A', 'x'],
    ['E', ''],
  ]);
  assert.equal(expandVariables('$A ${A} ${B:-d} ${A:-d} ${A:+p} ${B:+p} ${E:-e} \\$A', vars), 'x x d x p  e $A');
  assert.equal(expandVariables(`"$A"-'$A'-\${B:-\${A}}`, vars), `x-$A-x`);
});

test('registry of a reference, as the docker CLI normalises names', () => {
  assert.equal(registryOf('busybox'), 'docker.io');
  assert.equal(registryOf('team/app:1'), 'docker.io');
  assert.equal(registryOf('localhost/app'), 'localhost');
  assert.equal(registryOf('127.0.0.1:5000/team/app:1.4'), '127.0.0.1:5000');
  assert.equal(registryOf('ghcr.io/o/r@sha256:00'), 'ghcr.io');
});
