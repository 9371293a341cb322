// The runtime Dockerfile Dockerception writes for a pair that has none (a Quick Fix, a button): no imports,
// so the extension can load it at start.

/** What runtimeDockerfileFor needs of a tar entry. */
export interface TarFileFacts {
  path: string;
  type: string;
  mode: number;
}

/**
 * A runtime Dockerfile for a tar whose entries are `files`: everything copied onto scratch, and the program
 * to run when there is exactly one executable regular file (else a comment naming the candidates).
 */
export function runtimeDockerfileFor(files: readonly TarFileFacts[] = []): string {
  const programs = files.filter((f) => f.type === 'file' && (f.mode & 0o111) !== 0).map((f) => f.path);
  const run =
    programs.length === 1
      ? `ENTRYPOINT ${JSON.stringify(programs)}\n`
      : `# Name the program the tar carries${programs.length ? ` (executables in it: ${programs.slice(0, 5).join(', ')})` : ''}:\n# ENTRYPOINT ["/app"]\n`;
  return `# The runtime image: its build context is the tar the builder's CMD writes to stdout.\nFROM scratch\nCOPY . /\n${run}`;
}
