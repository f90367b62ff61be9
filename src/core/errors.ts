/** An error that knows where it is: the file, 1-based line and column. Its message already names them. */
export class LocatedError extends Error {
  constructor(message: string, readonly file?: string, readonly line?: number, readonly column?: number) {
    super(message);
    this.name = 'LocatedError';
  }
}
