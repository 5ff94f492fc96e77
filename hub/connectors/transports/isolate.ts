import { errorMessage } from '../../../kernel/index.js';
import type { OutMessage, SendOutcome } from '../transport.js';

/**
 * `err`, marked with which messages of the part the remote took before it failed (an AMQP
 * broker confirms each message on its own), so they are not sent again one by one.
 */
export function partlyTaken(err: unknown, taken: readonly boolean[]): unknown {
  if (err instanceof Error || (typeof err === 'object' && err !== null)) return Object.assign(err, { taken });
  return err;
}

function takenOf(err: unknown): readonly boolean[] | undefined {
  const taken = (err as { taken?: unknown } | null)?.taken;
  return Array.isArray(taken) ? (taken as boolean[]) : undefined;
}

/**
 * Sends a batch whole; when the remote refuses it for a reason a retry will not change, sends its
 * messages one at a time, in order, to find those it refuses, so one poison message is
 * dead-lettered and the rest still go. A failure that may pass stops there: that message and
 * those after it are tried again later.
 *
 * @param permanent names the lasting reason in an error, undefined when it may pass
 */
export async function sendIsolating(
  batch: readonly OutMessage[],
  sendAll: (part: readonly OutMessage[]) => Promise<void>,
  permanent: (err: unknown) => string | undefined,
): Promise<SendOutcome[]> {
  let taken: readonly boolean[] | undefined;
  try {
    await sendAll(batch);
    return batch.map(() => undefined);
  } catch (err) {
    const kind = permanent(err);
    if (kind === undefined) throw err;
    if (batch.length === 1) return [{ permanent: true, reason: `${kind}: ${errorMessage(err)}` }];
    taken = takenOf(err);
  }
  const outcomes: SendOutcome[] = [];
  for (const [i, message] of batch.entries()) {
    if (taken?.[i]) {
      outcomes.push(undefined);
      continue;
    }
    try {
      await sendAll([message]);
      outcomes.push(undefined);
    } catch (err) {
      const kind = permanent(err);
      if (kind === undefined) {
        const reason = errorMessage(err);
        while (outcomes.length < batch.length) outcomes.push({ permanent: false, reason });
        return outcomes;
      }
      outcomes.push({ permanent: true, reason: `${kind}: ${errorMessage(err)}` });
    }
  }
  return outcomes;
}
