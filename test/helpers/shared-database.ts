import { createApp, type App, type AppOptions } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ConsentHarness } from '../auth/consent-harness';
import { startSimulator, type Simulator } from '../simulator/server';
import { ownSchema, TEST_DATABASE_URL } from './databases';

/** The production shape in one process: a harness app and more bot instances on one PostgreSQL schema. */
export interface SharedDatabase {
  readonly sim: Simulator;
  readonly h: ConsentHarness;
  /** Another instance of the bot on the same database and data dir (its secret store key), its jobs working. */
  instance(): Promise<App>;
  /** The instances made so far, oldest first. */
  readonly instances: readonly App[];
  /** Stops every instance made so far (a restart of the fleet). */
  stopInstances(): Promise<void>;
}

/**
 * Registers the suite's before/after hooks: the simulator, a schema of its own, the harness app on
 * it, and every instance made by `instance()` stopped afterwards. Use inside a `describe` that runs
 * only with TEST_DATABASE_URL.
 */
export function sharedDatabase(schemaName: string, appOptions: AppOptions): SharedDatabase {
  let sim: Simulator | undefined;
  let h: ConsentHarness | undefined;
  let schema: Awaited<ReturnType<typeof ownSchema>> | undefined;
  const instances: App[] = [];
  before(async () => {
    sim = await startSimulator({ scenario: 'healthy', randomThrottling: false });
    schema = await ownSchema(TEST_DATABASE_URL!, schemaName);
    h = await ConsentHarness.start('healthy', { sim, env: { DATABASE_URL: schema.url, SYNC_NIGHTLY_AT: 'off' } });
  });
  const stopInstances = async () => { for (const app of instances.splice(0)) await app.stop(); };
  after(async () => {
    await stopInstances();
    await h?.stop();
    await schema?.drop();
    await sim?.stop();
  });
  return {
    get sim() { return sim!; },
    get h() { return h!; },
    instances,
    stopInstances,
    async instance() {
      const { logger, redactor } = createLogger({ level: 'silent' });
      const app = await createApp(loadConfig(h!.env), logger, redactor, appOptions);
      instances.push(app);
      await app.start(0);
      return app;
    },
  };
}
