import { describe, expect, it } from 'vitest';
import { EditParseError, parseEditText, renderEdit } from '../../src/patch/edit-text.ts';

describe('reading an edit out of a model reply', () => {
  it('reads search/replace blocks with paths in headings, backticks or fence info strings', () => {
    const reply = [
      'I will lower the learning rate and add warmup.',
      '',
      '### `train.py`',
      '```python',
      '<<<<<<< SEARCH',
      '    lr = 0.1',
      '=======',
      '    lr = 0.05',
      '>>>>>>> REPLACE',
      '```',
      '',
      '```python sched.py',
      '<<<<<<< SEARCH',
      '=======',
      'def warmup(step):',
      '    return min(1, step / 100)',
      '>>>>>>> REPLACE',
      '```',
      '<<<<<<< SEARCH',
      'x = 1',
      '=======',
      '>>>>>>> REPLACE',
    ].join('\n');
    expect(parseEditText(reply)).toEqual({
      kind: 'search-replace',
      blocks: [
        { path: 'train.py', search: '    lr = 0.1\n', replace: '    lr = 0.05\n' },
        { path: 'sched.py', search: '', replace: 'def warmup(step):\n    return min(1, step / 100)\n' },
        // no path line: the previous block's file
        { path: 'sched.py', search: 'x = 1\n', replace: '' },
      ],
    });
  });

  it('reads a fenced diff and drops the prose around it (the fence stays: it says the reply was not cut off)', () => {
    const reply = 'Change:\n```diff\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a\n+b\n```\nDone, this should help.';
    expect(parseEditText(reply)).toEqual({
      kind: 'unified-diff',
      diff: '```diff\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a\n+b\n```\n',
    });
  });

  it('reads an Edit written as JSON', () => {
    expect(parseEditText('{"kind":"search-replace","blocks":[{"path":"a.py","search":"x","replace":"y"}]}')).toEqual({
      kind: 'search-replace',
      blocks: [{ path: 'a.py', search: 'x', replace: 'y' }],
    });
  });

  it('says what is wrong with a reply that holds no usable edit', () => {
    expect(() => parseEditText('I think we should lower the learning rate.')).toThrow(/no edit found: expected search\/replace blocks/);
    expect(() => parseEditText('a.py\n<<<<<<< SEARCH\nx\n=======\ny\n')).toThrow(/block 1 \(a.py\) is not closed with ">>>>>>> REPLACE"/);
    expect(() => parseEditText('<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE')).toThrow(EditParseError);
  });

  it('writes an edit back as text that reads back the same', () => {
    const edit = { kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 0.7' }] };
    expect(renderEdit(edit)).toBe('config.py\n<<<<<<< SEARCH\nX = 0.5\n=======\nX = 0.7\n>>>>>>> REPLACE\n');
    expect(parseEditText(renderEdit(edit))).toEqual({
      kind: 'search-replace',
      blocks: [{ path: 'config.py', search: 'X = 0.5\n', replace: 'X = 0.7\n' }],
    });
  });
});
