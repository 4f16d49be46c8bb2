import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CompanySchema, contactSchema, type Company, type Contact } from '../../src/domain/forms';
import { ownerOf, type Person } from '../../src/domain/partner';
import { listAudit } from '../../src/store/audit-log';
import type { Db } from '../../src/store/db';
import { PartnerRepository, type PartnerRecord } from '../../src/store/partners';
import { COMPANY, PRIMARY, SECONDARY } from '../helpers/chat';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';

announcePostgresSkip();

/** A write hands back the new record, or nothing when the card was answered before. */
const outcome = (record: PartnerRecord | undefined): 'saved' | 'already-saved' => (record ? 'saved' : 'already-saved');

const company: Company = CompanySchema.parse(COMPANY);
const primary: Contact = contactSchema('DE').parse(PRIMARY);
/** As stored: JSON has no `undefined` (an empty optional field is absent). */
const secondary: Contact = JSON.parse(JSON.stringify(contactSchema('DE').parse(SECONDARY))) as Contact;
const HOUR = 3_600_000;

for (const target of databasesUnderTest()) {
  describe(`PartnerRepository (${target.name})`, () => {
    let db: Db;
    let partners: PartnerRepository;
    let tenant: string;
    let owner: Person;

    beforeEach(async () => {
      db = await target.open();
      partners = new PartnerRepository(db);
      tenant = randomUUID();
      owner = { aadObjectId: randomUUID(), name: 'Megan Bowen' };
    });
    after(() => target.cleanup());

    const actions = async () => (await listAudit(db, tenant)).map((a) => a.action);

    it('createIfMissing makes one owner; a second call, by anyone, changes nothing', async () => {
      assert.deepEqual(await partners.createIfMissing(tenant, owner, 'a:owner'), { created: true });
      const other = { aadObjectId: randomUUID(), name: 'Joni Sherman' };
      assert.deepEqual(await partners.createIfMissing(tenant, other, 'a:other'), { created: false });
      const partner = await partners.get(tenant);
      assert.deepEqual(partner?.members, [{ ...owner, role: 'owner', conversationId: 'a:owner' }]);
      assert.equal(partner?.secondarySkipped, false);
      assert.equal(partner?.company, undefined);
      assert.deepEqual(await actions(), ['partner.created']);
      assert.equal(await partners.get(randomUUID()), undefined, 'another tenant has nothing');
    });

    it('saveSection saves and records the card as answered; the same card again is "already-saved" and changes nothing', async () => {
      await partners.createIfMissing(tenant, owner);
      const cardId = randomUUID();
      assert.equal(await partners.isAnswered(tenant, cardId), false);
      assert.equal(outcome(await partners.saveSection(tenant, 'company', company, owner.aadObjectId, cardId)), 'saved');
      assert.equal(await partners.isAnswered(tenant, cardId), true);
      assert.equal(await partners.isAnswered(randomUUID(), cardId), false, 'answered cards are per tenant');
      assert.equal(outcome(await partners.saveSection(tenant, 'company', { ...company, legalName: 'Changed' }, owner.aadObjectId, cardId)), 'already-saved');
      assert.deepEqual((await partners.get(tenant))?.company, company);
      const audit = await listAudit(db, tenant);
      assert.equal(audit.filter((a) => a.action === 'company.saved').length, 1);
      assert.deepEqual(audit.find((a) => a.action === 'company.saved')?.detail, { fields: Object.keys(company).sort() });
    });

    it('concurrent saves of one card save once', async () => {
      await partners.createIfMissing(tenant, owner);
      const cardId = randomUUID();
      const results = (await Promise.all(Array.from({ length: 5 }, (_, i) =>
        partners.saveSection(tenant, 'primaryContact', { ...primary, role: `Role ${i}` }, owner.aadObjectId, cardId)))).map(outcome);
      assert.equal(results.filter((r) => r === 'saved').length, 1, results.join(','));
      assert.equal(results.filter((r) => r === 'already-saved').length, 4);
      const saved = (await partners.get(tenant))?.primaryContact;
      assert.equal(saved?.role, `Role ${results.indexOf('saved')}`, 'the one saved is the one that said so');
      assert.equal((await actions()).filter((a) => a === 'contact.primary.saved').length, 1);
    });

    it('an edit after confirming makes the review due again; only changed fields are audited', async () => {
      await partners.createIfMissing(tenant, owner);
      await partners.saveSection(tenant, 'company', company, owner.aadObjectId, randomUUID());
      assert.equal(outcome(await partners.confirm(tenant, owner.aadObjectId, randomUUID())), 'saved');
      assert.ok((await partners.get(tenant))?.confirmedAt);
      await partners.saveSection(tenant, 'company', { ...company, city: 'München' }, owner.aadObjectId, randomUUID());
      assert.equal((await partners.get(tenant))?.confirmedAt, undefined);
      const last = (await listAudit(db, tenant)).filter((a) => a.action === 'company.saved').pop();
      assert.deepEqual(last?.detail, { fields: ['city'] });
    });

    it('a new primary email resets verification and voids pending codes; the same email (any case) keeps it', async () => {
      await partners.createIfMissing(tenant, owner);
      await partners.saveSection(tenant, 'primaryContact', primary, owner.aadObjectId, randomUUID());
      assert.equal(!!(await partners.verifyEmail(tenant, primary.email, owner.aadObjectId, 'code')), true);
      assert.ok((await partners.get(tenant))?.emailVerifiedAt);

      await partners.saveSection(tenant, 'primaryContact', { ...primary, email: primary.email.toUpperCase(), phone: '+4989123456' }, owner.aadObjectId, randomUUID());
      assert.ok((await partners.get(tenant))?.emailVerifiedAt, 'same address, other case: still verified');

      await db.query(
        "INSERT INTO email_verifications (tenant_id, email, code_hash, token_hash, expires_at, last_sent_at) VALUES ($1, $2, 'c', 't', now() + interval '1 hour', now())",
        [tenant, primary.email],
      );
      await partners.saveSection(tenant, 'primaryContact', { ...primary, email: 'new.contact@contoso-cloud.de' }, owner.aadObjectId, randomUUID());
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);
      assert.deepEqual(await db.query('SELECT 1 FROM email_verifications WHERE tenant_id = $1', [tenant]), []);
      const [row] = await db.query<{ email_verified_by: string | null }>('SELECT email_verified_by FROM partners WHERE tenant_id = $1', [tenant]);
      assert.equal(row?.email_verified_by, null);
      assert.equal(await partners.verifyEmail(tenant, primary.email, owner.aadObjectId, 'link'), undefined, 'the old address can no longer be verified');
    });

    it('skipSecondary clears the secondary contact once per card; saving one later un-skips', async () => {
      await partners.createIfMissing(tenant, owner);
      await partners.saveSection(tenant, 'secondaryContact', secondary, owner.aadObjectId, randomUUID());
      const cardId = randomUUID();
      assert.equal(outcome(await partners.skipSecondary(tenant, owner.aadObjectId, cardId)), 'saved');
      let partner = await partners.get(tenant);
      assert.equal(partner?.secondaryContact, undefined);
      assert.equal(partner?.secondarySkipped, true);
      assert.equal(outcome(await partners.skipSecondary(tenant, owner.aadObjectId, cardId)), 'already-saved');
      assert.equal((await actions()).filter((a) => a === 'contact.secondary.skipped').length, 1);
      await partners.saveSection(tenant, 'secondaryContact', secondary, owner.aadObjectId, randomUUID());
      partner = await partners.get(tenant);
      assert.equal(partner?.secondarySkipped, false);
      assert.deepEqual(partner?.secondaryContact, secondary);
    });

    it('confirm sets confirmedAt once per review card', async () => {
      await partners.createIfMissing(tenant, owner);
      const cardId = randomUUID();
      assert.equal((await partners.get(tenant))?.confirmedAt, undefined);
      assert.equal(outcome(await partners.confirm(tenant, owner.aadObjectId, cardId)), 'saved');
      const first = (await partners.get(tenant))?.confirmedAt;
      assert.ok(first instanceof Date);
      assert.equal(outcome(await partners.confirm(tenant, owner.aadObjectId, cardId)), 'already-saved');
      assert.deepEqual((await partners.get(tenant))?.confirmedAt, first);
      assert.deepEqual(await actions(), ['partner.created', 'review.confirmed']);
    });

    it('reset clears the entered data and verification, keeps the partner and its members', async () => {
      await partners.createIfMissing(tenant, owner);
      const member = { aadObjectId: randomUUID(), name: 'Joni Sherman' };
      await partners.addMember(tenant, owner, member);
      await partners.saveSection(tenant, 'company', company, owner.aadObjectId, randomUUID());
      await partners.saveSection(tenant, 'primaryContact', primary, owner.aadObjectId, randomUUID());
      await partners.skipSecondary(tenant, owner.aadObjectId, randomUUID());
      await partners.confirm(tenant, owner.aadObjectId, randomUUID());
      await partners.verifyEmail(tenant, primary.email, owner.aadObjectId, 'teams-identity');
      await db.query(
        "INSERT INTO email_verifications (tenant_id, email, code_hash, token_hash, expires_at, last_sent_at) VALUES ($1, $2, 'c', 't', now() + interval '1 hour', now())",
        [tenant, primary.email],
      );
      await partners.reset(tenant, owner.aadObjectId);
      const partner = await partners.get(tenant);
      assert.ok(partner);
      assert.equal(partner.company, undefined);
      assert.equal(partner.primaryContact, undefined);
      assert.equal(partner.secondarySkipped, false);
      assert.equal(partner.confirmedAt, undefined);
      assert.equal(partner.emailVerifiedAt, undefined);
      assert.deepEqual(partner.members.map((m) => m.aadObjectId), [owner.aadObjectId, member.aadObjectId]);
      assert.deepEqual(await db.query('SELECT 1 FROM email_verifications WHERE tenant_id = $1', [tenant]), []);
      // Re-saving the same address after a reset does not bring the old verification back.
      await partners.saveSection(tenant, 'primaryContact', primary, owner.aadObjectId, randomUUID());
      assert.equal((await partners.get(tenant))?.emailVerifiedAt, undefined);
      assert.equal((await actions()).at(-2), 'partner.reset');
    });

    it('delete removes the partner, its members, join requests, answered cards and references; the audit log keeps a tombstone', async () => {
      await partners.createIfMissing(tenant, owner);
      await partners.addMember(tenant, owner, { aadObjectId: randomUUID(), name: 'Joni Sherman' });
      assert.ok(await partners.recordJoinRequest(tenant, { aadObjectId: randomUUID(), name: 'Adele Vance' }, 'a:adele', HOUR));
      const cardId = randomUUID();
      await partners.saveSection(tenant, 'company', company, owner.aadObjectId, cardId);
      await db.query(
        "INSERT INTO conversation_references (tenant_id, conversation_id, conversation_type, reference) VALUES ($1, 'a:owner', 'personal', '{}'::jsonb)",
        [tenant],
      );
      const bystander = randomUUID();
      await partners.createIfMissing(bystander, { aadObjectId: randomUUID(), name: 'Other Owner' });

      await partners.delete(tenant, owner.aadObjectId);
      assert.equal(await partners.get(tenant), undefined);
      for (const table of ['partner_members', 'join_requests', 'answered_cards', 'conversation_references', 'email_verifications']) {
        assert.deepEqual(await db.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [tenant]), [], table);
      }
      assert.equal(await partners.isAnswered(tenant, cardId), false);
      const audit = await listAudit(db, tenant);
      assert.equal(audit.at(-1)?.action, 'partner.deleted');
      assert.deepEqual(audit.at(-1)?.detail, { tombstone: true });
      assert.ok(audit.some((a) => a.action === 'company.saved'), 'the trail before the delete stays');
      assert.ok(await partners.get(bystander), 'another tenant is untouched');
      assert.equal(await partners.createIfMissing(tenant, owner).then((r) => r.created), true, 'the tenant can start again');
    });

    it('recordJoinRequest gives a request id once per person per interval; members and other people are separate', async () => {
      await partners.createIfMissing(tenant, owner);
      const joni = { aadObjectId: randomUUID(), name: 'Joni Sherman' };
      const first = await partners.recordJoinRequest(tenant, joni, 'a:joni', HOUR);
      assert.match(first ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(await partners.recordJoinRequest(tenant, joni, 'a:joni', HOUR), undefined, 'asked again within the hour');
      const adele = await partners.recordJoinRequest(tenant, { aadObjectId: randomUUID(), name: 'Adele Vance' }, undefined, HOUR);
      assert.ok(adele && adele !== first, 'another person is not rate-limited by Joni');
      assert.equal((await actions()).filter((a) => a === 'partner.member_requested').length, 2);
      // With a zero interval the earlier request no longer counts.
      const later = await partners.recordJoinRequest(tenant, joni, 'a:joni', 0);
      assert.ok(later && later !== first);
      const [row] = await db.query<{ display_name: string }>('SELECT display_name FROM join_requests WHERE tenant_id = $1 AND id = $2', [tenant, first]);
      assert.equal(row?.display_name, 'Joni Sherman');
    });

    it('answerJoinRequest answers once; "add" makes the requester a member, "decline" does not', async () => {
      await partners.createIfMissing(tenant, owner);
      const joni = { aadObjectId: randomUUID(), name: 'Joni Sherman' };
      const id = (await partners.recordJoinRequest(tenant, joni, 'a:joni', HOUR))!;
      assert.equal(await partners.answerJoinRequest(randomUUID(), id, owner, true), undefined, 'another tenant cannot answer it');
      assert.equal(await partners.answerJoinRequest(tenant, randomUUID(), owner, true), undefined, 'unknown id');
      const answers = await Promise.all([partners.answerJoinRequest(tenant, id, owner, true), partners.answerJoinRequest(tenant, id, owner, true)]);
      assert.equal(answers.filter(Boolean).length, 1, 'a double click answers once');
      assert.deepEqual(answers.find(Boolean), { id, ...joni, conversationId: 'a:joni' });
      assert.equal(await partners.answerJoinRequest(tenant, id, owner, false), undefined, 'answered already');
      const members = (await partners.get(tenant))?.members ?? [];
      assert.deepEqual(members.find((m) => m.aadObjectId === joni.aadObjectId), { ...joni, role: 'member', conversationId: 'a:joni' });
      assert.equal((await actions()).filter((a) => a === 'partner.member_added').length, 1);

      const adele = { aadObjectId: randomUUID(), name: 'Adele Vance' };
      const declined = (await partners.recordJoinRequest(tenant, adele, undefined, HOUR))!;
      assert.deepEqual(await partners.answerJoinRequest(tenant, declined, owner, false), { id: declined, ...adele, conversationId: undefined });
      assert.equal((await partners.get(tenant))?.members.some((m) => m.aadObjectId === adele.aadObjectId), false);
    });

    it('transferOwnership makes the new person owner and the previous owner a member; one owner at a time', async () => {
      await partners.createIfMissing(tenant, owner, 'a:megan');
      const joni = { aadObjectId: randomUUID(), name: 'Joni Sherman' };
      await partners.addMember(tenant, owner, joni, 'a:joni');
      const { previousOwner } = await partners.transferOwnership(tenant, joni, owner.aadObjectId, 'handover');
      assert.deepEqual(previousOwner, { ...owner, role: 'member', conversationId: 'a:megan' });
      let partner = (await partners.get(tenant))!;
      assert.deepEqual(ownerOf(partner), { ...joni, role: 'owner', conversationId: 'a:joni' });
      assert.equal(partner.members.find((m) => m.aadObjectId === owner.aadObjectId)?.role, 'member');
      assert.equal(partner.members.filter((m) => m.role === 'owner').length, 1);

      // A global admin who was not a member takes over.
      const admin = { aadObjectId: randomUUID(), name: 'Global Admin' };
      const taken = await partners.transferOwnership(tenant, admin, admin.aadObjectId, 'global-admin', 'a:admin');
      assert.equal(taken.previousOwner?.aadObjectId, joni.aadObjectId);
      partner = (await partners.get(tenant))!;
      assert.equal(ownerOf(partner)?.aadObjectId, admin.aadObjectId);
      assert.equal(partner.members.length, 3);
      assert.equal(partner.members.filter((m) => m.role === 'owner').length, 1);
      // Handing it to the current owner reports no previous owner.
      assert.equal((await partners.transferOwnership(tenant, admin, admin.aadObjectId, 'handover')).previousOwner, undefined);
      const changes = (await listAudit(db, tenant)).filter((a) => a.action === 'partner.owner_changed').map((a) => a.detail);
      assert.deepEqual(changes[0], { from: owner.aadObjectId, to: joni.aadObjectId, why: 'handover' });
      assert.deepEqual(changes[1], { from: joni.aadObjectId, to: admin.aadObjectId, why: 'global-admin' });
    });
  });
}
