/**
 * buildkit's "did you mean" hint (util/suggest), which dockerd's classic builder passes on in its
 * parse errors: the closest option within an edit distance of 2, first one wins on a tie.
 */

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The option written in the case of what the user typed (all lower or all upper), as buildkit does. */
function inCaseOf(option: string, typed: string): string {
  if (typed === typed.toLowerCase()) return option.toLowerCase();
  if (typed === typed.toUpperCase()) return option.toUpperCase();
  return option;
}

/** `message` with " (did you mean X?)" when an option is close to `typed`; unchanged on an exact match. */
export function withSuggestion(message: string, typed: string, options: readonly string[], caseSensitive: boolean): string {
  const value = caseSensitive ? typed : typed.toLowerCase();
  let match = '';
  let best = 3;
  for (const raw of options) {
    const option = caseSensitive ? raw : raw.toLowerCase();
    if (option === value) return message;
    const d = editDistance(value, option);
    if (d < best) {
      best = d;
      match = caseSensitive ? option : inCaseOf(option, typed);
    }
  }
  return match === '' ? message : `${message} (did you mean ${match}?)`;
}
