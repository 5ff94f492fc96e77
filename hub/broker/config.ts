import { resolve } from 'node:path';
import type { HubConfig } from '../config/schema.js';
import type { BrokerOptions } from './broker.js';

/** The broker's options from the validated `mqtt:` section; file paths resolve against the working directory. */
export function brokerOptionsFromConfig(mqtt: HubConfig['mqtt']): BrokerOptions {
  const { tls, limits } = mqtt;
  const options: BrokerOptions = {
    host: mqtt.host,
    port: mqtt.port,
    wsPort: mqtt.ws_port,
    maxPacketBytes: mqtt.max_packet_bytes,
    maxKeepaliveSeconds: mqtt.max_keepalive,
    topicAliasMaximum: mqtt.topic_alias_maximum,
    limits: {
      maxConnections: limits.max_connections,
      maxInflight: limits.max_inflight,
      maxQueued: limits.max_queued,
      publishRatePerSec: limits.publish_rate,
      publishBurst: limits.publish_burst,
      maxTopicBytes: limits.max_topic_bytes,
      maxTopicLevels: limits.max_topic_levels,
    },
  };
  // The schema requires cert and key whenever a TLS port is set.
  if ((tls.port !== null || tls.ws_port !== null) && tls.cert !== undefined && tls.key !== undefined) {
    options.tls = {
      port: tls.port,
      wsPort: tls.ws_port,
      certFile: resolve(tls.cert),
      keyFile: resolve(tls.key),
      requireClientCert: tls.require_client_cert,
      ...(tls.host !== undefined && { host: tls.host }),
      ...(tls.ca !== undefined && { caFile: resolve(tls.ca) }),
    };
  }
  return options;
}
