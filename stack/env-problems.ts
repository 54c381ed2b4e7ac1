// How every config.ts words a bad environment: one `NAME=value: problem` per issue, so the
// operator sees exactly which variable to fix. Secrets are named but never echoed.
import type { z } from 'zod';

const SECRET = /SECRET|PASSWORD|TOKEN/;

export function describeEnvProblems(issues: readonly z.core.$ZodIssue[], env: NodeJS.ProcessEnv): string[] {
  return issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const shown = SECRET.test(name) ? '<hidden>' : JSON.stringify(env[name] ?? '');
    return `${name}=${shown}: ${issue.message}`;
  });
}
