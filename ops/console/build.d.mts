export interface ConsoleBuildResult {
  script: string;
  stylesheet: string;
  index: string;
  scriptBytes: number;
  stylesheetBytes: number;
}
/** Builds the console into `outdir` (default `dist/console`). */
export function buildConsole(options?: { outdir?: string }): Promise<ConsoleBuildResult>;
