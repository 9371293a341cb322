import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const HEADER = 8;
const STDOUT = 1;
const STDERR = 2;

/**
 * Splits the engine's multiplexed attach stream (Tty: false): each frame is an 8-byte header —
 * byte 0 the stream (1 stdout, 2 stderr), bytes 4–7 the big-endian payload length — then the payload.
 * Stdout payloads are pushed on, so they flow with the consumer's backpressure (dockerode's
 * modem.demuxStream writes into its targets regardless and never ends them); stderr payloads go to
 * onStderr, which only sees a builder's logs.
 */
export class AttachDemux extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private frameType = 0;
  private frameLeft = 0;

  constructor(private readonly onStderr: (chunk: Buffer) => void) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.frameLeft === 0) {
        if (data.length < HEADER) {
          this.pending = data;
          break;
        }
        this.frameType = data[0];
        this.frameLeft = data.readUInt32BE(4);
        data = data.subarray(HEADER);
        continue;
      }
      const payload = data.subarray(0, this.frameLeft);
      this.frameLeft -= payload.length;
      data = data.subarray(payload.length);
      if (this.frameType === STDOUT) this.push(payload);
      else if (this.frameType === STDERR) this.onStderr(payload);
      // 0 (stdin echo) and 3 (system error) carry nothing we pass on.
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending.length > 0 || this.frameLeft > 0) {
      // The engine ends frames whole; a torn one means the connection broke mid-frame.
      callback(new Error('The connection to the engine broke in the middle of the builder output.'));
      return;
    }
    callback();
  }
}

/** A line longer than this is passed on in pieces, so a flood without newlines cannot grow memory. */
const MAX_TEXT_LINE = 16 * 1024;

/** Splits text chunks into lines, keeping a partial last line until the next chunk. */
export class LineSplitter {
  private partial = '';
  /** Keeps a UTF-8 character split across chunks whole. */
  private readonly decoder = new StringDecoder('utf8');
  /** maxLine: the engine's JSON events need a larger bound than text (a BuildKit trace event carries
   * batched output, base64-encoded): a split event could not be parsed. */
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = MAX_TEXT_LINE,
  ) {}
  write(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
    while (this.partial.length > this.maxLine) {
      this.onLine(this.partial.slice(0, this.maxLine));
      this.partial = this.partial.slice(this.maxLine);
    }
  }
  end(): void {
    this.partial += this.decoder.end();
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }
}
