/**
 * The tasks of the word-frequency example: count the words of one file (in a worker thread) and
 * merge two counts. See `wordfreq.job.ts`.
 */
import { readFileSync } from 'node:fs';
import { defineTasks } from 'fanfold';

/** Occurrences of each word. */
export type Counts = Record<string, number>;

// Runs of letters in any script; everything else (digits, `_`, punctuation) separates words.
const NON_LETTERS = /[^\p{L}]+/u;
// Inline source maps are base64, not words ("aaaa", "caac"...).
const INLINE_SOURCE_MAP = /sourceMappingURL=data:\S+/g;

/**
 * Counts the words of 3 letters or more in a UTF-8 text file, lower-cased. It reads the file
 * itself, in the worker thread, and synchronously: a thread runs one task at a time, and a
 * synchronous read saves the round trip through libuv's small thread pool, which all the worker
 * threads share.
 */
function countWords(path: string): Counts {
  const text = readFileSync(path, 'utf8').replace(INLINE_SOURCE_MAP, '').toLowerCase();
  // A Map while counting: a plain object would see inherited keys such as "constructor".
  const counts = new Map<string, number>();
  for (const word of text.split(NON_LETTERS)) {
    if (word.length >= 3) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

/**
 * Adds the counts of `b` into `a` and returns `a`. Associative and commutative, as a reducer must be.
 *
 * Contract: `a` is an accumulator owned by the fold and is updated in place; `b` is only read.
 * fanfold's folds pass as `a` either a task's fresh result or a freshly decoded partial, never an
 * object the caller still holds, so nothing outside the fold sees the update. Copying `a` instead
 * would make every merge cost as much as the whole vocabulary (tens of thousands of words): the
 * example's fold took 24 s instead of 50 ms that way.
 */
function mergeCounts(a: Counts, b: Counts): Counts {
  for (const [word, n] of Object.entries(b)) {
    a[word] = (Object.hasOwn(a, word) ? a[word]! : 0) + n;
  }
  return a;
}

export default defineTasks({ countWords, mergeCounts });
