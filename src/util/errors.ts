/** An error in the user's input (a file, a flag): shown as one clear line, never a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}
