/** The reviews as the Markdown of a pull request comment: the environments' headlines, then each stack's resources. */
import { environments } from './environments';
import { StackReview } from './model';

export function reviewMarkdown(reviews: readonly StackReview[]): string {
  const count = reviews.flatMap((s) => s.resources.flatMap((r) => r.findings)).filter((f) => f.attention).length;
  const out: string[] = ['## Patroni plan review', ''];
  const envs = environments(reviews);
  for (const e of envs) {
    const stacks = e.clusters
      ? ` (${e.stacks.length === 1 ? 'stack' : 'stacks'} ${e.stacks.map((s) => `\`${s}\``).join(', ')})`
      : '';
    out.push(`- **${e.name}**${stacks}: ${e.headline}`);
  }
  if (envs.length > 0) out.push('');
  out.push(
    count > 0
      ? `**${count} change${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} a reviewer's attention.**`
      : "Nothing here needs a reviewer's attention.",
    '',
  );
  for (const s of reviews) {
    out.push(`### Stack \`${s.stack}\`${s.cluster !== s.stack ? ` (${s.cluster})` : ''}`, '');
    if (s.resources.length === 0) {
      out.push('No change.', '');
      continue;
    }
    for (const r of s.resources) {
      out.push(`#### ${r.subject}${r.where ? ` ${r.where}` : ''}: ${r.action}`, '');
      for (const f of [...r.findings].sort((x, y) => Number(y.attention) - Number(x.attention)))
        out.push(`- ${f.attention ? '**attention**: ' : ''}${f.text}`);
      if (r.findings.length > 0) out.push('');
      for (const d of r.diffs) {
        if (!d.diff.includes('\n')) continue;
        out.push('<details><summary>' + d.title + '</summary>', '', '```diff', d.diff, '```', '', '</details>', '');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
