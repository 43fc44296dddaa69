export {
  compareDecisions,
  newViolations,
  parseStoredInput,
  type ReplayAgent,
  type ReplayChange,
  type ReplayOutcome,
  replayRecord,
  substituteAgent,
} from "./compare.js";
export {
  DEFAULT_REPLAY_LIMIT,
  DEFAULT_REPLAY_READ_OPTIONS,
  MAX_REPLAY_LIMIT,
  parseCandidatePolicy,
  type ReplayOptions,
  type ReplayReadOptions,
  type ReplaySummary,
  type Replays,
  type SessionReplayResult,
  type TenantReplayOptions,
  type TenantReplayResult,
} from "./service.js";
