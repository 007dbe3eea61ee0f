/** dockerd's JSON-lines progress messages (jsonmessage) and its progress-bar text. Pure. */

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
  errorDetail?: { message: string };
  error?: string;
  /** Plain text output (load prints "Loaded image: …" this way). */
  stream?: string;
  /** Machine-readable results: push sends {Tag, Digest, Size}. */
  aux?: Record<string, unknown>;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSize: decimal units, four significant digits ("1.049MB", "512B"). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${DECIMAL_UNITS[i]}`;
}

/** JSONProgress.String() at the width dockerd uses server-side: bar plus "current/total". */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** The 12-character id dockerd shows for a layer: the short hex of its blob digest. */
export const shortLayerId = (digest: string): string => digest.replace(/^[a-z0-9]+:/, '').slice(0, 12);

/** A plain line: `{"status"}` or, for a tag header like "latest: Pulling from …", `{"status","id"}`. */
export const statusMessage = (status: string, id?: string): JsonMessage => (id === undefined ? { status } : { status, id });

/** A per-layer state change, which dockerd always sends with an empty progressDetail. */
export const layerMessage = (status: string, id: string): JsonMessage => ({ status, progressDetail: {}, id });

export function progressMessage(status: string, id: string, current: number, total: number): JsonMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

export const errorMessage = (message: string): JsonMessage => ({ errorDetail: { message }, error: message });

/** Text output inside a JSON stream, as dockerd's stdout formatter sends it. */
export const streamMessage = (text: string): JsonMessage => ({ stream: text });
