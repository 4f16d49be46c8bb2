import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Mail, Mailer } from '../../src/microsoft/mailer';
import {
  CODE_TTL_MS, DAILY_GUESSES_PER_TENANT, DAILY_SENDS_PER_ADDRESS, EmailVerificationService, LINK_TTL_MS, LOCK_MS, RESEND_INTERVAL_MS,
} from '../../src/onboarding/email-verification';
import type { Db } from '../../src/store/db';
import { EmailVerificationRepository } from '../../src/store/email-verifications';
import { PartnerRepository } from '../../src/store/partners';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';

announcePostgresSkip();

/** The mail edge: what would have been sent, or a mail server that is down. */
class CapturingMailer implements Mailer {
  readonly kind = 'outbox' as const;
  readonly sent: Mail[] = [];
  down = false;
  async send(mail: Mail): Promise<void> {
    if (this.down) throw new Error('mail server unreachable');
    this.sent.push(mail);
  }
  last(): { code: string; token: string } {
    const text = this.sent[this.sent.length - 1]!.text;
    return { code: text.match(/code in the Teams chat: (\d{6})/)![1]!, token: text.match(/token=([A-Za-z0-9_-]{43})/)![1]! };
  }
}

const ACTOR = { aadObjectId: '00000000-0000-4000-8000-0000000000aa', name: 'Megan Bowen' };
const contact = (email: string) => ({ firstName: 'Adele', lastName: 'Vance', email, phone: '+49301234567', role: '' });

