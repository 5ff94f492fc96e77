/**
 * How a shared subscription (`$share/<group>/<filter>`, MQTT 5 §4.8.2) travels inside the hub.
 * aedes has no shared subscriptions, so a member's subscription is kept under a private root, one
 * per member: `$edgehub-share/<member>/+/<filter>`, where `<member>` names the group and the client
 * (escaped to one topic level). The hub's dispatcher takes each message matching `<filter>` once and
 * republishes it to one member as `$edgehub-share/<member>/<seq>/<topic>`; the connection layer puts
 * `<topic>` back before the client sees it. `$`-topics are not matched by `#` or `+`, so no other
 * subscription (and no event consumer of the hub) sees these republished copies.
 */
export const SHARE_ROOT = '$edgehub-share';

const SHARE_PREFIX = '$share/';

/** A `$share/<group>/<filter>` as a client writes it. */
export interface ShareRequest {
  readonly group: string;
  readonly filter: string;
}

/** A member filter or delivery topic read back. */
export interface MemberLevel {
  readonly group: string;
  readonly clientId: string;
}

export interface Delivery extends MemberLevel {
  /** The member level and sequence, which the dispatcher's acknowledgement tracking keys on. */
  readonly key: string;
  readonly topic: string;
}

export function isShareFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/** Reads `$share/<group>/<filter>`; a string says why it is not a valid one (MQTT 5 §4.8.2). */
export function parseShare(filter: string): ShareRequest | string {
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  const group = slash < 0 ? rest : rest.slice(0, slash);
  if (group === '' || /[+#]/.test(group))
    return `shared subscription ${filter}: the share name must be one or more characters other than / + #`;
  const inner = slash < 0 ? '' : rest.slice(slash + 1);
  if (inner === '') return `shared subscription ${filter}: no topic filter after the share name`;
  if (inner.startsWith(SHARE_ROOT)) return `shared subscription ${filter}: ${SHARE_ROOT} is the hub's own`;
  return { group, filter: inner };
}

/** The subscription aedes holds for one member of a share. */
export function memberFilter(clientId: string, share: ShareRequest): string {
  return `${SHARE_ROOT}/${memberLevel(share.group, clientId)}/+/${share.filter}`;
}

/** What names one delivery to one member, as {@link readDelivery} reads it back. */
export function deliveryKey(group: string, clientId: string, seq: number): string {
  return `${memberLevel(group, clientId)}/${seq}`;
}

/** The topic one member receives a delivery on. */
export function deliveryTopic(key: string, topic: string): string {
  return `${SHARE_ROOT}/${key}/${topic}`;
}

export function isSharedTopic(topicOrFilter: string): boolean {
  return topicOrFilter.startsWith(SHARE_ROOT);
}

const SHARE_ROOT_BYTES = Buffer.from(`${SHARE_ROOT}/`);

/** {@link isSharedTopic} on a topic's bytes inside a packet, without decoding them (the hot path). */
export function isSharedTopicAt(bytes: Buffer, start: number, end: number): boolean {
  const n = SHARE_ROOT_BYTES.length;
  return (
    end - start > n && bytes[start] === 0x24 && bytes.compare(SHARE_ROOT_BYTES, 0, n, start, start + n) === 0
  );
}

/** A member filter as {@link memberFilter} wrote it, with the share's own filter; undefined otherwise. */
export function readMemberFilter(filter: string): (MemberLevel & { filter: string }) | undefined {
  const parts = splitShared(filter);
  if (!parts || parts.seq !== '+') return undefined;
  return { ...parts.member, filter: parts.rest };
}

/** A delivery topic as {@link deliveryTopic} wrote it; undefined for any other topic. */
export function readDelivery(topic: string): Delivery | undefined {
  const parts = splitShared(topic);
  if (!parts || !/^\d+$/.test(parts.seq)) return undefined;
  return { ...parts.member, key: `${parts.level}/${parts.seq}`, topic: parts.rest };
}

function splitShared(
  text: string,
): { level: string; member: MemberLevel; seq: string; rest: string } | undefined {
  if (!text.startsWith(`${SHARE_ROOT}/`)) return undefined;
  const [level, seq, ...rest] = text.slice(SHARE_ROOT.length + 1).split('/');
  if (level === undefined || seq === undefined || rest.length === 0) return undefined;
  const tilde = level.indexOf('~');
  if (tilde < 0) return undefined;
  const member = { group: unescape(level.slice(0, tilde)), clientId: unescape(level.slice(tilde + 1)) };
  return { level, member, seq, rest: rest.join('/') };
}

/** One topic level naming group and client, with `/ + # ~ %` %-escaped. */
function memberLevel(group: string, clientId: string): string {
  return `${escapeLevel(group)}~${escapeLevel(clientId)}`;
}

function escapeLevel(text: string): string {
  return text.replace(/[/+#~%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function unescape(text: string): string {
  return text.replace(/%([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
