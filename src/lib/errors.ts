/**
 * Errors written for the operator: the message says what is wrong and what to do, in one line, so the
 * command prints it without a stack trace. `exitCode` 2 is a usage or configuration problem, 1 anything
 * else that stops a command.
 */
export class OperatorError extends Error {
  readonly exitCode: 1 | 2 = 1;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
