// The API's one exception type is hono's HTTPException; these helpers make the common
// ones, so every 4xx carries a message naming what was wrong.
import { HTTPException } from 'hono/http-exception';

export function badRequest(message: string): HTTPException {
  return new HTTPException(400, { message });
}

export function notFound(message: string): HTTPException {
  return new HTTPException(404, { message });
}

/** A request parameter was wrong: the message always starts with its name. */
export function badParameter(name: string, problem: string): HTTPException {
  return badRequest(`parameter '${name}': ${problem}`);
}
