/**
 * The schema, as numbered steps. A step never changes once released: add a new one instead.
 * Tables are keyed by partner tenant first where they belong to a partner, so the schema can be
 * distributed by that key later without redesign.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'bot state, conversation references, secrets',
    sql: `
      CREATE TABLE bot_state (
        key         text PRIMARY KEY,
        doc         jsonb NOT NULL,
        etag        text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE conversation_references (
        tenant_id          text NOT NULL,
        conversation_id    text NOT NULL,
        conversation_type  text NOT NULL,
        reference          jsonb NOT NULL,
        installed          boolean NOT NULL DEFAULT true,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, conversation_id)
      );

      CREATE TABLE secrets (
        name        text PRIMARY KEY,
        nonce       bytea NOT NULL,
        ciphertext  bytea NOT NULL,
        auth_tag    bytea NOT NULL,
        key_id      text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 2,
    name: 'partners, members, audit log, answered cards, email verification',
    sql: `
      CREATE TABLE partners (
        tenant_id          text PRIMARY KEY,
        company            jsonb,
        primary_contact    jsonb,
        secondary_contact  jsonb,
        secondary_skipped  boolean NOT NULL DEFAULT false,
        confirmed_at       timestamptz,
        email_verified_at  timestamptz,
        email_verified_by  text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE partner_members (
        tenant_id       text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        aad_object_id   text NOT NULL,
        display_name    text NOT NULL DEFAULT '',
        role            text NOT NULL CHECK (role IN ('owner', 'member')),
        added_by        text,
        added_at        timestamptz NOT NULL DEFAULT now(),
        -- Their personal chat with the bot, where they are told about things that concern them.
        conversation_id text,
        PRIMARY KEY (tenant_id, aad_object_id)
      );
      CREATE UNIQUE INDEX partner_members_one_owner ON partner_members (tenant_id) WHERE role = 'owner';

      -- No foreign key: the audit trail outlives the partner (the deletion itself is a row here).
      CREATE TABLE audit_log (
        tenant_id   text NOT NULL,
        id          bigserial,
        at          timestamptz NOT NULL DEFAULT now(),
        actor       text NOT NULL,
        action      text NOT NULL,
        detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
        PRIMARY KEY (tenant_id, id)
      );

      -- One row per card the user has answered: a second submit of it is recognised, never re-applied.
      CREATE TABLE answered_cards (
        tenant_id    text NOT NULL,
        card_id      text NOT NULL,
        kind         text NOT NULL,
        answered_by  text NOT NULL,
        answered_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, card_id)
      );

      -- Only hashes of the code and the link token are kept.
      CREATE TABLE email_verifications (
        tenant_id       text PRIMARY KEY REFERENCES partners (tenant_id) ON DELETE CASCADE,
        email           text NOT NULL,
        code_hash       text NOT NULL,
        token_hash      text NOT NULL,
        expires_at      timestamptz NOT NULL,
        failed_attempts integer NOT NULL DEFAULT 0,
        locked_until    timestamptz,
        last_sent_at    timestamptz NOT NULL,
        used_at         timestamptz,
        -- Where to tell the person when the link in the mail is used.
        conversation_id text
      );
      CREATE UNIQUE INDEX email_verifications_token ON email_verifications (token_hash);

      -- Set by the one turn that sends the welcome: Teams sends two install events at once.
      ALTER TABLE conversation_references ADD COLUMN welcomed_at timestamptz;
    `,
  },
  {
    id: 3,
    name: 'verified address, code and link lifetimes, verification caps, shared secrets',
    sql: `
      -- "Verified" belongs to an address: editing the primary contact's email makes it due again.
      ALTER TABLE partners ADD COLUMN email_verified_address text;
      UPDATE partners SET email_verified_address = lower(primary_contact->>'email') WHERE email_verified_at IS NOT NULL;

      -- The code lives 30 minutes, the link 48 hours. A send is reserved (last_sent_at) before the
      -- mail goes out, and its hashes are stored only after: until then they are NULL.
      ALTER TABLE email_verifications ALTER COLUMN code_hash DROP NOT NULL;
      ALTER TABLE email_verifications ALTER COLUMN token_hash DROP NOT NULL;
      ALTER TABLE email_verifications ADD COLUMN code_expires_at timestamptz;
      ALTER TABLE email_verifications ADD COLUMN denied_at timestamptz;
      ALTER TABLE email_verifications ADD COLUMN requested_by text;
      UPDATE email_verifications SET code_expires_at = least(expires_at, last_sent_at + interval '30 minutes');

      -- Every send and every wrong guess, for the daily caps per tenant and per address (a keyed
      -- hash of it, so these rows may outlive "delete my data" without keeping the address).
      CREATE TABLE email_verification_events (
        tenant_id  text NOT NULL,
        id         bigserial,
        email      text NOT NULL,
        kind       text NOT NULL CHECK (kind IN ('send', 'guess')),
        at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX email_verification_events_recent ON email_verification_events (tenant_id, kind, at);
      CREATE INDEX email_verification_events_address ON email_verification_events (email, kind, at);

      -- Which secret-store entry holds a value every instance must share (the first writer wins).
      CREATE TABLE shared_secrets (
        purpose      text PRIMARY KEY,
        secret_name  text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      );

      -- A join request is kept here; the owner's card carries only its id.
      CREATE TABLE join_requests (
        tenant_id        text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        id               text NOT NULL,
        aad_object_id    text NOT NULL,
        display_name     text NOT NULL,
        conversation_id  text,
        requested_at     timestamptz NOT NULL DEFAULT now(),
        answered_at      timestamptz,
        PRIMARY KEY (tenant_id, id)
      );
    `,
  },
  {
    id: 4,
    name: 'preparation, partner connection, credential metadata, consent, sign-in states',
    sql: `
      -- Preparation checklist: the items ticked, and when "I've done this" was selected.
      ALTER TABLE partners ADD COLUMN prep_done jsonb NOT NULL DEFAULT '[]'::jsonb;
      ALTER TABLE partners ADD COLUMN prepared_at timestamptz;
      -- The partner tenant and the ids entered on the credential cards (no secret values).
      ALTER TABLE partners ADD COLUMN connection jsonb;
      -- Per credential kind: secret-store name, first 3 characters (Graph's hint), expiry, who, when.
      ALTER TABLE partners ADD COLUMN credentials jsonb NOT NULL DEFAULT '{}'::jsonb;
      -- The service account's consent (Partner Center + delegated Graph) and the app's admin consent.
      ALTER TABLE partners ADD COLUMN consent_at timestamptz;
      ALTER TABLE partners ADD COLUMN consent_account text;
      ALTER TABLE partners ADD COLUMN consent_used_at timestamptz;
      ALTER TABLE partners ADD COLUMN consent_broken_at timestamptz;
      ALTER TABLE partners ADD COLUMN consent_broken_reason text;
      ALTER TABLE partners ADD COLUMN admin_consent_at timestamptz;
      CREATE INDEX partners_consent_used ON partners (consent_used_at) WHERE consent_at IS NOT NULL AND consent_broken_at IS NULL;

      -- A sign-in or admin-consent link: only a hash of its state is kept; single use, 10 minutes.
      CREATE TABLE auth_states (
        tenant_id        text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        state_hash       text NOT NULL,
        purpose          text NOT NULL CHECK (purpose IN ('signin', 'adminconsent')),
        aad_object_id    text NOT NULL,
        conversation_id  text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        expires_at       timestamptz NOT NULL,
        used_at          timestamptz,
        PRIMARY KEY (tenant_id, state_hash)
      );
      CREATE UNIQUE INDEX auth_states_hash ON auth_states (state_hash);
    `,
  },
  {
    id: 5,
    name: 'check runs (history)',
    sql: `
      -- Every run of the checks: who asked (or 'system'), what kind, the results (ids, statuses,
      -- one line of evidence, fixes: never a secret), and the Microsoft round-trips it took.
      CREATE TABLE check_runs (
        tenant_id    text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        id           bigserial,
        kind         text NOT NULL CHECK (kind IN ('preflight', 'full')),
        actor        text NOT NULL,
        run_at       timestamptz NOT NULL DEFAULT now(),
        verdict      text NOT NULL,
        results      jsonb NOT NULL,
        round_trips  jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX check_runs_latest ON check_runs (tenant_id, run_at DESC);
    `,
  },
  {
    id: 6,
    name: 'full checks on the partner; check follow-ups',
    sql: `
      -- The latest full run's verdict: the journey's checks step reads it (blocked stops before sync).
      ALTER TABLE partners ADD COLUMN checks_at timestamptz;
      ALTER TABLE partners ADD COLUMN checks_verdict text;

      -- "Re-check in 15 minutes": due runs survive a restart; any instance claims one (a lease), runs
      -- it and tells the conversation. One pending follow-up per partner.
      CREATE TABLE check_followups (
        id               bigserial PRIMARY KEY,
        tenant_id        text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        conversation_id  text NOT NULL,
        requested_by     text NOT NULL,
        requested_at     timestamptz NOT NULL DEFAULT now(),
        due_at           timestamptz NOT NULL,
        claimed_until    timestamptz,
        attempts         integer NOT NULL DEFAULT 0,
        done_at          timestamptz,
        run_id           bigint,
        outcome          text
      );
      CREATE UNIQUE INDEX check_followups_pending ON check_followups (tenant_id) WHERE done_at IS NULL;
      CREATE INDEX check_followups_due ON check_followups (due_at) WHERE done_at IS NULL;
    `,
  },
  {
    id: 7,
    name: 'customers and customer syncs',
    sql: `
      -- The partner's customers as Partner Center lists them. Never deleted by a sync: a customer
      -- gone since the last full sync is marked removed. Manageable = an active GDAP relationship
      -- with the roles the platform needs and an active access assignment the service account is in.
      CREATE TABLE customers (
        tenant_id              text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        customer_tenant_id     text NOT NULL,
        pc_customer_id         text NOT NULL,
        company_name           text NOT NULL,
        domain                 text,
        manageable             boolean NOT NULL,
        not_manageable_reason  text,
        gdap_relationship_ids  text[] NOT NULL DEFAULT '{}',
        first_seen_at          timestamptz NOT NULL DEFAULT now(),
        last_seen_sync         bigint NOT NULL,
        removed_at             timestamptz,
        updated_at             timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, customer_tenant_id)
      );

      -- One sync of one partner: its cursor (phase, page, the next link) moves in the same
      -- transaction as each page's rows, so a crash resumes from the last committed page.
      CREATE TABLE customer_syncs (
        id                    bigserial PRIMARY KEY,
        tenant_id             text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        trigger               text NOT NULL CHECK (trigger IN ('chat', 'nightly')),
        requested_by          text NOT NULL,
        status                text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
        phase                 text NOT NULL DEFAULT 'gdap' CHECK (phase IN ('gdap', 'customers', 'reconcile', 'done')),
        step                  integer NOT NULL DEFAULT 0,
        next_link             jsonb,
        pages                 integer NOT NULL DEFAULT 0,
        gdap_pages            integer NOT NULL DEFAULT 0,
        relationships         integer NOT NULL DEFAULT 0,
        seen                  integer NOT NULL DEFAULT 0,
        added                 integer NOT NULL DEFAULT 0,
        changed               integer NOT NULL DEFAULT 0,
        removed               integer NOT NULL DEFAULT 0,
        not_manageable        jsonb NOT NULL DEFAULT '{}',
        retries               integer NOT NULL DEFAULT 0,
        conversation_id       text,
        progress_activity_id  text,
        progress_at           timestamptz,
        cancel_requested_at   timestamptz,
        error                 text,
        started_at            timestamptz NOT NULL DEFAULT now(),
        finished_at           timestamptz
      );
      CREATE UNIQUE INDEX customer_syncs_running ON customer_syncs (tenant_id) WHERE status = 'running';
      CREATE INDEX customer_syncs_latest ON customer_syncs (tenant_id, id DESC);

      -- GDAP as the sync read it, per customer tenant: the verdict the customers phase joins on.
      CREATE TABLE customer_sync_gdap (
        sync_id             bigint NOT NULL REFERENCES customer_syncs (id) ON DELETE CASCADE,
        customer_tenant_id  text NOT NULL,
        relationship_ids    text[] NOT NULL,
        rank                integer NOT NULL,
        reason              text,
        PRIMARY KEY (sync_id, customer_tenant_id)
      );

      ALTER TABLE partners ADD COLUMN synced_at timestamptz;
    `,
  },
  {
    id: 8,
    name: 'expiry notices (an outbox), dead conversations',
    sql: `
      -- Each (partner, item, threshold, recipient) is noticed once: the row is the record of the
      -- notice and the outbox it is sent from. Sent, or dead (the conversation is gone).
      CREATE TABLE notices (
        id               bigserial PRIMARY KEY,
        tenant_id        text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        item             text NOT NULL CHECK (item IN ('app-secret', 'pc-secret', 'refresh-token')),
        item_key         text NOT NULL,
        threshold        integer NOT NULL,
        expires_at       timestamptz NOT NULL,
        conversation_id  text NOT NULL,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
        attempts         integer NOT NULL DEFAULT 0,
        not_before       timestamptz NOT NULL DEFAULT now(),
        claimed_until    timestamptz,
        sent_at          timestamptz,
        error            text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, item, item_key, threshold, conversation_id)
      );
      CREATE INDEX notices_pending ON notices (not_before) WHERE status = 'pending';

      ALTER TABLE conversation_references ADD COLUMN dead_at timestamptz;
      ALTER TABLE conversation_references ADD COLUMN dead_reason text;
    `,
  },
  {
    id: 9,
    name: 'GDAP and consent notices, copies to the support thread; the support channel and its cases',
    sql: `
      ALTER TABLE notices DROP CONSTRAINT notices_item_check;
      ALTER TABLE notices ADD CONSTRAINT notices_item_check CHECK (item IN ('app-secret', 'pc-secret', 'refresh-token', 'gdap', 'consent'));
      -- The tenant of the conversation it goes to when not the partner's own (a copy to the support
      -- thread lives in the operator's tenant); what exactly (a GDAP relationship's customer); whose
      -- (the company, on a copy to support).
      ALTER TABLE notices ADD COLUMN recipient_tenant_id text;
      ALTER TABLE notices ADD COLUMN detail text;
      ALTER TABLE notices ADD COLUMN subject text;

      -- A channel conversation's team: a deleted team, or the bot removed from it, retires them all.
      ALTER TABLE conversation_references ADD COLUMN team_id text;

      -- The one channel escalations land in (set by a support engineer in the operator's team).
      CREATE TABLE support_channel (
        id          boolean PRIMARY KEY DEFAULT true CHECK (id),
        tenant_id   text NOT NULL,
        channel_id  text NOT NULL,
        team_id     text,
        set_by      text NOT NULL,
        set_at      timestamptz NOT NULL DEFAULT now()
      );

      -- One case (and one thread in the support channel) per partner, reopened when asked again.
      CREATE TABLE support_cases (
        tenant_id               text PRIMARY KEY REFERENCES partners (tenant_id) ON DELETE CASCADE,
        status                  text NOT NULL CHECK (status IN ('open', 'claimed', 'resolved')),
        channel_tenant_id       text,
        channel_id              text,
        thread_id               text,
        card_activity_id        text,
        thread_claimed_at       timestamptz,
        -- The partner's checklist card a re-run from support updates (the one "Ask support" was on).
        checklist_conversation_id text,
        checklist_activity_id   text,
        opened_by               text NOT NULL,
        opened_by_name          text NOT NULL,
        opened_conversation_id  text,
        opened_at               timestamptz NOT NULL DEFAULT now(),
        escalations             integer NOT NULL DEFAULT 1,
        claimed_by              text,
        claimed_by_name         text,
        claimed_at              timestamptz,
        resolved_by_name        text,
        resolved_at             timestamptz,
        version                 integer NOT NULL DEFAULT 1,
        updated_at              timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 10,
    name: 'support_cases_by_thread',
    sql: `
      -- A support card's action finds its case by the thread it was clicked in, never by card data.
      CREATE INDEX support_cases_thread ON support_cases (channel_tenant_id, channel_id, thread_id);
    `,
  },
  {
    id: 11,
    name: 'cooldowns',
    sql: `
      -- How often a partner's members may ask for what costs Microsoft requests or support's attention (recheck, expiry, support).
      CREATE TABLE cooldowns (
        tenant_id text NOT NULL REFERENCES partners (tenant_id) ON DELETE CASCADE,
        action    text NOT NULL CHECK (action IN ('recheck', 'expiry', 'support')),
        until     timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, action)
      );
    `,
  },
  {
    id: 12,
    name: 'auth_states_takeover',
    sql: `
      -- A take-over sign-in: a member proves an administrator role of the tenant to own its onboarding.
      ALTER TABLE auth_states DROP CONSTRAINT auth_states_purpose_check;
      ALTER TABLE auth_states ADD CONSTRAINT auth_states_purpose_check CHECK (purpose IN ('signin', 'adminconsent', 'takeover'));
    `,
  },
  {
    id: 13,
    name: 'customer_syncs_phase_started_at',
    sql: `
      -- When the sync entered its current phase: each phase's own rate and ETA on the progress card.
      -- Older rows keep NULL (read as the sync's start); new rows start their first phase on insert.
      ALTER TABLE customer_syncs ADD COLUMN phase_started_at timestamptz;
      ALTER TABLE customer_syncs ALTER COLUMN phase_started_at SET DEFAULT now();
    `,
  },
  {
    id: 14,
    name: 'check_followups_to_job_engine',
    sql: `
      -- "Re-check in 15 minutes" is a job on the job engine now (one pending per partner by its key).
      -- The app moved the pending rows into it before this step ran (src/store/check-followups.ts, carryOverFromTable).
      DROP TABLE IF EXISTS check_followups;
    `,
  },
  {
    id: 15,
    name: 'customers_gdap_evidence_and_search',
    sql: `
      -- Why a customer is (not) manageable: each GDAP relationship as the sync or a "Check again" read
      -- it (status, end, auto-extend, roles, access assignments and whether they reach the service
      -- account), so the chat shows the evidence without asking Microsoft again.
      ALTER TABLE customer_sync_gdap ADD COLUMN evidence jsonb NOT NULL DEFAULT '[]';
      ALTER TABLE customers ADD COLUMN gdap_evidence jsonb NOT NULL DEFAULT '[]';
      ALTER TABLE customers ADD COLUMN checked_at timestamptz;
      -- "customer <name or domain>": prefix matches are index scans (text_pattern_ops serves LIKE 'x%'
      -- under any collation, on PostgreSQL and PGlite alike); a contains match scans one partner's rows.
      CREATE INDEX customers_name_search ON customers (tenant_id, lower(company_name) text_pattern_ops) WHERE removed_at IS NULL;
      CREATE INDEX customers_domain_search ON customers (tenant_id, lower(domain) text_pattern_ops) WHERE removed_at IS NULL;
    `,
  },
  {
    id: 16,
    name: 'support_messages_in_the_notices_outbox',
    sql: `
      -- "Support took your case" and "resolved" go out from the notices outbox: recorded in the
      -- claim's or resolve's own transaction (item_key: the case's version), sent by the dispatcher.
      ALTER TABLE notices DROP CONSTRAINT notices_item_check;
      ALTER TABLE notices ADD CONSTRAINT notices_item_check
        CHECK (item IN ('app-secret', 'pc-secret', 'refresh-token', 'gdap', 'consent', 'support-claimed', 'support-resolved'));
    `,
  },
  {
    id: 17,
    name: 'partner_setups',
    sql: `
      -- "Set it up for me" (issue 30): the partner's choice, the service account picked for it, and
      -- each step of the setup run as it ended (the ids it found or made: never a token or a secret),
      -- so a re-run or a restart resumes at the step it stopped. A run holds a lease while it works:
      -- 'running' with a lapsed lease is a run its instance no longer drives.
      CREATE TABLE partner_setups (
        tenant_id            text PRIMARY KEY REFERENCES partners (tenant_id) ON DELETE CASCADE,
        choice               text NOT NULL CHECK (choice IN ('setup', 'manual')),
        service_account_upn  text,
        status               text NOT NULL DEFAULT 'chosen' CHECK (status IN ('chosen', 'running', 'failed', 'done')),
        run_id               text,
        steps                jsonb NOT NULL DEFAULT '{}',
        failure              jsonb,
        conversation_id      text,
        progress_activity_id text,
        lease_until          timestamptz,
        started_at           timestamptz,
        finished_at          timestamptz,
        updated_at           timestamptz NOT NULL DEFAULT now()
      );
      -- The setup sign-in: a Global Administrator signs in to the operator's setup app for one run.
      ALTER TABLE auth_states DROP CONSTRAINT auth_states_purpose_check;
      ALTER TABLE auth_states ADD CONSTRAINT auth_states_purpose_check CHECK (purpose IN ('signin', 'adminconsent', 'takeover', 'setup'));
    `,
  },
  {
    id: 18,
    name: 'conversation_references_version',
    sql: `
      -- Bumped by every write to a conversation's row: a turn reads it with the partner and skips its
      -- upsert when this instance last wrote the same reference at the same version (another
      -- instance's write, a retire or an uninstall changes the version, so the upsert runs again).
      ALTER TABLE conversation_references ADD COLUMN version integer NOT NULL DEFAULT 1;
    `,
  },
  {
    id: 19,
    name: 'customers_trigram_search',
    sql: `
      -- "customer <piece of a name or domain>" and Find a customer: a piece from anywhere in a name or
      -- a domain is found through trigram indexes (pg_trgm's GIN serves LIKE '%x%' from 3 characters
      -- on), instead of scanning the partner's customers. pg_trgm is a trusted extension that PGlite
      -- ships and PostgreSQL installs with contrib; on Azure it must be allow-listed (azure.extensions:
      -- https://learn.microsoft.com/azure/postgresql/extensions/how-to-allow-extensions). Where it
      -- cannot be created the search stays correct, only slower, and the server's log says why.
      -- In schema public, and named by the schema it is in, so every schema of one database finds it.
      -- A pending list of at most 64 kB: writes are batched into it (a sync's page costs a third of
      -- what writing each row into the index does), and it is merged when full, since PGlite never
      -- runs the autovacuum that would; a search reads it whole, and at the 4 MB default the planner
      -- would rather scan the customers.
      DO $migration$
      DECLARE trgm_schema text;
      BEGIN
        BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
          RAISE WARNING 'pg_trgm is not available (%): the customer search reads every customer of the partner for a piece of a name', SQLERRM;
        END;
        SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
        IF trgm_schema IS NOT NULL THEN
          EXECUTE format('CREATE INDEX customers_name_trigrams ON customers USING gin (lower(company_name) %I.gin_trgm_ops) WITH (fastupdate = on, gin_pending_list_limit = 64) WHERE removed_at IS NULL', trgm_schema);
          EXECUTE format('CREATE INDEX customers_domain_trigrams ON customers USING gin (lower(domain) %I.gin_trgm_ops) WITH (fastupdate = on, gin_pending_list_limit = 64) WHERE removed_at IS NULL', trgm_schema);
        END IF;
      END
      $migration$;
    `,
  },
  {
    id: 20,
    name: 'partner_setups_for_me_cards',
    sql: `
      -- "Rotate it for me" and "Fix it for me" (issue 30 item 5): the cards that asked for a rotation
      -- or a repair (the notice or checks card pressed, the administrator's sign-in card), by intent,
      -- so the instance that finishes the work turns each into what was done, without a button that
      -- would start it again. Activity and conversation ids only.
      ALTER TABLE partner_setups ADD COLUMN for_me_cards jsonb NOT NULL DEFAULT '{}';
    `,
  },
  {
    id: 21,
    name: 'partner_setups_run_kind',
    sql: `
      -- What the run in this row is: the setup, or "Fix it for me" after onboarding (the same steps,
      -- but it ends by saying what it repaired). A run whose instance died is taken up with its own
      -- "Try again from here": after onboarding only the repair's sign-in goes on.
      ALTER TABLE partner_setups ADD COLUMN run_kind text NOT NULL DEFAULT 'setup' CHECK (run_kind IN ('setup', 'repair'));
    `,
  },
  {
    id: 22,
    name: 'secret_rotations',
    sql: `
      -- "Rotate it for me": one rotation of a partner's app secret at a time, across instances. A
      -- rotation claims the partner's row with a lease (renewed while it waits for Microsoft) and
      -- lets it go when it ends; a lapsed lease (its instance died) may be claimed again.
      CREATE TABLE secret_rotations (
        tenant_id   text PRIMARY KEY REFERENCES partners (tenant_id) ON DELETE CASCADE,
        run_id      text NOT NULL,
        lease_until timestamptz NOT NULL,
        started_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 23,
    name: 'support_cases_by_card',
    sql: `
      -- A click on a case card in the bare channel finds its case by the card's activity id, as a
      -- click in the thread does by the thread (support_cases_thread): one channel holds every case.
      CREATE INDEX support_cases_card ON support_cases (channel_tenant_id, channel_id, card_activity_id);
    `,
  },
];
