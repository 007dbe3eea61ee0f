/**
 * The name of buildkitd landing directories (land-image.ts), apart from the landing code so the
 * daemon's start-up cleanup (service.ts) does not load it: BuildKit code loads on first use.
 */
/** Landing directories are named so; one left by a daemon killed mid-landing is removed at the next start. */
export const LANDING_PREFIX = 'landing-';
