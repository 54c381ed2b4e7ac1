// The fault suite's global setup: its own stack (other ports), a fresh outcome table, and
// at the end the table rendered to test-results/faults-report.md.
import { faultStackUp } from './private-stack.ts';
import { renderReport, reportMarkdown, startReport } from './report.ts';

export default async function setup(): Promise<() => void> {
  startReport();
  await faultStackUp();
  return () => {
    const markdown = renderReport();
    process.stdout.write(`\nfault suite outcomes (${reportMarkdown}):\n${markdown}`);
  };
}
