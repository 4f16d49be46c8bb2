import type { CustomerSync, CustomerSyncRepository } from '../store/customer-syncs';

/**
 * Starting and stopping syncs: one per partner at a time, across instances (the database's unique
 * index on running syncs). A second start (another instance, a double click, the nightly timer)
 * attaches to the running one. `enqueue` hands a sync to the job engine (idempotent there).
 */
export class CustomerSyncService {
  constructor(private readonly syncs: CustomerSyncRepository, private readonly enqueue: (syncId: string) => Promise<void>) {}

  async start(tenantId: string, trigger: CustomerSync['trigger'], requestedBy: string, conversationId?: string): Promise<{ sync: CustomerSync; created: boolean }> {
    const started = await this.syncs.start(tenantId, trigger, requestedBy, conversationId);
    // Attaching sends the job again too: a start whose process died before it reached the engine is picked up here.
    await this.enqueue(started.sync.id);
    return started;
  }

  async cancel(tenantId: string): Promise<CustomerSync | undefined> {
    return this.syncs.requestCancel(tenantId);
  }
}
