// The rollup tests' private pipeline: a fast maintainer, the label keys under test, and no
// retention (the generated runs sit in the past).
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';

export const rollupLabelKeys = ['region', 'tier'];

export function createRollupTestPipeline(name: string): Promise<TestPipeline> {
  return createTestPipeline(name, {
    RUNLENS_ROLLUP_INTERVAL_MS: '200',
    RUNLENS_ROLLUP_LABEL_KEYS: rollupLabelKeys.join(','),
    RUNLENS_RETENTION_RUNS_DAYS: '0',
    RUNLENS_RETENTION_MINUTE_DAYS: '0',
    RUNLENS_RETENTION_HOUR_DAYS: '0',
    RUNLENS_RETENTION_DAY_DAYS: '0',
  });
}
