/**
 * The command: the plans named on the command line read, their review written; the exit code says
 * whether it needs attention.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { reviewMarkdown } from './markdown';
import { StackReview } from './model';
import { membersByAddress, Plan } from './resources';
import { reviewPlan } from './stack';

export function needsAttention(reviews: readonly StackReview[]): boolean {
  return reviews.some((s) => s.resources.some((r) => r.findings.some((f) => f.attention)));
}

/** The command: reads the plans, writes the Markdown; returns the exit code. */
export function main(args: string[]): number {
  if (args.length === 0) {
    process.stderr.write(
      'usage: plan-review <stack>=<plan.json> ... (terraform show -json <saved plan> > plan.json); or <plan.json> named after its stack\n',
    );
    return 1;
  }
  const inputs: { stack: string; plan: Plan }[] = [];
  for (const arg of args) {
    const [stack, file] = arg.includes('=')
      ? arg.split(/=(.*)/s, 2)
      : [path.basename(arg).replace(/\.(plan\.)?json$/, ''), arg];
    try {
      const plan: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) throw new Error('it is not a JSON object');
      inputs.push({ stack, plan: plan as Plan });
    } catch (err) {
      process.stderr.write(`${file}: not a plan from \`terraform show -json\` (${(err as Error).message})\n`);
      return 1;
    }
  }
  const members = membersByAddress(inputs.map((i) => i.plan));
  const reviews = inputs.map((i) => reviewPlan(i.stack, i.plan, (ip) => members.get(ip)));
  process.stdout.write(reviewMarkdown(reviews));
  return needsAttention(reviews) ? 2 : 0;
}
