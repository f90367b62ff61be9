/**
 * What the panel sends to its webview, and when: posts wait until the webview says `ready`; then the latest snapshot
 * goes alone (it already holds every queued point), then anything else in order; live points are batched (one message
 * per `batchMs`). Pure: the panel gives it `post` and a timer, so the unit tests run it without VS Code.
 */
import type { PointRow } from './chartSpec';
import { PointsMessage, SnapshotMessage, type SweepView } from './messages';

export interface Timer {
  set(f: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export class Outbox {
  private ready = false;
  private queue: unknown[] = [];
  private snapshot: SweepView | undefined;
  private pending: PointRow[] = [];
  private pendingStatus = '';
  private pendingValidation = false;
  private flushHandle: unknown;

  constructor(private readonly post: (m: unknown) => void, private readonly timer: Timer, private readonly batchMs = 100) {}

  /** The webview's listeners are attached. */
  onReady() {
    this.ready = true;
    if (this.snapshot) this.queue = [SnapshotMessage.make(this.snapshot), ...this.queue.filter((q) => !SnapshotMessage.is(q) && !PointsMessage.is(q))];
    for (const q of this.queue.splice(0)) this.post(q);
  }

  send(message: unknown) {
    if (this.ready) this.post(message);
    else this.queue.push(message);
  }

  /** Replace the whole view (a sweep started, ended or the panel was restored). */
  setView(view: SweepView) {
    this.flush();
    this.snapshot = view;
    this.send(SnapshotMessage.make(view));
  }

  /** Live points, batched. */
  pushPoints(rows: PointRow[], statusText: string, showValidation: boolean) {
    this.pending.push(...rows);
    this.pendingStatus = statusText;
    this.pendingValidation ||= showValidation;
    if (this.snapshot) {
      // Kept current for a late `ready` (the snapshot then carries them); postMessage clones, so this is safe.
      this.snapshot.rows.push(...rows);
      this.snapshot.statusText = statusText;
      this.snapshot.showValidation ||= showValidation;
    }
    this.flushHandle ??= this.timer.set(() => this.flush(), this.batchMs);
  }

  flush() {
    if (this.flushHandle !== undefined) { this.timer.clear(this.flushHandle); this.flushHandle = undefined; }
    if (!this.pending.length) return;
    this.send(PointsMessage.make({ rows: this.pending, statusText: this.pendingStatus, showValidation: this.pendingValidation }));
    this.pending = [];
  }

  get current(): SweepView | undefined {
    return this.snapshot;
  }

  dispose() {
    if (this.flushHandle !== undefined) this.timer.clear(this.flushHandle);
  }
}
