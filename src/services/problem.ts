/**
 * The error a service raises with an HTTP status (not found, conflict, forbidden …). It lives with the services, not
 * with the HTTP server, so that jobs and other front ends can raise and catch it without depending on the server;
 * server/problem.ts turns it into an RFC 9457 problem.
 */
/** An error raised by the service itself with an HTTP status (not found, forbidden, payload too large …). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly hint?: string,
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export const notFound = (what: string, hint?: string): HttpProblem => new HttpProblem(404, 'not-found', 'Not found', what, hint);
