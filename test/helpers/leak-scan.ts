import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What the leak tests look for besides their canaries: any JWT (header and payload, base64url). */
export const JWT = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\./;

/** Every file under `dir`, however deep: the raw files a leak test reads (database, secret store, logs). */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
