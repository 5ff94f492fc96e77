import type { AedesOptions } from 'aedes';
import type { Mqtt5Layer } from './mqtt5-layer.js';

type LayerHooks = Pick<AedesOptions, 'preConnect' | 'authorizePublish' | 'authorizeForward'>;

/**
 * Puts the MQTT 5 layer's work in front of the broker's own aedes hooks: the keep-alive limit
 * before `preConnect`, will-only properties stripped before `authorizePublish` (which aedes also
 * calls for every will), and the client's Maximum Packet Size after `authorizeForward` allowed a
 * delivery. Hooks the layer has no part in pass through untouched.
 */
export function withMqtt5Hooks<H extends LayerHooks>(hooks: H, layer: Mqtt5Layer): H {
  const { preConnect, authorizePublish, authorizeForward } = hooks;
  return {
    ...hooks,
    preConnect: (client, packet, callback) => {
      layer.limitKeepAlive(packet);
      if (preConnect) preConnect(client, packet, callback);
      else callback(null, true);
    },
    authorizePublish: (client, packet, callback) => {
      layer.stripWillOnlyProperties(packet);
      if (authorizePublish) authorizePublish(client, packet, callback);
      else callback(null);
    },
    authorizeForward: (client, packet) => {
      const allowed = authorizeForward ? authorizeForward(client, packet) : packet;
      return allowed && layer.fitsClient(client, allowed) ? allowed : null;
    },
  };
}
