import { main } from './main.js';

/** The process entry bin/burrow runs; main() stays importable without side effects. */
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`burrow: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
