import type { Logger } from '../../src/ports/logger';

/** A logger that keeps what it is given (the "no crash" check: nothing unexpected was logged). */
export class RecordingLogger implements Logger {
  readonly entries: Array<{ level: string; obj: object; msg?: string }> = [];
  info(obj: object, msg?: string) {
    this.entries.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string) {
    this.entries.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string) {
    this.entries.push({ level: 'error', obj, msg });
  }
  debug(obj: object, msg?: string) {
    this.entries.push({ level: 'debug', obj, msg });
  }
}
