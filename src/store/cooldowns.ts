import type { Db } from './db';

/** What a partner's members can ask for that costs Microsoft requests or the support team's attention. */
export type CooldownAction = 'recheck' | 'expiry' | 'support';

/**
 * Per partner and action, a request is let through at most once per cooldown, across instances:
 * one conditional upsert takes the slot, so two instances asked at once let one through.
 */
export class CooldownRepository {
  /** `seconds`: each action's cooldown (operator config; 0: no limit). */
  constructor(private readonly db: Db, private readonly seconds: Readonly<Record<CooldownAction, number>>) {}

  /** Takes the action's slot from now: undefined when taken, else when it is free again. */
  async take(tenantId: string, action: CooldownAction): Promise<Date | undefined> {
    const seconds = this.seconds[action];
    if (seconds <= 0) return undefined;
    const taken = await this.db.query(
      `INSERT INTO cooldowns AS c (tenant_id, action, until) VALUES ($1, $2, now() + make_interval(secs => $3::double precision))
       ON CONFLICT (tenant_id, action) DO UPDATE SET until = EXCLUDED.until WHERE c.until <= now()
       RETURNING 1`, [tenantId, action, seconds]);
    if (taken.length > 0) return undefined;
    const [r] = await this.db.query<{ until: Date | string }>('SELECT until FROM cooldowns WHERE tenant_id = $1 AND action = $2', [tenantId, action]);
    return r ? new Date(r.until) : undefined;
  }
}

