// Applies database migrations and exits: `npm run migrate` (same config as the bot).
import { databaseTarget } from '../src/app';
import { loadConfig, readEnvironment } from '../src/config';
import { isAppError } from '../src/errors';
import { openDatabase } from '../src/store/db';
import { migrate } from '../src/store/migrate';

async function main(): Promise<void> {
  const config = loadConfig(readEnvironment());
  const db = await openDatabase(databaseTarget(config));
  try {
    const applied = await migrate(db);
    console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(isAppError(err) ? err.message : err);
  process.exit(isAppError(err, 'config_invalid') ? 2 : 1);
});
