/**
 * The replicas of a data-parallel joint run as worker_threads see each other: one
 * SharedArrayBuffer slot of floats per replica and a barrier on Atomics (BatchPeers in
 * src/core/train/dataParallel.ts).
 */
import { StudioError } from '../../core/errors.ts';
import type { BatchPeers } from '../../core/train/dataParallel.ts';

/** Control words: arrivals at the barrier, its generation, the abort flag. */
const ARRIVED = 0;
const GENERATION = 1;
const ABORT = 2;
export const CONTROL_WORDS = 4;

/** The shared memory of a run with `size` replicas and slots of `capacity` floats. */
export interface SharedPeerMemory {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  capacity: number;
  size: number;
}

export function allocatePeerMemory(size: number, capacity: number): SharedPeerMemory {
  return {
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    slots: new SharedArrayBuffer(size * capacity * 4),
    capacity,
    size,
  };
}

/** Wakes every replica waiting at the barrier and makes them fail (a replica failed, or the run was cancelled). */
export function abortPeers(mem: SharedPeerMemory): void {
  const c = new Int32Array(mem.control);
  Atomics.store(c, ABORT, 1);
  Atomics.add(c, GENERATION, 0);
  Atomics.notify(c, GENERATION);
}

/** The error a replica throws when another one failed: not the cause, only its echo. */
export class PeerAborted extends StudioError {
  constructor() {
    super({ code: 'cancelled', message: 'data-parallel training stopped: another worker failed or the run was cancelled' });
  }
}

export class SharedPeers implements BatchPeers {
  readonly size: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array[];

  constructor(readonly rank: number, private readonly mem: SharedPeerMemory) {
    this.size = mem.size;
    this.control = new Int32Array(mem.control);
    this.slots = Array.from({ length: mem.size }, (_, r) => new Float32Array(mem.slots, r * mem.capacity * 4, mem.capacity));
  }

  allSum(local: Float32Array): Float32Array {
    const n = local.length;
    if (n > this.mem.capacity) throw new StudioError({ code: 'internal', message: `data-parallel exchange of ${n} floats exceeds the shared slot of ${this.mem.capacity}` });
    this.slots[this.rank].set(local);
    this.barrier();
    const out = this.slots[0].slice(0, n);
    for (let r = 1; r < this.size; r++) {
      const s = this.slots[r];
      for (let i = 0; i < n; i++) out[i] += s[i];
    }
    // nobody refills its slot before every replica has read them all
    this.barrier();
    return out;
  }

  /** Blocks until every replica has arrived; throws when the run was aborted. */
  private barrier(): void {
    const c = this.control;
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, ARRIVED, 1) === this.size - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    while (Atomics.load(c, GENERATION) === generation) {
      if (Atomics.load(c, ABORT) !== 0) throw new PeerAborted();
      // a timeout, so the abort flag is seen even if a notify is missed
      Atomics.wait(c, GENERATION, generation, 250);
    }
    if (Atomics.load(c, ABORT) !== 0) throw new PeerAborted();
  }
}
