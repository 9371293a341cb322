// Both ways across the bridge: a pair as one multi-stage Dockerfile (export), and a pair from one (import).
export { CONTEXT_DIR, OUTPUT_STAGE, composeExport, contextSource, exportPair, type BuilderFacts, type ExportOptions, type ExportResult } from './export';
export {
  COLLECT_STAGE,
  OUT_DIR,
  existingPairFiles,
  importDockerfile,
  splitMultiStage,
  type ImportOptions,
  type ImportResult,
  type ImportWritten,
} from './import';
