import { describe, expect, it } from 'vitest';
import { topicMatches } from '../../../kernel/index.js';
import {
  deliveryKey,
  deliveryTopic,
  memberFilter,
  parseShare,
  readDelivery,
  readMemberFilter,
} from './shared-topics.js';

describe('shared subscription topics', () => {
  it('keeps group and client apart in one level, whatever they hold', () => {
    const clientId = 'pool/worker+1#~%';
    const filter = memberFilter(clientId, { group: 'g~1', filter: 'sensors/+/temperature' });
    expect(filter.split('/')).toHaveLength(6);
    expect(readMemberFilter(filter)).toEqual({ group: 'g~1', clientId, filter: 'sensors/+/temperature' });

    const key = deliveryKey('g~1', clientId, 42);
    const topic = deliveryTopic(key, 'sensors/gh-1/temperature');
    expect(topicMatches(filter, topic)).toBe(true);
    expect(readDelivery(topic)).toEqual({ group: 'g~1', clientId, key, topic: 'sensors/gh-1/temperature' });
    // Another member of the same group does not match it.
    expect(topicMatches(memberFilter('other', { group: 'g~1', filter: '#' }), topic)).toBe(false);
    // Nor does any ordinary subscription: `#` and `+` do not match `$` topics.
    expect(topicMatches('#', topic)).toBe(false);
  });

  it('reads $share/<group>/<filter> and says what is wrong with a bad one', () => {
    expect(parseShare('$share/workers/jobs/#')).toEqual({ group: 'workers', filter: 'jobs/#' });
    expect(parseShare('$share/workers')).toMatch(/no topic filter/);
    expect(parseShare('$share//jobs')).toMatch(/share name/);
    expect(parseShare('$share/w/$edgehub-share/x')).toMatch(/hub's own/);
  });
});
