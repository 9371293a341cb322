// What a runtime image holds and does, for the skip oracle: every file of its filesystem (from one export of
// a never-started container) and the config fields `docker run` acts on. Ids, tags, Created and mtimes are
// left out: two builds of the same thing differ there and nowhere a user could notice.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';

export interface FileFacts {
  type: string;
  size: number;
  mode: string;
  uid: number;
  gid: number;
  linkname?: string;
  sha256?: string;
  /** Small text files' content as well, so a failure shows what changed ("plain\n" → "spicy\n"). */
  text?: string;
}

export interface ImageSnapshot {
  /** Keyed by the path inside the image, "/etc/motd". */
  files: Map<string, FileFacts>;
  /** Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Labels, Volumes, StopSignal, Healthcheck, Os, Architecture. */
  config: Record<string, unknown>;
}

/** Files up to this many bytes also keep their text. */
const SMALL = 256;

const CONFIG_FIELDS = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes', 'StopSignal', 'Healthcheck'] as const;

/** The image's files and run-time config. The export container is named dc-skip-export-* and always removed. */
export async function snapshot(docker: Docker, ref: string): Promise<ImageSnapshot> {
  const info = await docker.getImage(ref).inspect();
  const config: Record<string, unknown> = { Os: info.Os, Architecture: info.Architecture };
  const imageConfig = (info.Config ?? {}) as unknown as Record<string, unknown>;
  for (const field of CONFIG_FIELDS) config[field] = imageConfig[field] ?? null;

  const container = await docker.createContainer({
    Image: info.Id,
    Cmd: ['/dc-skip-never-started'], // a scratch image without a command still makes a container
    name: `dc-skip-export-${Math.random().toString(36).slice(2, 10)}`,
    Labels: { 'org.dockerception.test': 'skip-oracle' },
  });
  try {
    const exported = await container.export();
    const files = new Map<string, FileFacts>();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = `/${header.name.replace(/^\.?\/+/, '').replace(/\/+$/, '')}`;
      const facts: FileFacts = {
        type: header.type ?? 'file',
        size: header.size ?? 0,
        mode: (header.mode ?? 0).toString(8),
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
      };
      if (header.linkname) facts.linkname = header.linkname;
      files.set(name, facts);
      const hash = createHash('sha256');
      const head: Buffer[] = [];
      stream.on('data', (data) => {
        const chunk = data as Buffer;
        hash.update(chunk);
        if (facts.size <= SMALL) head.push(chunk);
      });
      stream.on('end', () => {
        if (facts.type === 'file' || facts.type === 'contiguous-file') {
          facts.sha256 = hash.digest('hex');
          const text = Buffer.concat(head).toString('utf8');
          if (facts.size <= SMALL && /^[\t\n\x20-\x7e]*$/.test(text)) facts.text = text;
        }
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      exported.on('error', reject);
      exported.pipe(extract);
    });
    return { files, config };
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

const show = (value: unknown) => JSON.stringify(value);

/** Every way `after` differs from `before`, one line each ("/out/flavour: sha256 … → …"); empty when equal. */
export function differences(before: ImageSnapshot, after: ImageSnapshot): string[] {
  const lines: string[] = [];
  for (const [field, value] of Object.entries(before.config)) {
    if (show(value) !== show(after.config[field])) lines.push(`config ${field}: ${show(value)} → ${show(after.config[field])}`);
  }
  const paths = [...new Set([...before.files.keys(), ...after.files.keys()])].sort();
  for (const file of paths) {
    const a = before.files.get(file);
    const b = after.files.get(file);
    if (!a) lines.push(`${file}: added (${show(b)})`);
    else if (!b) lines.push(`${file}: removed (was ${show(a)})`);
    else {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof FileFacts>) {
        if (a[key] !== b[key]) lines.push(`${file}: ${key} ${show(a[key])} → ${show(b[key])}`);
      }
    }
  }
  return lines;
}
