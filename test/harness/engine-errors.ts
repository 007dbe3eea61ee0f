import { EngineError } from '../../translate/errors.js';

/** The EngineError a pure function throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngineError) return err;
    throw err;
  }
  throw new Error('expected an EngineError');
}
