/**
 * vitest `setupFiles` of the tiers whose pace is the CPU's (unit, local, and the runner, whose
 * functions are processes of this machine): before the file declares its
 * tests, measures how much of a core this process gets right now and scales the file's test and
 * hook timeouts by it. CPU-bound tests (a CDK synth, an esbuild bundle, threads spinning) take
 * several times longer beside other work; a budget that is generous on a quiet machine is tight
 * on a busy one. Assertions are never scaled. (The tiers on moto scale by the emulator's pace
 * instead: test/support/cloud.ts.)
 */
import { vi } from 'vitest';
import { BASE_TEST_TIMEOUT_MS, MAX_PACE } from './cloud.js';

/** How long the probe runs, by the wall clock. */
const PROBE_MS = 100;

/**
 * Wall time over this process's CPU time while it spins for {@link PROBE_MS}: 1 when it has a core
 * to itself, about n when n runnable processes share each core (1 to {@link MAX_PACE}).
 */
export function cpuPace(): number {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  let x = 0;
  while (performance.now() - wall0 < PROBE_MS) x += Math.sqrt(x + 1);
  const wall = performance.now() - wall0;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1000;
  return Math.min(MAX_PACE, Math.max(1, wall / Math.max(cpu, 1)));
}

/** This file's pace, measured once as the file starts (the setup file and the tests share it). */
export const machinePace = cpuPace();

/** `ms` × {@link machinePace}, rounded: a budget around an awaited event on this machine now. */
export function scaledByMachine(ms: number): number {
  return Math.round(ms * machinePace);
}

// Told to code that must not import this file: the runner's own tests (test/runner/ stands apart).
process.env.FANFOLD_MACHINE_PACE = String(machinePace);

const timeout = scaledByMachine(BASE_TEST_TIMEOUT_MS);
vi.setConfig({ testTimeout: timeout, hookTimeout: timeout });
