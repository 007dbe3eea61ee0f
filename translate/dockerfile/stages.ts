/** Splits parsed instructions into the ARGs before the first FROM and the build stages; applies `target`. Pure. */
import { invalidParameter } from '../errors.js';
import { parseErrorOnLine, type Instruction } from './parser.js';
import { rawWords } from './shell-lex.js';

export interface Stage {
  index: number;
  /** Lower-case `AS` name. */
  name?: string;
  /** The base image as written (substituted later against the meta ARGs). */
  base: string;
  /** The raw `--platform` flag. */
  platform?: string;
  from: Instruction;
  commands: Instruction[];
}

export interface BuildPlan {
  metaArgs: Instruction[];
  stages: Stage[];
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(inst: Instruction, index: number, escape: string): Stage {
  const words = rawWords(inst.rest, escape);
  if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) {
    throw parseErrorOnLine(inst.line, 'FROM requires either one or three arguments');
  }
  let name: string | undefined;
  if (words.length === 3) {
    name = words[2].toLowerCase();
    if (!STAGE_NAME.test(name)) throw parseErrorOnLine(inst.line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
  }
  return { index, ...(name ? { name } : {}), base: words[0], ...(inst.flags.platform ? { platform: inst.flags.platform } : {}), from: inst, commands: [] };
}

/** Stages up to and including `target` (the last stage when none). */
export function planStages(instructions: readonly Instruction[], escape: string, target?: string): BuildPlan {
  const metaArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const inst of instructions) {
    if (inst.cmd === 'FROM') {
      const stage = parseFrom(inst, stages.length, escape);
      stages.push(stage);
    } else if (stages.length === 0) {
      if (inst.cmd !== 'ARG') throw invalidParameter('no build stage in current context');
      metaArgs.push(inst);
    } else {
      stages[stages.length - 1].commands.push(inst);
    }
  }
  // Only ARGs: dockerd runs them and then finds no image (the builder says so).
  if (target === undefined || target === '') return { metaArgs, stages };
  const at = stages.findIndex((s) => s.name === target.toLowerCase());
  if (at < 0) throw invalidParameter(`failed to reach build target ${target} in Dockerfile`);
  return { metaArgs, stages: stages.slice(0, at + 1) };
}

/** dockerd's total for "Step n/N": meta ARGs, FROMs and every command. */
export function stepCount(plan: BuildPlan): number {
  return plan.metaArgs.length + plan.stages.reduce((n, s) => n + 1 + s.commands.length, 0);
}
