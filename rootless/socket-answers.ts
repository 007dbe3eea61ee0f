import { connect } from 'node:net';

/** True when something accepts a connection on the unix socket at `path` (a daemon owns it). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
