import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { NetNamespace } from './netns.js';
import {
  cacheDir,
  ensureDebianPackages,
  freePort,
  startServer,
  tempDir,
  type ServerHandle,
} from './server-process.js';

/**
 * The Kafka broker the tests run. 4.x dropped the oldest protocol versions (KIP-896), but each API
 * kafkajs 2.2.4 uses still has a version both sides speak (Produce v3-7, Fetch v4-11, Metadata v4-6,
 * JoinGroup v2-5, …), so producing, consumer groups and admin work; test/servers.test.ts proves it.
 */
export const KAFKA_VERSION = '4.1.1';
const SLF4J_VERSION = '2.0.17';

/**
 * Kafka's jars and their runtime dependencies, fetched from Maven Central once into the cache, with
 * an SLF4J binding so the broker logs (slf4j-api named here too: Kafka brings 1.7, which finds no
 * 2.x binding and logs nothing); Java and Maven from Debian when missing. Built in a temporary
 * folder under a lock and renamed into place, so an interrupted download is never taken for a
 * finished one. Returns the folder of jars.
 */
export function ensureKafka(): string {
  const cache = cacheDir();
  const jars = join(cache, `kafka-${KAFKA_VERSION}-slf4j-${SLF4J_VERSION}`);
  ensureDebianPackages(['openjdk-17-jre-headless'], ['java']);
  if (existsSync(join(jars, '.complete'))) return jars;
  ensureDebianPackages(['maven'], ['mvn']);
  mkdirSync(cache, { recursive: true });
  const work = `${jars}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>edgehub.tests</groupId><artifactId>kafka-server</artifactId><version>1</version><dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${SLF4J_VERSION}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>${SLF4J_VERSION}</version></dependency>
</dependencies></project>`,
  );
  const script =
    `test -f "${jars}/.complete" || (cd "${work}" && ` +
    `mvn -q -B dependency:copy-dependencies -DoutputDirectory="${work}/lib" -DincludeScope=runtime && ` +
    `touch "${work}/lib/.complete" && rm -rf "${jars}" && mv "${work}/lib" "${jars}")`;
  const run = spawnSync('flock', [join(cache, 'kafka.lock'), 'sh', '-c', script], { encoding: 'utf8' });
  rmSync(work, { recursive: true, force: true });
  if (!existsSync(join(jars, '.complete')))
    throw new Error(
      `the Kafka tests need Kafka ${KAFKA_VERSION}'s jars from Maven Central, and fetching them with ` +
        `Maven failed: ${(run.error?.message ?? run.stdout + run.stderr).slice(-800)}`,
    );
  return jars;
}

export interface KafkaOptions {
  /** num.partitions of auto-created topics and the default of createTopic(); 3 unless given. */
  partitions?: number;
  /** auto.create.topics.enable; true unless given. */
  autoCreateTopics?: boolean;
  /** Runs it inside this namespace, listening on the namespace's address unless `host` says otherwise. */
  netns?: NetNamespace;
  /** The address to listen on; 127.0.0.1 by default. */
  host?: string;
  /**
   * Adds a SASL_PLAINTEXT listener on a port of its own that lets in only this user, by SASL/PLAIN
   * (no ACLs: once in, it may do anything). The PLAINTEXT listener stays, for the test's own clients.
   */
  sasl?: { username: string; password: string };
}

export interface KafkaHandle extends ServerHandle {
  /** kafkajs's `brokers`: the PLAINTEXT listener, no credentials needed. */
  brokers: string[];
  /** The SASL_PLAINTEXT listener's `brokers`, when started with `sasl`. */
  saslBrokers?: string[];
  /** Creates a topic with `partitions` partitions (replication 1) and waits for its leaders. */
  createTopic(topic: string, partitions?: number): Promise<void>;
}

/** Creates `topic` with `partitions` partitions (replication 1) and waits until each has a leader. */
export async function createKafkaTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * A single-node KRaft broker (broker and controller in one JVM, 512 MB heap at most) on free
 * ports, its storage formatted in a fresh temporary folder and kept across restart().
 */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaHandle> {
  const saslLines = options.sasl ? saslProperties(options.sasl) : [];
  const jars = ensureKafka();
  const host = options.host ?? options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const controller = await freePort();
  const saslPort = options.sasl ? await freePort() : undefined;
  const sasl = saslPort === undefined ? '' : `,SASL_PLAINTEXT://${host}:${saslPort}`;
  const dir = tempDir('edgehub-kafka-');
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${host}:${controller}`,
      `listeners=PLAINTEXT://${host}:${port}${sasl},CONTROLLER://${host}:${controller}`,
      `advertised.listeners=PLAINTEXT://${host}:${port}${sasl}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      ...saslLines,
      `log.dirs=${join(dir, 'data')}`,
      `num.partitions=${options.partitions ?? 3}`,
      `auto.create.topics.enable=${options.autoCreateTopics ?? true}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  const classpath = `${jars}/*`;
  const format = spawnSync(
    'java',
    ['-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId()}`, '-c', properties],
    { encoding: 'utf8' },
  );
  if (format.status !== 0)
    throw new Error(
      `formatting Kafka's storage failed: ${format.error?.message ?? format.stderr + format.stdout}`,
    );
  const brokers = [`${host}:${port}`];
  const probeClient = new Kafka({
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
    requestTimeout: 3000,
  });
  const handle = await startServer({
    name: 'kafka',
    host,
    port,
    dir,
    command: 'java',
    args: [
      '-Xmx512m',
      '-Xms128m',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      // Its one line at start-up that says the broker is up, which the harness waits for.
      '-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info',
      '-cp',
      classpath,
      'kafka.Kafka',
      properties,
    ],
    netns: options.netns,
    startTimeoutMs: 120_000,
    readyLine: /Kafka Server started/,
    ready: async () => {
      const admin = probeClient.admin();
      try {
        await admin.connect();
        await admin.listTopics();
        return true;
      } finally {
        await admin.disconnect();
      }
    },
  });
  return Object.assign(handle, {
    brokers,
    ...(saslPort !== undefined && { saslBrokers: [`${host}:${saslPort}`] }),
    createTopic: (topic: string, partitions = options.partitions ?? 3) =>
      createKafkaTopic(brokers, topic, partitions),
  });
}

/**
 * The SASL_PLAINTEXT listener's settings: PLAIN only, its one user in the JAAS line
 * (`user_<name>="<password>"`). The broker's own traffic stays on PLAINTEXT, so it needs no login.
 */
function saslProperties(user: { username: string; password: string }): string[] {
  // A JAAS option is `key="value"`; a name or password that needs quoting is a test's mistake.
  if (!/^[\w.-]+$/.test(user.username) || /["\\\n;]/.test(user.password))
    throw new Error('a Kafka SASL user name is letters, digits, _ . -; a password has no " \\ ; or newline');
  return [
    'listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config=' +
      'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
      `user_${user.username}="${user.password}";`,
  ];
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding. */
/** A random cluster id; it may start with '-', so it is passed as `--cluster-id=ID`, never as a word of its own. */
function clusterId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64url');
}
