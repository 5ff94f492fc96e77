import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

/**
 * The Kafka broker the tests run: 4.x, which dropped the oldest protocol versions; kafkajs 2.2.4
 * still finds versions it speaks for producing (idempotent, acks=all), consumer groups and admin.
 */
export const KAFKA_VERSION = '4.1.1';
const SLF4J_VERSION = '2.0.17';

const CACHE = join(homedir(), '.cache', 'edgehub-tests');

/**
 * Kafka's jars and their dependencies, from Maven Central into the cache (once), with an SLF4J
 * binding so the broker logs. Built in a temporary folder and renamed, so an interrupted download
 * is never taken for a finished one.
 */
export function kafkaJars(): string {
  const jars = join(CACHE, `kafka-${KAFKA_VERSION}`);
  if (existsSync(join(jars, '.complete'))) return jars;
  if (spawnSync('mvn', ['-v']).status !== 0)
    throw new Error(
      'the Kafka tests need Maven (apt-get install maven) and Java 17 to fetch and run the broker',
    );
  mkdirSync(CACHE, { recursive: true });
  const work = `${jars}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>edgehub.tests</groupId><artifactId>kafka-server</artifactId><version>1</version><dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>${SLF4J_VERSION}</version></dependency>
</dependencies></project>`,
  );
  const script = `test -f ${jars}/.complete || (cd ${work} && mvn -q -B dependency:copy-dependencies -DoutputDirectory=${work}/lib -DincludeScope=runtime && touch ${work}/lib/.complete && rm -rf ${jars} && mv ${work}/lib ${jars})`;
  const run = spawnSync('flock', [join(CACHE, 'kafka.lock'), 'sh', '-c', script], { encoding: 'utf8' });
  rmSync(work, { recursive: true, force: true });
  if (!existsSync(join(jars, '.complete')))
    throw new Error(
      `fetching Kafka ${KAFKA_VERSION} from Maven Central failed: ${(run.stdout + run.stderr).slice(-800)}`,
    );
  return jars;
}

export interface KafkaHandle extends ServerHandle {
  brokers: string[];
  /** Creates a topic with `partitions` partitions (replication 1). */
  createTopic(topic: string, partitions?: number): Promise<void>;
}

/** A single-node KRaft broker on free loopback ports, its log in a temporary folder. */
export async function startKafka(
  options: { partitions?: number; autoCreateTopics?: boolean } = {},
): Promise<KafkaHandle> {
  const jars = kafkaJars();
  const port = await freePort();
  const controller = await freePort();
  const dir = tempDir('edgehub-kafka-');
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
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
    ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties],
    { encoding: 'utf8' },
  );
  if (format.status !== 0)
    throw new Error(`formatting Kafka's storage failed: ${format.stderr || format.stdout}`);
  const brokers = [`127.0.0.1:${port}`];
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const handle = await startServer({
    name: 'kafka',
    port,
    dir,
    command: 'java',
    args: [
      '-Xmx512m',
      '-Xms128m',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      classpath,
      'kafka.Kafka',
      properties,
    ],
    startTimeoutMs: 90_000,
    ready: async () => {
      const admin = kafka.admin();
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
    createTopic: async (topic: string, partitions = options.partitions ?? 3) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    },
  });
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding. */
function clusterId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64url');
}
