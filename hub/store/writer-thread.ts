import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort, Transferable, Worker } from 'node:worker_threads';
import { EdgehubError } from '../../kernel/index.js';
import { startWorker } from '../start-worker.js';
import type { WriterInit, WriterReply, WriterRequest } from './writer-protocol.js';

/** A request that carries an id and is answered by a reply with the same id. */
type Call = Extract<WriterRequest, { id: number }>;
type Answer = Extract<WriterReply, { id: number }>;

export interface WriterThreadEvents {
  /** Every reply, in order, whether read by the event loop or by a synchronous call. */
  reply(reply: WriterReply): void;
  /** The thread ended without being asked to (a crash); `error` when it threw. */
  exit(code: number, error: Error | undefined): void;
}

/** ms a synchronous call waits for the writer before giving up (a hung disk, a dead thread). */
const SYNC_TIMEOUT_MS = 30_000;

/**
 * The main thread's handle on the writer thread: posts requests, and answers them either
 * asynchronously or synchronously (the caller blocks in `Atomics.wait` until the writer's reply
 * arrives, reading it from the reply port without the event loop).
 */
export class WriterThread {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly signal: Int32Array;
  private nextId = 1;
  /** Answers read during a synchronous call, by id. */
  private readonly answers = new Map<number, Answer>();
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private ending = false;
  /** Set when the thread reported it could not load. */
  private crashed: string | undefined;
  private exited: Promise<void>;

  constructor(
    init: Omit<WriterInit, 'replies' | 'signal'>,
    private readonly events: WriterThreadEvents,
  ) {
    const channel = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.signal = new Int32Array(signal);
    this.replies = channel.port1;
    const data: WriterInit = { ...init, replies: channel.port2, signal };
    this.worker = spawnWriter(data, [channel.port2]);
    this.replies.on('message', (reply: WriterReply) => this.dispatch(reply));
    let firstError: Error | undefined;
    this.worker.on('error', (err) => (firstError ??= err));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.replies.close();
        if (!this.ending) this.events.exit(code, firstError);
        resolve();
      });
    });
  }

  post(request: WriterRequest, transfer: readonly Transferable[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  /** Sends a request and resolves with its answer. */
  request<A extends Answer>(make: (id: number) => Call): Promise<A> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, (answer) => resolve(answer as A));
      this.post(make(id));
    });
  }

  /** Sends a request and blocks the calling thread until its answer arrives. */
  call<A extends Answer>(make: (id: number) => Call, timeoutMs = SYNC_TIMEOUT_MS): A {
    const id = this.nextId++;
    this.answers.delete(id);
    this.waiting.set(id, (answer) => this.answers.set(id, answer));
    this.post(make(id));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      this.drain();
      const answer = this.answers.get(id);
      if (answer) {
        this.answers.delete(id);
        return answer as A;
      }
      const left = deadline - performance.now();
      if (this.crashed !== undefined) {
        this.waiting.delete(id);
        throw new EdgehubError('STORE_WRITE_FAILED', `the event writer thread failed: ${this.crashed}`);
      }
      if (left <= 0) {
        this.waiting.delete(id);
        throw new EdgehubError(
          'STORE_WRITE_FAILED',
          `the event writer thread did not answer within ${timeoutMs} ms; is the disk hung?`,
        );
      }
      Atomics.wait(this.signal, 0, seen, left);
    }
  }

  /** Ends the thread; resolves once it has exited. */
  terminate(): Promise<void> {
    this.ending = true;
    void this.worker.terminate();
    return this.exited;
  }

  /** Reads every reply already queued, without the event loop. */
  private drain(): void {
    for (;;) {
      const next = receiveMessageOnPort(this.replies) as { message: WriterReply } | undefined;
      if (!next) return;
      this.dispatch(next.message);
    }
  }

  private dispatch(reply: WriterReply): void {
    if (reply.t === 'crashed') this.crashed = reply.message;
    this.events.reply(reply);
    if ('id' in reply) {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.(reply);
    }
  }
}

/** Starts the writer thread; a module that cannot load says so on the reply port. */
function spawnWriter(data: WriterInit, transfer: Transferable[]): Worker {
  const options = { workerData: data, transferList: transfer, name: 'edgehub-store-writer' };
  // A main thread blocked in a synchronous call cannot see the 'error' event: say so on the port.
  const onBootFailure = [
    `    workerData.replies.postMessage({ t: 'crashed', message: String(err && err.message || err) });`,
    `    const signal = new Int32Array(workerData.signal);`,
    `    Atomics.add(signal, 0, 1);`,
    `    Atomics.notify(signal, 0);`,
  ].join('\n');
  return startWorker(import.meta.url, 'writer-worker', options, onBootFailure);
}
