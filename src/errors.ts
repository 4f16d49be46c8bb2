/** Every failure we raise has a code from this list; the edges turn it into chat text or an HTTP status. */
export type ErrorCode =
  | 'config_invalid'
  | 'storage_conflict'
  | 'storage_unavailable'
  | 'secret_name_invalid'
  | 'secret_store_unavailable'
  | 'secret_decrypt_failed'
  | 'bad_request'
  | 'mail_failed'
  | 'consent_needed'
  | 'internal';

const DEFAULT_USER_MESSAGE = 'Something went wrong on our side. Please try again in a moment.';

/**
 * Our one error type: `code` for programs, `userMessage` safe to show in chat (never a secret,
 * never a raw upstream message), `cause` for the logs.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string;

  constructor(code: ErrorCode, message: string, options: { userMessage?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.userMessage = options.userMessage ?? DEFAULT_USER_MESSAGE;
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
