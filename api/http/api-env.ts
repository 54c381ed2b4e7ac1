// The Hono environment: what middleware leaves on the context for later ones.
import type { Role } from '../auth/tokens.ts';

export type ApiEnv = {
  Variables: {
    /** The route-table path that matched (a low-cardinality label for metrics and logs). */
    route: string;
    role: Role | 'anonymous';
    /** Set by the error mapper for 5xx, so the request log line says why. */
    errorMessage: string;
  };
};
