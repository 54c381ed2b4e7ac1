// Prints the plain closing line CI reads ("N passed, N failed") from vitest's JSON reports.
// A missing report means that run died before vitest wrote it (type errors, a failed stack
// start): that is one failure, not zero tests.
import { existsSync, readFileSync } from 'node:fs';

const reports = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const reportPath of reports) {
  if (!existsSync(reportPath)) {
    console.log(`no test report at ${reportPath}: that run stopped before its tests (see above)`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed += report.numPassedTests ?? 0;
  // Files that failed to load count as failures even though they ran no test.
  const brokenFiles = (report.testResults ?? []).filter((file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0).length;
  const failedHere = (report.numFailedTests ?? 0) + brokenFiles;
  // A run that did not succeed with nothing failed in it (a global setup error, no test
  // files found) is still a failure, not a silent zero.
  failed += failedHere > 0 || report.success !== false ? failedHere : 1;
  if (report.success === false && failedHere === 0) console.log(`${reportPath}: the run failed before or outside its tests (see above)`);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`);
