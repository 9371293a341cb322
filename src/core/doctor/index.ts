// The doctor's one entry for the pipeline and inspect: list the image's files once, then check them.
import type Docker from 'dockerode';
import { diagnose, type Finding } from './checks';
import { listingOf, type FileEntry } from './growth';
import { imageConfig, imageFiles } from './image-files';

export { diagnose, FileTree, type Finding, type FindingCode } from './checks';
export { MACHINES, parseElf, ElfCapture, type ElfInfo } from './elf';
export { fileChanges, listingOf, MAX_LISTED_FILES, type FileChange, type FileEntry } from './growth';
export { imageConfig, imageFiles, type ImageConfig, type ImageFile } from './image-files';

export interface Examination {
  findings: Finding[];
  files: FileEntry[];
  /** More regular files than a listing keeps: `files` holds the largest. */
  truncated: boolean;
}

export async function examineImage(docker: Docker, ref: string): Promise<Examination> {
  const [files, config] = await Promise.all([imageFiles(docker, ref), imageConfig(docker, ref)]);
  return { findings: diagnose(files, config), ...listingOf(files) };
}

/** One line per finding, for the CLI's stderr and the output channel. */
export function describeFinding(finding: Finding): string {
  return `${finding.severity} ${finding.code}: ${finding.message}`;
}
