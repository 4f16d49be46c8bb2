import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationState, type Activity } from 'botbuilder';
import type { PartnerBotDeps } from '../../src/bot/partner-bot';
import { createLogger } from '../../src/logger';
import { OutboxMailer } from '../../src/mail/mailer';
import { EmailVerificationService } from '../../src/onboarding/email-verification';
import { SqlStorage } from '../../src/store/bot-storage';
import { ConversationReferenceRepository } from '../../src/store/conversation-references';
import type { Db } from '../../src/store/db';
import { PartnerRepository } from '../../src/store/partners';
import { LocalSecretStore } from '../../src/store/secrets/local-secret-store';

/**
 * The bot's dependencies on a test database, wired as src/app.ts wires them, for tests that drive
 * the bot in-process with botbuilder's TestAdapter. The Teams roster lookup (a connector call the
 * TestAdapter cannot answer) and proactive sends are the edges given here: `identity` plays what
 * Teams would say, `notified` records what would have been sent.
 */
export function botDeps(db: Db, identity: { email?: string; userPrincipalName?: string } | undefined = undefined): PartnerBotDeps & { outboxDir: string; notified: Array<{ conversationId: string; activity: Partial<Activity> }> } {
  const { logger, redactor } = createLogger({ level: 'silent' });
  const partners = new PartnerRepository(db);
  const outboxDir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const verification = new EmailVerificationService(db, partners, new OutboxMailer(outboxDir), randomBytes(32), 'http://localhost:3978');
  // TestAdapter has no connector to speak first through: proactive sends are recorded instead.
  const notified: Array<{ conversationId: string; activity: Partial<Activity> }> = [];
  return {
    notifier: { send: async (_tenantId, conversationId, activity) => { notified.push({ conversationId, activity }); return true; } },
    notified,
    conversationState: new ConversationState(new SqlStorage(db)),
    references: new ConversationReferenceRepository(db),
    secrets: new LocalSecretStore(db, randomBytes(32), redactor),
    onboarding: { partners, verification, logger, teamsIdentity: async () => identity },
    logger,
    outboxDir,
  };
}
