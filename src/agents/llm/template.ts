/**
 * Prompt templates: readable Markdown files with {{placeholders}}. A line holding only
 * `<!-- cache -->` ends a part of the prompt that stays the same across calls: what comes
 * before it is marked for the provider's prompt cache.
 */
import { ConfigError } from '../../core/errors.ts';
import type { PromptPart } from '../../models/model.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z]\w*)\s*\}\}/g;
const CACHE_MARK = /^[ \t]*<!--\s*cache\s*-->[ \t]*$/m;

/** Throws a ConfigError naming any placeholder the template uses that is not in `known`. */
export function checkTemplate(template: string, known: readonly string[], where: string): void {
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!known.includes(match[1])) {
      throw new ConfigError(`${where}: unknown placeholder {{${match[1]}}}; the template can use: ${known.map((k) => `{{${k}}}`).join(', ')}`);
    }
  }
}

/** Fills the placeholders and splits the text at cache marks (every part before a mark is cacheable). */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): PromptPart[] {
  // A line that is only a placeholder with nothing to say disappears, blank line and all.
  const kept = template.split('\n').filter((line) => {
    const only = /^\s*\{\{\s*([A-Za-z]\w*)\s*\}\}\s*$/.exec(line);
    return !only || (values[only[1]] ?? '') !== '';
  });
  // Collapsing runs of blank lines happens before filling in, so the code shown stays as it is.
  const pieces = kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .split(CACHE_MARK);
  return pieces
    .map((piece, i) => ({
      text: piece.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '').trim(),
      ...(i < pieces.length - 1 ? { cache: true } : {}),
    }))
    .filter((part) => part.text !== '');
}
