/**
 * Preloaded into a hub process a test starts (`spawnCli(args, { clockAheadMs })`): the process's wall
 * clock runs EDGEHUB_TEST_CLOCK_AHEAD_MS ahead, so time that must pass between two hub runs (a
 * message expiry counted by aedes on Date.now) passes without the test waiting for it.
 */
const aheadMs = Number(process.env.EDGEHUB_TEST_CLOCK_AHEAD_MS ?? '0');
if (aheadMs !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + aheadMs;
}
