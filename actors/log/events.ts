/** Log events (stream `log-<tenant>:<watcher>:<slot>`, type `logs`, action `line`, key the process key). */
export interface LogLine {
  pid: number;
  fd: 'stdout' | 'stderr';
  line: string;
  /** true when the line was cut at the line-length limit */
  truncated?: boolean;
  /** the line's number within its run (from minions that number lines): a resent line is stored once */
  seq?: number;
  /**
   * The run id, on the last line of each append only (so the newest event of a stream always
   * names its run: what a server that did not write it reads back to go on deduplicating).
   */
  run?: string;
}
export type LogEvent = { action: 'line'; data: LogLine };
