/**
 * The Server Keep Alive (MQTT 5 §3.2.2.3.14) the hub imposes on a client, in seconds, or undefined
 * when the client's own keep-alive stands. An MQTT 5 client asking for more than `maxSeconds`, or
 * for none (0), is given `maxSeconds`. MQTT 3.1.1 has no way to tell a client, so older clients
 * keep what they asked for — including 0, which the hub never refuses.
 */
export function serverKeepAlive(
  version: number,
  requestedSeconds: number,
  maxSeconds: number,
): number | undefined {
  if (version !== 5 || maxSeconds <= 0) return undefined;
  return requestedSeconds === 0 || requestedSeconds > maxSeconds ? maxSeconds : undefined;
}
