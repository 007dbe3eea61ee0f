/**
 * A container's log policy through its lifecycle: checked at create, turned into conmon's size
 * limit and the rotator's watch at start, settled at exit. Kept apart from service.ts so the
 * lifecycle only calls in at those points.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { logConfigOf, logPolicy, type LogPolicy } from '../../translate/log-config.js';
import type { ContainerRecord, HostConfigRecord } from '../../translate/container-record.js';
import { notImplemented } from '../../translate/errors.js';
import { LogRotator, rotateBeforeStart } from './log-files.js';

/**
 * With the none driver the output still passes through conmon's log file, because attach streams
 * from it; conmon keeps that file below this size. It is emptied at the next start and goes with
 * the container (deleting it at exit could take the last output from an attach still reading).
 */
const NONE_SCRATCH_BYTES = 1024 * 1024;

export class LogKeeper {
  private readonly rotator: LogRotator;

  constructor(private readonly logger: Logger) {
    this.rotator = new LogRotator((id, err) => this.logger.warn({ id, err }, 'rotating the container log failed'));
  }

  /** Throws dockerd's 400 for a driver or option this engine does not keep logs for. */
  static validate(hostConfig: HostConfigRecord): LogPolicy {
    return logPolicy(logConfigOf(hostConfig.LogConfig));
  }

  private policy(rec: ContainerRecord): LogPolicy {
    try {
      return LogKeeper.validate(rec.hostConfig);
    } catch {
      // A record from before the check: keep what it always had, one unbounded file.
      return { driver: 'json-file', maxFiles: 1 };
    }
  }

  /** Prepares the log files for conmon and returns its `--log-size-max`. */
  async beforeStart(rec: ContainerRecord): Promise<number | undefined> {
    const p = this.policy(rec);
    if (p.driver === 'none') {
      await rm(rec.paths.log, { force: true });
      return NONE_SCRATCH_BYTES;
    }
    if (p.maxSize === undefined) return undefined;
    if (p.maxFiles >= 2) await rotateBeforeStart(rec.paths.log, p.maxFiles);
    return p.maxSize;
  }

  /** The container runs (or was found running after a daemon restart): follow conmon's replacements. */
  started(rec: ContainerRecord): void {
    const p = this.policy(rec);
    if (p.driver !== 'none' && p.maxSize !== undefined) this.rotator.add(rec.id, rec.paths.log, p.maxFiles);
  }

  /** The container's conmon is gone: the file it wrote last joins the rotated set. */
  async exited(rec: ContainerRecord): Promise<void> {
    await this.rotator.remove(rec.id);
  }

  /** dockerd answers 501 for a driver it cannot read back. */
  checkReadable(rec: ContainerRecord): void {
    if (this.policy(rec).driver === 'none') throw notImplemented('configured logging driver does not support reading');
  }

  stop(): void {
    this.rotator.stop();
  }
}
