/**
 * A git diff as syntax-highlighted HTML: one block per file, old and new line numbers, added and
 * removed lines tinted, and the code inside coloured by a small tokenizer for the languages
 * research code is written in. Hand-written because the report must not load anything from a
 * network and the diffs are small; everything is escaped here.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

type Language = 'python' | 'c-like' | 'shell' | 'yaml' | 'json' | 'plain';

const KEYWORDS: Record<Language, Set<string>> = {
  python: new Set(
    'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield self'.split(
      ' ',
    ),
  ),
  'c-like': new Set(
    'break case catch class const continue default delete do else enum export extends false finally for function if import in instanceof interface let new null return static struct switch this throw true try type typeof var void while yield async await auto bool char double float int long unsigned using namespace template'.split(
      ' ',
    ),
  ),
  shell: new Set('if then else elif fi for while do done case esac function in export local return set'.split(' ')),
  yaml: new Set(['true', 'false', 'null', 'yes', 'no']),
  json: new Set(['true', 'false', 'null']),
  plain: new Set(),
};

function languageOf(file: string): Language {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  if (['py', 'pyi', 'pyx'].includes(ext)) return 'python';
  if (['js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'c', 'h', 'cc', 'cpp', 'hpp', 'cu', 'cuh', 'java', 'rs', 'go', 'scala', 'kt'].includes(ext))
    return 'c-like';
  if (['sh', 'bash', 'zsh'].includes(ext)) return 'shell';
  if (['yaml', 'yml', 'toml', 'cfg', 'ini'].includes(ext)) return 'yaml';
  if (ext === 'json') return 'json';
  return 'plain';
}

const TOKEN = {
  python:
    /(#.*$)|("""[^]*?"""|'''[^]*?'''|[rbfu]{0,2}"(?:\\.|[^"\\])*"|[rbfu]{0,2}'(?:\\.|[^'\\])*')|(\b\d[\d_]*(?:\.\d*)?(?:e[+-]?\d+)?j?\b|\.\d+(?:e[+-]?\d+)?\b)|(@[\w.]+)|([A-Za-z_]\w*)/gim,
  'c-like':
    /(\/\/.*$|\/\*.*?\*\/)|("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`)|(\b\d[\d_]*(?:\.\d*)?(?:e[+-]?\d+)?[fFlLuU]*\b|\.\d+\b)|(@\w+)|([A-Za-z_$][\w$]*)/gm,
  shell: /(#.*$)|("(?:\\.|[^"\\])*"|'[^']*')|(\b\d+\b)|(\$\{?\w+\}?)|([A-Za-z_]\w*)/gm,
  yaml: /(#.*$)|("(?:\\.|[^"\\])*"|'[^']*')|(\b-?\d+(?:\.\d*)?(?:e[+-]?\d+)?\b)|(^\s*-?\s*[\w.-]+(?=\s*[:=]))|([A-Za-z_]\w*)/gim,
  // JSON has no comments or attributes: those groups can never match.
  json: /((?!))|("(?:\\.|[^"\\])*")|(-?\b\d+(?:\.\d*)?(?:e[+-]?\d+)?\b)|((?!))|([A-Za-z_]\w*)/gim,
} as const;

/** One line of code as HTML with token classes: k keyword, s string, c comment, n number, a attribute/key. */
export function highlightLine(code: string, language: Language): string {
  if (language === 'plain') return escapeHtml(code);
  const pattern = new RegExp(TOKEN[language]);
  let html = '';
  let last = 0;
  for (const match of code.matchAll(pattern)) {
    const [text, comment, string, number, attribute, word] = match;
    if (!text) continue;
    html += escapeHtml(code.slice(last, match.index));
    last = match.index! + text.length;
    const cls = comment ? 'c' : string ? 's' : number ? 'n' : attribute ? 'a' : word && KEYWORDS[language].has(word) ? 'k' : null;
    html += cls ? `<span class="tok-${cls}">${escapeHtml(text)}</span>` : escapeHtml(text);
  }
  return html + escapeHtml(code.slice(last));
}

export interface DiffFile {
  oldPath: string;
  newPath: string;
  /** new file, deleted file, renamed, binary: shown next to the name. */
  note: string | null;
  added: number;
  removed: number;
  lines: DiffLine[];
}

export interface DiffLine {
  kind: 'hunk' | 'add' | 'del' | 'ctx' | 'meta';
  oldNumber: number | null;
  newNumber: number | null;
  text: string;
}

/** Parses `git diff` output into files and numbered lines. */
export function parseGitDiff(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | null = null;
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      const match = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
      file = { oldPath: match?.[1] ?? line.slice(11), newPath: match?.[2] ?? line.slice(11), note: null, added: 0, removed: 0, lines: [] };
      files.push(file);
      inHunk = false;
      continue;
    }
    if (!file) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      inHunk = true;
      file.lines.push({ kind: 'hunk', oldNumber: null, newNumber: null, text: line });
      continue;
    }
    if (!inHunk) {
      if (line.startsWith('new file')) file.note = 'new file';
      else if (line.startsWith('deleted file')) file.note = 'deleted';
      else if (line.startsWith('rename from')) file.note = 'renamed';
      else if (line.startsWith('Binary files')) file.note = 'binary';
      else if (line.startsWith('--- ') && line !== '--- /dev/null') file.oldPath = line.slice(4).replace(/^a\//, '');
      else if (line.startsWith('+++ ') && line !== '+++ /dev/null') file.newPath = line.slice(4).replace(/^b\//, '');
      continue;
    }
    if (line.startsWith('+')) {
      file.lines.push({ kind: 'add', oldNumber: null, newNumber: newLine++, text: line.slice(1) });
      file.added++;
    } else if (line.startsWith('-')) {
      file.lines.push({ kind: 'del', oldNumber: oldLine++, newNumber: null, text: line.slice(1) });
      file.removed++;
    } else if (line.startsWith(' ')) {
      file.lines.push({ kind: 'ctx', oldNumber: oldLine++, newNumber: newLine++, text: line.slice(1) });
    } else if (line.startsWith('\\')) {
      file.lines.push({ kind: 'meta', oldNumber: null, newNumber: null, text: line });
    }
  }
  return files;
}

/** The diff as HTML blocks (one per file). */
export function diffToHtml(diff: string): string {
  const files = parseGitDiff(diff);
  if (files.length === 0) return `<pre class="diff-raw">${escapeHtml(diff)}</pre>`;
  return files
    .map((file) => {
      const name =
        file.oldPath !== file.newPath && file.note !== 'new file' && file.note !== 'deleted'
          ? `${file.oldPath} → ${file.newPath}`
          : file.newPath;
      const language = languageOf(file.newPath);
      const rows = file.lines
        .map((line) => {
          if (line.kind === 'hunk' || line.kind === 'meta') {
            return `<tr class="d-${line.kind}"><td class="ln"></td><td class="ln"></td><td class="code">${escapeHtml(line.text)}</td></tr>`;
          }
          const sign = line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : ' ';
          return `<tr class="d-${line.kind}"><td class="ln">${line.oldNumber ?? ''}</td><td class="ln">${line.newNumber ?? ''}</td><td class="code"><span class="sign">${sign}</span>${highlightLine(line.text, language)}</td></tr>`;
        })
        .join('');
      return `<div class="diff-file"><div class="diff-name"><span>${escapeHtml(name)}</span>${file.note ? `<span class="diff-note">${file.note}</span>` : ''}<span class="diff-stat"><span class="plus">+${file.added}</span> <span class="minus">−${file.removed}</span></span></div><table class="diff"><tbody>${rows}</tbody></table></div>`;
    })
    .join('');
}
