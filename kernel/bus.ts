import type { Logger } from './logger.js';

type Listener<P> = (payload: P) => void;

interface Registration {
  owner: object;
  name: PropertyKey;
  fn: Listener<never>;
}

/**
 * A typed event bus: event name → payload type. Listeners are registered by an owner and removed
 * together with it; a throwing listener is logged and never stops the others.
 */
export class TypedBus<Events extends object> {
  private readonly listeners = new Map<keyof Events, Registration[]>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof Events>(owner: object, name: K, fn: Listener<Events[K]>): void {
    const list = this.listeners.get(name) ?? [];
    list.push({ owner, name, fn: fn });
    this.listeners.set(name, list);
  }

  /** Removes every listener `owner` registered. */
  offOwner(owner: object): void {
    for (const [name, list] of this.listeners) {
      const kept = list.filter((r) => r.owner !== owner);
      if (kept.length === 0) this.listeners.delete(name);
      else this.listeners.set(name, kept);
    }
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const list = this.listeners.get(name);
    if (!list) return;
    for (const r of list) {
      try {
        (r.fn as Listener<Events[K]>)(payload);
      } catch (err) {
        this.logger.error(`listener for ${String(name)} threw`, {
          owner: r.owner.constructor.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.length ?? 0;
  }
}
