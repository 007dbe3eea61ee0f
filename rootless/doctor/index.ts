export { runDoctor, type RunDoctorOptions } from './run.js';
export { formatDoctorTable, formatEssentialFailures, essentialFailures } from './format.js';
export type { CheckStatus, DoctorCheck, DoctorReport, DoctorUser, NetworkFact, RuntimeFact, StorageDriver } from './types.js';
