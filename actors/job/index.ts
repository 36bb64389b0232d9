// The job actor: Salt-style jobs on minions with per-minion returns (docs/architecture.md "Events"; docs/architecture.md "Views"; docs/architecture.md "Actors and leadership").
export { createJobService } from './jobs.js';
export type { CancelledJob, CreatedJob, JobService, JobServiceOptions, JobSummary, ResumeSummary } from './jobs.js';
// the actors' one clock (the job actor takes it too); `ManualClock` comes with the runtime
export { systemClock, SimulatedClock } from '../runtime/clock.js';
export type { Clock } from '../runtime/clock.js';
export { newJid, formatJid, jidTime } from './jid.js';
export { compileTarget, matchTargets, TARGET_TYPES, MAX_TARGET_LENGTH } from './target.js';
export type { CompiledTarget } from './target.js';
export { compileGlob } from './glob.js';
export type { CompiledGlob } from './glob.js';
export {
  validateJobRequest,
  DEFAULT_TIMEOUT_MS,
  FUN_PATTERN,
  MAX_ARGS_BYTES,
  MAX_TIMEOUT_MS,
  MIN_TIMEOUT_MS,
} from './validate.js';
export type { JobRequest } from './validate.js';
export { jobMachine, createJobStepper, FINISHED_STATUSES } from './machine.js';
export type { JobStatus, JobStepper, JobSnapshot } from './machine.js';
export { decideJob } from './decide.js';
export type { JobCommand, IgnoredReason } from './decide.js';
