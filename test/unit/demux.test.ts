// The attach stream's framing is pure logic: tested here with frames built by hand, split at
// many byte positions. (That the engine's real stream goes through it intact is what the pipeline tests show.)
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { AttachDemux, LineSplitter } from '../../src/core/demux';

function frame(stream: 1 | 2, payload: string | Buffer): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Feeds the chunks through a demux; returns the stdout pushes and the stderr bytes. */
async function demux(chunks: Buffer[]): Promise<{ pushes: Buffer[]; stderr: string }> {
  const pushes: Buffer[] = [];
  let stderr = '';
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    new AttachDemux((chunk) => (stderr += chunk.toString())),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        pushes.push(chunk);
        callback();
      },
    }),
  );
  return { pushes, stderr };
}

describe('AttachDemux', () => {
  const stream = Buffer.concat([
    frame(1, 'tar-part-1|'),
    frame(2, 'log line 1\n'),
    frame(1, Buffer.alloc(3000, 7)),
    frame(2, 'log line 2\n'),
    frame(1, '|tar-part-3'),
  ]);
  const expectedStdout = Buffer.concat([Buffer.from('tar-part-1|'), Buffer.alloc(3000, 7), Buffer.from('|tar-part-3')]);

  it('keeps stdout and stderr apart, wherever the socket splits the frames', async () => {
    for (let cut = 1; cut < stream.length; cut += 7) {
      const { pushes, stderr } = await demux([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(Buffer.concat(pushes), expectedStdout, `split at byte ${cut}`);
      assert.equal(stderr, 'log line 1\nlog line 2\n', `split at byte ${cut}`);
    }
  });

  it('fails when the stream ends in the middle of a frame', async () => {
    await assert.rejects(demux([stream.subarray(0, stream.length - 3)]), /broke in the middle of the builder output/);
    await assert.rejects(demux([stream, frame(1, 'x').subarray(0, 5)]), /broke in the middle/);
  });
});

describe('LineSplitter', () => {
  it('splits LF and CRLF lines across chunks and keeps the last partial line until end()', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.write('one\r\ntw');
    splitter.write('o\nthr');
    assert.deepEqual(lines, ['one', 'two']);
    splitter.end();
    assert.deepEqual(lines, ['one', 'two', 'thr']);
  });

  it('keeps a UTF-8 character split across chunks whole', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const text = Buffer.from('grün → ok\n');
    for (let i = 0; i < text.length; i++) splitter.write(text.subarray(i, i + 1));
    assert.deepEqual(lines, ['grün → ok']);
  });

  it('passes a line without newlines on in 16 KiB pieces, so a flood cannot grow memory', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.write('x'.repeat(40 * 1024));
    assert.deepEqual(
      lines.map((l) => l.length),
      [16 * 1024, 16 * 1024],
    );
    splitter.end();
    assert.equal(lines[2].length, 8 * 1024);
  });
});