for (const target of databasesUnderTest()) {
  describe(`email verification rules (${target.name})`, function () {
    this.timeout(30_000);
    let db: Db;
    let partners: PartnerRepository;
    let mailer: CapturingMailer;
    let clock: number;
    let service: EmailVerificationService;
    let tenant: string;

    beforeEach(async () => {
      db = await target.open();
      partners = new PartnerRepository(db);
      mailer = new CapturingMailer();
      clock = Date.parse('2026-11-30T08:00:00Z');
      service = new EmailVerificationService(new EmailVerificationRepository(db, partners), mailer, randomBytes(32), 'https://bot.example.com', () => clock);
      tenant = randomUUID();
      await partners.createIfMissing(tenant, ACTOR);
      await partners.saveSection(tenant, 'primaryContact', contact('adele@contoso.com'), ACTOR.aadObjectId, randomUUID());
    });
    after(() => target.cleanup());

    const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    it('the code lives 30 minutes, the link 48 hours', async () => {
      assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: true });
      const { code, token } = mailer.last();
      clock += CODE_TTL_MS + 1;
      assert.deepEqual(await service.checkCode(tenant, code, ACTOR.aadObjectId), { ok: false, reason: 'expired' });
      clock += LINK_TTL_MS - CODE_TTL_MS - 10;
      assert.equal((await service.previewLink(token)).ok, true);
      clock += 20;
      assert.deepEqual(await service.confirmLink(token), { ok: false, reason: 'expired' });
    });

    it('sends at most one mail a minute, even when asked five times at once', async () => {
      const results = await Promise.all(Array.from({ length: 5 }, () => service.send(tenant, 'adele@contoso.com', ACTOR)));
      assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
      assert.ok(results.every((r) => r.ok || r.reason === 'too_soon'));
      assert.equal(mailer.sent.length, 1);
      clock += RESEND_INTERVAL_MS;
      assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: true });
      assert.equal(mailer.sent.length, 2);
    });

    it('a resend does not reset the wrong-code count: the fifth wrong code locks, across resends', async () => {
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      for (let i = 0; i < 2; i++) assert.equal((await service.checkCode(tenant, wrongCode(mailer.last().code), 'x')).ok, false);
      clock += RESEND_INTERVAL_MS;
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      for (let i = 0; i < 2; i++) await service.checkCode(tenant, wrongCode(mailer.last().code), 'x');
      clock += RESEND_INTERVAL_MS;
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      const fifth = await service.checkCode(tenant, wrongCode(mailer.last().code), 'x');
      assert.deepEqual(fifth, { ok: false, reason: 'locked', minutes: LOCK_MS / 60_000 });
      assert.deepEqual(await service.checkCode(tenant, mailer.last().code, 'x'), { ok: false, reason: 'locked', minutes: 15 });
    });

    it('caps mails per address a day, and wrong guesses per tenant a day', async () => {
      for (let i = 0; i < DAILY_SENDS_PER_ADDRESS; i++) {
        assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: true }, `send ${i + 1}`);
        clock += RESEND_INTERVAL_MS;
      }
      assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: false, reason: 'daily_limit' });
      // Another tenant naming the same address is capped too: the address is what is protected.
      const other = randomUUID();
      await partners.createIfMissing(other, ACTOR);
      await partners.saveSection(other, 'primaryContact', contact('adele@contoso.com'), ACTOR.aadObjectId, randomUUID());
      assert.deepEqual(await service.send(other, 'adele@contoso.com', ACTOR), { ok: false, reason: 'daily_limit' });
      clock += 86_400_000;
      assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: true }, 'a day later it works again');

      let guesses = 0;
      let last;
      while (guesses < DAILY_GUESSES_PER_TENANT + 1) {
        last = await service.checkCode(tenant, wrongCode(mailer.last().code), 'x');
        if (last.ok === false && last.reason === 'locked') clock += LOCK_MS;
        else if (last.ok === false && last.reason === 'expired') await service.send(tenant, 'adele@contoso.com', ACTOR);
        else guesses++;
        if (last.ok === false && last.reason === 'daily_limit') break;
      }
      assert.deepEqual(last, { ok: false, reason: 'daily_limit' });
    });

    it('stores a new code only once its mail went out; a failed mail leaves the last code working and allows a retry at once', async () => {
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      const first = mailer.last();
      clock += RESEND_INTERVAL_MS;
      mailer.down = true;
      await assert.rejects(service.send(tenant, 'adele@contoso.com', ACTOR), /mail server unreachable/);
      mailer.down = false;
      assert.deepEqual(await service.send(tenant, 'adele@contoso.com', ACTOR), { ok: true }, 'no minute to wait after a failed mail');
      const second = await service.checkCode(tenant, first.code, 'x');
      if (first.code === mailer.last().code) assert.equal(second.ok, true);
      else assert.deepEqual(second, { ok: false, reason: 'wrong', attemptsLeft: 4 });
      clock += RESEND_INTERVAL_MS;
      mailer.down = true;
      const fresh = randomUUID();
      await partners.createIfMissing(fresh, ACTOR);
      await partners.saveSection(fresh, 'primaryContact', contact('joni@contoso.com'), ACTOR.aadObjectId, randomUUID());
      await assert.rejects(service.send(fresh, 'joni@contoso.com', ACTOR));
      const [row] = await db.query<{ code_hash: string | null; token_hash: string | null }>('SELECT code_hash, token_hash FROM email_verifications WHERE tenant_id = $1', [fresh]);
      assert.deepEqual(row, { code_hash: null, token_hash: null }, 'no code exists that no mail carried');
    });

    it('binds verification to the address: a change of email resets it and voids codes and links sent to the old one', async () => {
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      const old = mailer.last();
      await partners.saveSection(tenant, 'primaryContact', contact('eve@attacker.example'), ACTOR.aadObjectId, randomUUID());
      assert.deepEqual(await service.confirmLink(old.token), { ok: false, reason: 'unknown' });
      assert.equal((await service.checkCode(tenant, old.code, 'x')).ok, false);
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);

      // Verified, then edited: no longer verified.
      clock += RESEND_INTERVAL_MS;
      await service.send(tenant, 'eve@attacker.example', ACTOR);
      const verified = await service.checkCode(tenant, mailer.last().code, 'x');
      assert.ok(verified.ok && verified.partner.emailVerifiedAt, 'the record handed back says verified');
      assert.ok((await partners.get(tenant))?.emailVerifiedAt);
      await partners.saveSection(tenant, 'primaryContact', contact('adele@contoso.com'), ACTOR.aadObjectId, randomUUID());
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);
      // Same address again with another phone: still unverified, but nothing reset beyond that.
      const [row] = await db.query<{ email_verified_address: string | null }>('SELECT email_verified_address FROM partners WHERE tenant_id = $1', [tenant]);
      assert.equal(row?.email_verified_address, null);
    });

    it('a pending link checks the address as it is now, in the same transaction', async () => {
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      const { token, code } = mailer.last();
      // The contact changes by a path that does not clear the verification row (e.g. an edit in flight).
      await db.query(`UPDATE partners SET primary_contact = jsonb_set(primary_contact, '{email}', '"eve@attacker.example"') WHERE tenant_id = $1`, [tenant]);
      assert.deepEqual(await service.confirmLink(token), { ok: false, reason: 'stale' });
      assert.deepEqual(await service.checkCode(tenant, code, 'x'), { ok: false, reason: 'stale' });
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);
    });

    it('the link page changes nothing; "this wasn\'t me" voids the code and the link', async () => {
      await service.send(tenant, 'adele@contoso.com', ACTOR);
      const { token, code } = mailer.last();
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await service.previewLink(token), { ok: true, companyName: 'your company', requestedBy: 'Megan Bowen', maskedEmail: 'a•••@contoso.com' });
      }
      const denied = await service.denyLink(token);
      assert.equal(denied.ok, true);
      assert.deepEqual(await service.confirmLink(token), { ok: false, reason: 'denied' });
      assert.deepEqual(await service.checkCode(tenant, code, 'x'), { ok: false, reason: 'used' });
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);
    });
  });
}
