// Bearer-token auth per route: 401 without a token or with an unknown one, 403 when the
// token's role is below what the route declares.
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { roleAtLeast, type Role, type TokenTable } from '../auth/tokens.ts';
import type { ApiEnv } from '../http/api-env.ts';

export function requireRole(required: Role, tokens: TokenTable | null): MiddlewareHandler<ApiEnv> {
  return async function requireRole(c, next) {
    if (tokens === null) {
      // RUNLENS_API_AUTH=off, set explicitly: everyone is admin.
      c.set('role', 'admin');
      return next();
    }
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(c.req.header('authorization') ?? '');
    if (!match?.[1]) throw new HTTPException(401, { message: 'a bearer token is required (Authorization: Bearer <token>)' });
    const role = tokens.lookup(match[1]);
    if (role === null) throw new HTTPException(401, { message: 'unknown token' });
    c.set('role', role);
    if (!roleAtLeast(role, required)) throw new HTTPException(403, { message: `this route needs the ${required} role; the token has ${role}` });
    return next();
  };
}
