export interface ConnectionRecord {
  host: string;
  port: number | undefined;
  loopback: boolean;
  pid: number;
  /** The process's argv (shortened), to tell the test runner from a spawned bot. */
  process: string;
  at: string;
  /** Full title of the mocha test that was running, when known. */
  test: string | undefined;
}

export interface GuardState {
  mode: 'block' | 'record';
  logFile: string | undefined;
  connections: ConnectionRecord[];
  violations: ConnectionRecord[];
  currentTest: string | undefined;
  uninstall(): void;
}

export declare function install(options?: { mode?: 'block' | 'record'; logFile?: string }): GuardState;
export declare function isLoopbackHost(host: unknown): boolean;
export declare function targetOf(args: unknown[]): { path: string } | { host: string; port: number | undefined; path?: undefined };
export declare function readLog(logFile: string): ConnectionRecord[];
export declare const STATE: unique symbol;
