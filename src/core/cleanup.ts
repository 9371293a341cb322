import type Docker from 'dockerode';
import { isConnectionError } from './errors';

/** Set on every builder container, so that a leftover one can always be found. */
export const LABEL_RUN = 'org.dockerception.run';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Removes a container of ours: the builder, or the engine's container for a RUN step of a build we
 * abandoned. When the engine is away (restarted, say) or busy with that container, keeps trying for
 * ~15 s, so that the container does not outlive the failed run.
 */
export async function removeContainer(container: Docker.Container): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // v: its anonymous volumes go with it (a builder image with VOLUME would leak one per build).
      await container.remove({ force: true, v: true });
      return;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) return; // gone: by us or by the engine
      if (attempt >= 30 || !(isConnectionError(error) || status === 409 || status === 500)) return;
      await sleep(500);
    }
  }
}

/** A concurrent run reads its builder's exit status and removes the container within moments of the
 * exit; one that has stayed exited longer than this was left by a run that died. */
const LEFTOVER_AFTER_MS = 60_000;

/**
 * Removes builder containers that a run killed hard (SIGKILL, power loss) left behind: ours carry
 * LABEL_RUN. Only ones exited (or dead) for a while: a concurrent run's container may be created and not
 * yet started, or just exited with its status still to be read.
 */
export async function sweepLeftoverContainers(docker: Docker): Promise<number> {
  const candidates = await docker.listContainers({ all: true, filters: { label: [LABEL_RUN], status: ['exited', 'dead'] } });
  const removed = await Promise.all(
    candidates.map(async (c) => {
      const container = docker.getContainer(c.Id);
      const finished = Date.parse((await container.inspect().catch(() => undefined))?.State?.FinishedAt ?? '');
      if (!(Date.now() - finished > LEFTOVER_AFTER_MS)) return false;
      return container.remove({ force: true, v: true }).then(
        () => true,
        () => false,
      );
    }),
  );
  return removed.filter(Boolean).length;
}

/** Removes an image we built but did not tag. Without force, so an image that has a tag stays. */
export async function removeUntaggedImage(docker: Docker, id: string): Promise<void> {
  try {
    const info = await docker.getImage(id).inspect();
    if ((info.RepoTags ?? []).length === 0) await docker.getImage(id).remove({ noprune: false });
  } catch {
    // already gone, or in use by another image: nothing of ours to clean
  }
}
