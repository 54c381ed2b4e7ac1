// One error class for the stack, carrying which service failed and where to look.
// The CLI prints `message` (which already names the log file) and exits non-zero;
// tests get the same text in their global-setup failure.
export type ServiceName = 'clickhouse' | 'kafka';

export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    readonly service: ServiceName | 'stack',
    message: string,
    readonly logFiles: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    const see = logFiles.length > 0 ? `\n  see: ${logFiles.join('\n       ')}` : '';
    super(`${service}: ${message}${see}`, options);
  }
}
