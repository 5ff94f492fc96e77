// Runs the edgehub command line from the TypeScript sources, for tests that need a real process.
import { main } from '../../hub/index.js';

await main(process.argv.slice(2));
