/** An error the router turns into a plain-text HTTP response, as Consul does. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}
