/** Log events (stream `log-<tenant>:<watcher>:<slot>`, type `logs`, action `line`, key the process key). */
export interface LogLine {
  pid: number;
  fd: 'stdout' | 'stderr';
  line: string;
  /** true when the line was cut at the line-length limit */
  truncated?: boolean;
}
export type LogEvent = { action: 'line'; data: LogLine };
