/** OCI platform parsing, normalisation and matching as containerd's platforms package does it. Pure. */
import { invalidParameter } from './errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'arm64' && (variant === '8' || variant === 'v8')) variant = 'v8';
  if (architecture === 'arm' && variant !== undefined && /^\d$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant === undefined || variant === '' ? { os, architecture } : { os, architecture, variant };
}

/** "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) throw invalidParameter(`"${s}": unknown operating system or architecture: invalid argument`);
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0] });
  return normalizePlatform({ os: parts[0], architecture: parts[1], ...(parts[2] !== undefined ? { variant: parts[2] } : {}) });
}

export const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');

/** The platform this engine runs images for by default. */
export function hostPlatform(arch: string = process.arch): Platform {
  if (arch === 'arm64') return { os: 'linux', architecture: 'arm64', variant: 'v8' };
  if (arch === 'arm') return { os: 'linux', architecture: 'arm', variant: 'v7' };
  if (arch === 'ia32') return { os: 'linux', architecture: '386' };
  return normalizePlatform({ os: 'linux', architecture: arch === 'x64' ? 'amd64' : arch });
}

/** Does a candidate (from an index or a config) satisfy the wanted platform? arm64 without a variant means v8. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  const defaultVariant = w.architecture === 'arm64' ? 'v8' : undefined;
  const wv = w.variant ?? defaultVariant;
  const cv = c.variant ?? defaultVariant;
  if (wanted.variant === undefined) return true;
  return wv === cv;
}
