/* eslint-disable no-console -- this module is where the console is replaced */
import { format } from 'node:util';
import type { Logger } from './logger';

/**
 * Libraries that write to the console (botbuilder's JWT validation prints whole errors with
 * console.error) would bypass the redacting logger: in the bot process the console goes through
 * it instead, as `warn` / `info` lines tagged `console`.
 */
export function routeConsoleTo(logger: Logger): void {
  const to = (level: 'warn' | 'info' | 'debug') => (...args: unknown[]): void => {
    logger[level]({ source: 'console' }, format(...args));
  };
  console.error = to('warn');
  console.warn = to('warn');
  console.log = to('info');
  console.info = to('info');
  console.debug = to('debug');
  console.trace = to('debug');
}
