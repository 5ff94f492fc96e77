import { describe, expect, it } from 'vitest';
import type { EdgehubError } from '../../kernel/index.js';
import { EdgehubErrors } from '../../kernel/index.js';
import { parseAclFile, SubjectAcl } from './acl.js';
import { filterCovers, filtersOverlap, topicMatches } from '../../kernel/index.js';

const ACL = `# anonymous clients (no username)
topic read public/#

user admin
topic readwrite #
topic deny secrets/#

user gh-1
topic write sensors/gh-1/#
topic read actuators/gh-1/#

# every client
pattern readwrite devices/%c/#
pattern read users/%u/inbox
`;

const subject = (username: string | undefined, clientId = 'c1'): SubjectAcl =>
  new SubjectAcl(parseAclFile('acl', ACL), { username, clientId });

describe('topic matching', () => {
  it('matches filters as MQTT does, keeping $ topics away from leading wildcards', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });

  it('knows when one filter covers or overlaps another', () => {
    expect(filterCovers('sensors/#', 'sensors/+/temperature')).toBe(true);
    expect(filterCovers('sensors/+/temperature', 'sensors/#')).toBe(false);
    expect(filterCovers('a/+', 'a/b')).toBe(true);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
    expect(filtersOverlap('sensors/+/temperature', '#')).toBe(true);
    expect(filtersOverlap('a/b', 'c/#')).toBe(false);
    expect(filtersOverlap('a/+/c', 'a/b/+')).toBe(true);
  });
});

describe('ACL file', () => {
  it('applies topic lines before any user to anonymous clients only', () => {
    expect(subject(undefined).mayRead('public/news')).toBe(true);
    expect(subject(undefined).mayWrite('public/news')).toBe(false);
    expect(subject('gh-1').mayRead('public/news')).toBe(false);
  });

  it("applies a user's lines to that user, with deny winning over a wider allow", () => {
    expect(subject('admin').mayWrite('anything/at/all')).toBe(true);
    expect(subject('admin').mayRead('secrets/keys')).toBe(false);
    expect(subject('gh-1').mayWrite('sensors/gh-1/temperature')).toBe(true);
    expect(subject('gh-1').mayWrite('sensors/gh-2/temperature')).toBe(false);
    expect(subject('gh-1').mayRead('sensors/gh-1/temperature')).toBe(false);
  });

  it('expands %c and %u in patterns for every client, skipping %u ones without a username', () => {
    expect(subject('gh-1', 'node-7').mayWrite('devices/node-7/state')).toBe(true);
    expect(subject('gh-1', 'node-7').mayWrite('devices/node-8/state')).toBe(false);
    expect(subject('gh-1').mayRead('users/gh-1/inbox')).toBe(true);
    expect(subject(undefined).mayRead('users//inbox')).toBe(false);
  });

  it('gives no pattern rules to a client whose id or username could widen them', () => {
    expect(subject('gh-1', '#').mayWrite('devices/#/x')).toBe(false);
    expect(subject('a/b', 'c').mayRead('users/a/b/inbox')).toBe(false);
  });

  it('grants a subscription that can see something readable and refuses one a deny covers', () => {
    expect(subject('gh-1').maySubscribe('actuators/gh-1/+')).toBe(true);
    expect(subject('gh-1').maySubscribe('#')).toBe(true);
    expect(subject('gh-1').maySubscribe('actuators/gh-2/fan')).toBe(false);
    expect(subject('admin').maySubscribe('secrets/+/x')).toBe(false);
    expect(subject('admin').maySubscribe('#')).toBe(true);
  });

  it('reports every bad line with file, line and column', () => {
    let caught: unknown;
    try {
      parseAclFile('acl.conf', 'topic read a/#\nuser\ntopic sometimes a/b\n  tpoic a\ntopic read a/#/b\n');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EdgehubErrors);
    const errors = (caught as EdgehubErrors).errors.map((e) => e.message);
    expect(errors).toEqual([
      'acl.conf:2:1: user needs a name',
      'acl.conf:3:1: unknown access "sometimes"; expected read, write, readwrite or deny',
      'acl.conf:4:3: unknown keyword "tpoic"; expected user, topic or pattern',
      'acl.conf:5:1: "#" must be a whole level and the last one (in a/#/b)',
    ]);
    expect((caught as EdgehubError).code).toBe('ACL_FILE_INVALID');
  });

  it('reads `topic FILTER` alone as readwrite, as Mosquitto does', () => {
    const acl = new SubjectAcl(parseAclFile('acl', 'topic a/b\n'), { username: undefined, clientId: 'x' });
    expect(acl.mayRead('a/b') && acl.mayWrite('a/b')).toBe(true);
  });
});
