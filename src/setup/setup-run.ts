import { randomUUID } from 'node:crypto';
import type { Activity, Attachment } from 'botbuilder';
import { renderChecksCard, renderSectionSummary, renderSetupProgress, type SetupLine } from '../cards/render';
import { ADMIN_AGENTS, GRAPH_APP_ID, GRAPH_APP_PERMISSIONS, GRAPH_DELEGATED_PERMISSIONS, PARTNER_CENTER_APP_ID, PARTNER_CENTER_USER_IMPERSONATION_ID } from '../checks/microsoft';
import { requestAppToken, stringList } from '../credentials/client-credentials';
import { secretName } from '../credentials/credential-service';
import { GRAPH_DEFAULT } from '../credentials/scopes';
import { maskSecret, secretHint } from '../domain/credentials';
import type { Connection } from '../domain/partner';
import { consentComplete } from '../domain/steps';
import type { Logger } from '../logger';
import { explainGraphWriteError, type GraphWriteStep } from '../microsoft/graph-write-errors';
import { isMicrosoftHttpError } from '../microsoft/http-errors';
import { aadstsCodes, toChatText, type SignInExplanation } from '../microsoft/sign-in-errors';
import type { ConnectionRepository } from '../store/connections';
import type { ForMeIntent, PartnerSetup, PartnerSetupRepository, StepOutcome } from '../store/partner-setups';
import type { PartnerRepository } from '../store/partners';
import type { SecretStore } from '../store/secrets/secret-store';
import type { Notifier } from '../teams/notifier';
import type { CheckRunner } from '../verification/check-runner';
import { checksCardData } from '../verification/check-runner';
import { Verbs } from '../cards/verbs';
import { SetupMessages, SetupRefusals } from './setup-messages';
import { isNotReplicatedYet, SetupGraph, type Application, type RequiredResourceAccess } from './setup-graph';
import { SECRET_LIFETIMES_DAYS, SETUP_STEPS, setupStepLabel, setupTag, setupUniqueName, type SetupStepId } from './setup-steps';

/**
 * The setup run (issue 30): with a Global Administrator's delegated token, held in this object's
 * memory for the run and nowhere else, it finds or creates the partner's Entra app and wires it:
 * service principal, Microsoft's service principals, a client secret straight into the secret
 * store, admin consent, AdminAgents membership; it waits out replication, proves the secret with an
 * app-only token and runs the pre-flight. One progress card ticks each step over in place.
 *
 * Idempotent and resumable: every step reads before it writes (the app is found by its tag, a role
 * assignment, grant or membership that exists is left alone), and each finished step is recorded
 * (migration 17), so a new run after a failure or a crash starts at the first step not recorded.
 * The token is not recorded: after a restart the run needs a new sign-in, and the chat says so.
 */

/** A step stops the run with an explanation meant for the partner. */
export class SetupRefusal extends Error {
  constructor(readonly explanation: SignInExplanation) {
    super(explanation.code);
    this.name = 'SetupRefusal';
  }
}

export interface SetupRunnerOptions {
  setups: PartnerSetupRepository;
  partners: PartnerRepository;
  connections: ConnectionRepository;
  secrets: SecretStore;
  checks: Pick<CheckRunner, 'preflight' | 'full'>;
  notifier: Notifier;
  logger: Logger;
  graphBaseUrl: string;
  authorityHost: string;
  publicBaseUrl: string;
  /** The journey goes on in the chat once the Entra step is done (a proactive turn). */
  carryOn(tenantId: string, conversationId: string): Promise<unknown>;
  /** Waits between tries while Microsoft replicates; the run gives up after the last. */
  waitsMs?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
  /** How long a run's claim lasts without news (renewed at every step and wait). Default 90 s. */
  leaseMs?: number;
}

const DEFAULT_WAITS_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 30_000, 30_000, 30_000, 30_000];
const SECRET_NAME_PREFIX = 'Partner onboarding platform';
/** How Graph is named in a group membership reference, whatever URL the calls go to. */
const GRAPH_REF_BASE = 'https://graph.microsoft.com';

interface RunContext {
  /** The setup run, or the secret's rotation (its own steps and card). */
  kind: 'setup' | 'rotate';
  /** "Fix it for me" after onboarding: the same run, ending with what it repaired instead of carrying the journey on. */
  repair?: boolean;
  tenantId: string;
  runId: string;
  conversationId: string;
  actor: string;
  setup: PartnerSetup;
  graph: SetupGraph;
  outcomes: Record<string, StepOutcome>;
  lines: Map<string, SetupLine['state']>;
  waitingSaid: boolean;
  note?: string;
  activityId?: string;
}

export type RunStart = 'started' | 'busy';

export class SetupRunner {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly waitsMs: readonly number[];
  private readonly sleep: (ms: number) => Promise<void>;
  readonly leaseMs: number;

  constructor(private readonly o: SetupRunnerOptions) {
    this.waitsMs = o.waitsMs ?? DEFAULT_WAITS_MS;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.leaseMs = o.leaseMs ?? 90_000;
  }

  /**
   * Claims the partner's setup and runs it without the caller waiting (a sign-in page answers at
   * once). `accessToken` is the administrator's delegated Graph token: it lives in this run's closure.
   */
  async start(tenantId: string, conversationId: string, accessToken: string, actor: string, mode: 'setup' | 'repair' = 'setup'): Promise<RunStart> {
    const runId = randomUUID();
    const setup = await this.o.setups.begin(tenantId, runId, conversationId, this.leaseMs, actor, mode);
    if (!setup) return 'busy';
    let token: string | undefined = accessToken;
    const ctx: RunContext = {
      kind: 'setup', repair: mode === 'repair', tenantId, runId, conversationId, actor, setup,
      graph: new SetupGraph(this.o.graphBaseUrl, () => token ?? ''),
      outcomes: { ...setup.steps }, lines: new Map(), waitingSaid: false,
    };
    const run = this.execute(ctx)
      .catch((err: unknown) => this.o.logger.error({ err, tenantId }, 'setup run crashed'))
      .finally(() => { token = undefined; });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return 'started';
  }

  /** Waits for the runs in flight (a graceful stop, and tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs whose instance is gone: each chat hears where it stopped and gets "Try again from here". */
  async sweepInterrupted(): Promise<number> {
    const stopped = await this.o.setups.takeInterrupted();
    for (const s of stopped) {
      const at = SETUP_STEPS.find((step) => !(step.id in s.steps))?.id ?? 'preflight';
      if (!s.conversationId) continue;
      const lines = new Map<string, SetupLine['state']>(SETUP_STEPS.map((step) => [step.id, step.id in s.steps ? 'done' : step.id === at ? 'failed' : 'pending']));
      // A repair after onboarding tries again through its own sign-in ("Fix it for me"): the setup's dialog is over.
      const repair = s.runKind === 'repair';
      const said = (repair ? SetupMessages.repairInterrupted : SetupMessages.interrupted)(setupStepLabel(at));
      const card = this.card(lines, 'failed', { failedAt: at, note: said, repair });
      if (s.progressActivityId) await this.o.notifier.update(s.tenantId, s.conversationId, s.progressActivityId, { attachments: [card] }).catch(() => false);
      await this.o.notifier.send(s.tenantId, s.conversationId, { text: said }).catch(() => false);
      this.o.logger.info({ tenantId: s.tenantId, step: at, kind: s.runKind }, 'setup run interrupted (its instance is gone); the chat was told');
    }
    return stopped.length;
  }

  /**
   * "Rotate it for me" (issue 30 item 5), for an app the bot created: with a Global
   * Administrator's token (in this closure only), a new secret is added and proven with an
   * app-only token while the stored one stays in use; only then is it stored in place of the old
   * one (the connection's metadata with it, so the expiry notices start over for the new secret),
   * the old one removed, and the checks run on the new one. A rotation that stops before the
   * store leaves the old secret in use; its unused new secret is removed by the next rotation.
   */
  async rotate(tenantId: string, conversationId: string, accessToken: string, actor: string): Promise<RunStart> {
    // One rotation per partner at a time, across instances: a claim in the database with a lease.
    const runId = randomUUID();
    if (!(await this.o.setups.claimRotation(tenantId, runId, this.leaseMs))) return 'busy';
    let token: string | undefined = accessToken;
    const ctx: RunContext = {
      kind: 'rotate', tenantId, runId, conversationId, actor, setup: { tenantId, choice: 'setup', status: 'done', runKind: 'setup', steps: {} },
      graph: new SetupGraph(this.o.graphBaseUrl, () => token ?? ''),
      outcomes: {}, lines: new Map(ROTATE_STEPS.map((step) => [step.id, 'pending'])), waitingSaid: false,
    };
    const run = this.executeRotation(ctx)
      .catch((err: unknown) => this.o.logger.error({ err, tenantId }, 'secret rotation crashed'))
      .finally(() => { token = undefined; })
      .then(() => this.o.setups.releaseRotation(tenantId, runId))
      .catch((err: unknown) => this.o.logger.warn({ err, tenantId }, 'the secret rotation\'s claim was not released; its lease lapses'));
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return 'started';
  }

  private async executeRotation(ctx: RunContext): Promise<void> {
    const { tenantId } = ctx;
    const partner = await this.o.partners.get(tenantId);
    const c = partner?.connection;
    if (!partner || !c || c.botCreatedAppId?.toLowerCase() !== c.appId.toLowerCase()) {
      await this.say(ctx, SetupMessages.rotateNotOurs);
      return;
    }
    await this.say(ctx, SetupMessages.rotateStarted);
    ctx.activityId = await this.o.notifier.post(tenantId, ctx.conversationId, { attachments: [rotateCard(ctx.lines, 'running')] });
    let step: RotateStepId = 'add';
    const begin = async (id: RotateStepId) => {
      if (step !== id) ctx.lines.set(step, 'done');
      step = id;
      ctx.lines.set(id, 'running');
      await this.show(ctx, 'running');
    };
    let stored = false;
    try {
      await begin('add');
      const app = await ctx.graph.applicationByAppId(c.appId);
      if (!app) throw new SetupRefusal(SetupRefusals.rotateAppGone);
      const name = secretName(tenantId, 'appSecret');
      const current = await this.o.secrets.get(name);
      const ours = app.passwordCredentials.filter((p) => p.displayName?.startsWith(SECRET_NAME_PREFIX));
      const inUse = current ? ours.filter((p) => p.hint === secretHint(current)) : [];
      // Left by a rotation that stopped before storing its secret: never used, so it goes first.
      for (const unused of ours.filter((p) => !inUse.includes(p))) await ctx.graph.removePassword(app.id, unused.keyId);
      const created = await this.addSecret(ctx, 'add', app.id);

      await begin('prove');
      await this.proveSecret(ctx, 'prove', c.appId, created.secretText);

      await begin('store');
      await this.o.secrets.set(name, created.secretText);
      stored = true;
      const meta = { storeName: name, hint: secretHint(created.secretText), setBy: ctx.actor, setAt: new Date().toISOString(), expiresAt: created.endDateTime };
      const record = await this.o.connections.saveCredentials(tenantId, c, { appSecret: meta }, ctx.actor, randomUUID());
      if (!record) throw new Error('the rotated secret\'s metadata was not saved');

      await begin('remove');
      for (const old of inUse) if (old.keyId !== created.keyId) await ctx.graph.removePassword(app.id, old.keyId);

      await begin('checks');
      const run = consentComplete(partner) ? await this.o.checks.full(record, ctx.actor) : await this.o.checks.preflight(record, ctx.actor);
      ctx.lines.set('checks', 'done');
      await this.show(ctx, 'done');
      await this.o.notifier.send(tenantId, ctx.conversationId, { attachments: [renderChecksCard(checksCardData(run))] });
      this.o.logger.info({ tenantId, verdict: run.verdict }, 'app secret rotated');
      await this.spendCards(ctx, 'rotate', renderSectionSummary({
        title: 'Client secret replaced for you',
        facts: [{ label: 'New secret valid until', value: created.endDateTime.slice(0, 10) }, { label: 'Replaced on', value: new Date().toISOString().slice(0, 10) }],
        note: 'The old secret is removed; your connection kept working throughout. I’ll warn you again before the new one expires.',
      }), 'A Global Administrator signed in to replace the secret');
      await this.say(ctx, SetupMessages.rotated(created.endDateTime.slice(0, 10)));
    } catch (err) {
      const explanation = err instanceof SetupRefusal ? err.explanation : explainGraphWriteError(err, 'secret');
      if (!(err instanceof SetupRefusal)) this.o.logger.warn({ err, tenantId, step }, 'secret rotation failed');
      ctx.lines.set(step, 'failed');
      await this.show(ctx, 'failed', step);
      await this.say(ctx, stored ? toChatText(explanation) : `${toChatText(explanation)}\n\n${SetupMessages.rotateFailedKeptOld}`);
    }
  }

  // ---- the run --------------------------------------------------------------------------------

  private async execute(ctx: RunContext): Promise<void> {
    const { tenantId } = ctx;
    for (const s of SETUP_STEPS) ctx.lines.set(s.id, s.id in ctx.outcomes ? 'done' : 'pending');
    await this.o.notifier.send(tenantId, ctx.conversationId, { text: SetupMessages.started });
    ctx.activityId = await this.o.notifier.post(tenantId, ctx.conversationId, { attachments: [this.card(ctx.lines, 'running')] });
    if (ctx.activityId) await this.o.setups.setProgressActivity(tenantId, ctx.runId, ctx.activityId);

    for (const step of SETUP_STEPS) {
      if (step.id in ctx.outcomes) continue;
      ctx.lines.set(step.id, 'running');
      await this.show(ctx, 'running');
      let outcome: StepOutcome;
      try {
        outcome = await this.step(ctx, step.id);
      } catch (err) {
        await this.failed(ctx, step.id, err);
        return;
      }
      ctx.outcomes[step.id] = outcome;
      if (!(await this.o.setups.recordStep(tenantId, ctx.runId, step.id, outcome, this.leaseMs))) {
        this.o.logger.warn({ tenantId, step: step.id }, 'setup run lost its claim; another run goes on');
        return;
      }
      ctx.lines.set(step.id, 'done');
      this.o.logger.info({ tenantId, step: step.id }, 'setup step done');
    }
    await this.o.setups.finish(tenantId, ctx.runId);
    await this.show(ctx, 'done');
    await this.finishInChat(ctx);
  }

  private step(ctx: RunContext, id: SetupStepId): Promise<StepOutcome> {
    switch (id) {
      case 'account': return this.account(ctx);
      case 'app': return this.app(ctx);
      case 'servicePrincipal': return this.servicePrincipal(ctx);
      case 'resources': return this.resources(ctx);
      case 'secret': return this.secret(ctx);
      case 'consent': return this.consent(ctx);
      case 'adminAgents': return this.adminAgents(ctx);
      case 'prove': return this.prove(ctx);
      case 'preflight': return this.preflight(ctx);
    }
  }

  private async account(ctx: RunContext): Promise<StepOutcome> {
    const upn = ctx.setup.serviceAccountUpn!;
    const user = await ctx.graph.user(upn);
    if (!user) throw new SetupRefusal(SetupRefusals.accountMissing(upn));
    if (user.userType?.toLowerCase() === 'guest') throw new SetupRefusal(SetupRefusals.accountGuest(upn));
    if (user.accountEnabled === false) throw new SetupRefusal(SetupRefusals.accountDisabled(upn));
    return { userId: user.id, upn: user.userPrincipalName ?? upn };
  }

  /** Found by its tag (or the app the partner entered before), repaired; created only when there is none. */
  private async app(ctx: RunContext): Promise<StepOutcome> {
    const tag = setupTag(ctx.tenantId);
    const tagged = (await ctx.graph.applicationsTagged(tag)).sort((a, b) => (a.createdDateTime ?? '').localeCompare(b.createdDateTime ?? ''));
    let app: Application | undefined = tagged[0];
    const partner = await this.o.partners.get(ctx.tenantId);
    const entered = partner?.connection;
    if (!app && entered && entered.partnerTenantId.toLowerCase() === ctx.tenantId.toLowerCase()) app = await ctx.graph.applicationByAppId(entered.appId);
    const redirectUris = [`${this.o.publicBaseUrl}/auth/callback`, `${this.o.publicBaseUrl}/auth/adminconsent/callback`];
    if (!app) {
      // An upsert under our key, not a POST: a run that stopped right after creating the app finds it
      // here even while Microsoft still leaves it out of the tag list above.
      const displayName = `${partner?.company?.legalName ?? 'Partner'} – partner onboarding platform`.slice(0, 120);
      const uniqueName = setupUniqueName(ctx.tenantId);
      const created = await ctx.graph.upsertApplication(uniqueName, { displayName, tags: [tag], requiredResourceAccess: wantedAccess([]), redirectUris });
      if (created) return { appObjectId: created.id, appId: created.appId, created: true, repaired: [] };
      app = await this.replicated(ctx, 'app', 'the app', () => ctx.graph.applicationByUniqueName(uniqueName));
    }
    const repaired: string[] = [];
    const patch: { tags?: string[]; requiredResourceAccess?: RequiredResourceAccess[]; redirectUris?: string[] } = {};
    if (!app.tags.includes(tag)) { patch.tags = [...app.tags, tag]; repaired.push('tag'); }
    const access = wantedAccess(app.requiredResourceAccess);
    if (JSON.stringify(access) !== JSON.stringify(app.requiredResourceAccess)) { patch.requiredResourceAccess = access; repaired.push('permissions'); }
    const uris = app.web?.redirectUris ?? [];
    const missing = redirectUris.filter((u) => !uris.includes(u));
    if (missing.length > 0) { patch.redirectUris = [...uris, ...missing]; repaired.push('redirectUris'); }
    const id = app.id;
    if (repaired.length > 0) await this.replicated(ctx, 'app', 'the app', () => ctx.graph.updateApplication(id, patch));
    return { appObjectId: app.id, appId: app.appId, created: false, repaired };
  }

  private async servicePrincipal(ctx: RunContext): Promise<StepOutcome> {
    const appId = String(ctx.outcomes.app!.appId);
    const existing = await ctx.graph.servicePrincipal(appId);
    if (existing) return { spId: existing.id, created: false };
    const sp = await this.createServicePrincipal(ctx, 'servicePrincipal', appId);
    return { spId: sp.id, created: sp.created };
  }

  /** Graph and Partner Center must have a service principal in the tenant for consent to name them. */
  private async resources(ctx: RunContext): Promise<StepOutcome> {
    const graphSp = (await ctx.graph.servicePrincipal(GRAPH_APP_ID)) ?? (await this.createServicePrincipal(ctx, 'resources', GRAPH_APP_ID));
    const pcExisting = await ctx.graph.servicePrincipal(PARTNER_CENTER_APP_ID);
    const pcSp = pcExisting ?? (await this.createServicePrincipal(ctx, 'resources', PARTNER_CENTER_APP_ID));
    return { graphSpId: graphSp.id, pcSpId: pcSp.id, pcCreated: !pcExisting };
  }

  /** POST /servicePrincipals, waiting out a new app's replication; 409 means it exists (another try made it). */
  private async createServicePrincipal(ctx: RunContext, step: SetupStepId, appId: string): Promise<{ id: string; created: boolean }> {
    try {
      const sp = await this.replicated(ctx, step, 'the app', () => ctx.graph.createServicePrincipal(appId));
      return { id: sp.id, created: true };
    } catch (err) {
      if (!(isMicrosoftHttpError(err) && err.status === 409)) throw err;
      const sp = await this.replicated(ctx, step, 'the app', async () => {
        const found = await ctx.graph.servicePrincipal(appId);
        if (!found) throw err;
        return found;
      });
      return { id: sp.id, created: false };
    }
  }

  /**
   * A stored secret that Microsoft still accepts is kept (a re-run repairs, it doesn't rotate).
   * Otherwise the bot's own earlier secrets on the app (left by a run that stopped before it
   * recorded one) are removed and one new secret is added: never two live secrets of ours.
   */
  private async secret(ctx: RunContext): Promise<StepOutcome> {
    const { tenantId } = ctx;
    const appObjectId = String(ctx.outcomes.app!.appObjectId);
    const appId = String(ctx.outcomes.app!.appId);
    const app = await this.replicated(ctx, 'secret', 'the app', () => ctx.graph.application(appObjectId));
    const ours = app.passwordCredentials.filter((c) => c.displayName?.startsWith(SECRET_NAME_PREFIX));
    const stored = await this.o.secrets.get(secretName(tenantId, 'appSecret'));
    const partner = await this.o.partners.get(tenantId);
    if (stored && partner?.connection?.appId === appId) {
      const same = ours.filter((c) => c.hint === secretHint(stored));
      const token = same.length === 1 ? await requestAppToken(this.o.authorityHost, tenantId, appId, stored, GRAPH_DEFAULT) : undefined;
      if (token?.ok) return { keyId: same[0]!.keyId, endDateTime: same[0]!.endDateTime ?? null, kept: true };
    }
    for (const old of ours) await this.replicated(ctx, 'secret', 'the app', () => ctx.graph.removePassword(appObjectId, old.keyId));

    const created = await this.addSecret(ctx, 'secret', appObjectId);
    // Straight into the secret store; only its metadata goes on (the database gets hint and expiry).
    await this.o.secrets.set(secretName(tenantId, 'appSecret'), created.secretText);
    return { keyId: created.keyId, endDateTime: created.endDateTime, days: created.days, kept: false };
  }

  /**
   * addPassword for the longest lifetime the tenant's app management policy allows: two years
   * first, shorter when the policy refuses (said in chat). The value is the caller's to keep.
   */
  private async addSecret(ctx: RunContext, step: SetupStepId | RotateStepId, appObjectId: string): Promise<{ secretText: string; keyId: string; endDateTime: string; days: number }> {
    let capped = false;
    for (const days of SECRET_LIFETIMES_DAYS) {
      const end = new Date(Date.now() + days * 86_400_000).toISOString();
      try {
        const created = await this.replicated(ctx, step, 'the app', () => ctx.graph.addPassword(appObjectId, `${SECRET_NAME_PREFIX} (${end.slice(0, 10)})`, end));
        const endDateTime = created.endDateTime ?? end;
        if (capped) await this.say(ctx, SetupMessages.secretCapped(days, endDateTime.slice(0, 10)));
        return { secretText: created.secretText, keyId: created.keyId, endDateTime, days };
      } catch (err) {
        if (isMicrosoftHttpError(err) && err.code === 'CredentialInvalidLifetimeAsPerAppPolicy' && days !== SECRET_LIFETIMES_DAYS.at(-1)) {
          capped = true;
          continue;
        }
        throw err;
      }
    }
    throw new Error('unreachable: the last lifetime either succeeds or throws');
  }

  /** An app role assignment per Graph application permission; one AllPrincipals grant each for User.Read and user_impersonation. */
  private async consent(ctx: RunContext): Promise<StepOutcome> {
    const spId = String(ctx.outcomes.servicePrincipal!.spId);
    const graphSpId = String(ctx.outcomes.resources!.graphSpId);
    const pcSpId = String(ctx.outcomes.resources!.pcSpId);
    const assigned = await this.replicated(ctx, 'consent', 'the app', () => ctx.graph.appRoleAssignments(spId));
    const added: string[] = [];
    for (const perm of GRAPH_APP_PERMISSIONS) {
      if (assigned.some((a) => a.resourceId === graphSpId && a.appRoleId.toLowerCase() === perm.id)) continue;
      try {
        await this.replicated(ctx, 'consent', 'the app', () => ctx.graph.assignAppRole(spId, graphSpId, perm.id));
        added.push(perm.name);
      } catch (err) {
        // Another try got there first: Graph says the assignment exists.
        if (!(isMicrosoftHttpError(err) && err.status === 400 && /already exists/i.test(err.description ?? ''))) throw err;
      }
    }
    const user = GRAPH_DELEGATED_PERMISSIONS.map((p) => p.name).join(' ');
    await this.grant(ctx, spId, graphSpId, user);
    await this.grant(ctx, spId, pcSpId, 'user_impersonation');
    return { appRolesAdded: added };
  }

  private async grant(ctx: RunContext, clientId: string, resourceId: string, scope: string): Promise<void> {
    const ensure = async (): Promise<void> => {
      const [grant] = await ctx.graph.allPrincipalsGrants(clientId, resourceId);
      if (!grant) {
        await ctx.graph.createGrant(clientId, resourceId, scope);
        return;
      }
      const scopes = (grant.scope ?? '').split(' ').filter(Boolean);
      if (!scopes.includes(scope)) await ctx.graph.updateGrantScope(grant.id, [...scopes, scope].join(' '));
    };
    try {
      await this.replicated(ctx, 'consent', 'the app', ensure);
    } catch (err) {
      // 409: a grant for this client and resource appeared meanwhile; read it and add the scope.
      if (!(isMicrosoftHttpError(err) && err.status === 409)) throw err;
      await this.replicated(ctx, 'consent', 'the app', ensure);
    }
  }

  private async adminAgents(ctx: RunContext): Promise<StepOutcome> {
    const groupId = await ctx.graph.groupByName(ADMIN_AGENTS);
    if (!groupId) throw new SetupRefusal(SetupRefusals.noAdminAgents);
    const members = await ctx.graph.groupMemberIds(groupId);
    const wanted = [String(ctx.outcomes.servicePrincipal!.spId), String(ctx.outcomes.account!.userId)];
    const added: string[] = [];
    for (const id of wanted) {
      if (members.has(id.toLowerCase())) continue;
      try {
        await this.replicated(ctx, 'adminAgents', 'the app', () => ctx.graph.addGroupMember(groupId, id, GRAPH_REF_BASE));
      } catch (err) {
        if (isMicrosoftHttpError(err) && err.status === 403) throw new SetupRefusal(SetupRefusals.adminAgentsDenied);
        throw err;
      }
      added.push(id);
    }
    return { groupId, added };
  }

  /**
   * An app-only token with the stored secret, carrying the four application permissions. A new
   * secret (AADSTS7000215), a new app (700016) or new consent (roles missing) may take a while to
   * replicate: wait and try again, said in chat. Then the bot's older secrets on the app go.
   */
  private async prove(ctx: RunContext): Promise<StepOutcome> {
    const { tenantId } = ctx;
    const appId = String(ctx.outcomes.app!.appId);
    const secret = await this.o.secrets.get(secretName(tenantId, 'appSecret'));
    if (!secret) throw new SetupRefusal(SetupRefusals.secretUnproven);
    await this.proveSecret(ctx, 'prove', appId, secret);
    const keyId = String(ctx.outcomes.secret!.keyId);
    const appObjectId = String(ctx.outcomes.app!.appObjectId);
    const app = await ctx.graph.application(appObjectId);
    const stale = app.passwordCredentials.filter((c) => c.displayName?.startsWith(SECRET_NAME_PREFIX) && c.keyId !== keyId);
    for (const old of stale) await ctx.graph.removePassword(appObjectId, old.keyId);
    return { proven: true, removedOldSecrets: stale.length };
  }

  /**
   * An app-only token with `secret`, carrying the four application permissions. A new secret
   * (AADSTS7000215), a new app (700016) or new consent (roles missing) may take a while to
   * replicate: wait and try again, said in chat.
   */
  private async proveSecret(ctx: RunContext, step: SetupStepId | RotateStepId, appId: string, secret: string): Promise<void> {
    const wanted = GRAPH_APP_PERMISSIONS.map((p) => p.name);
    for (let attempt = 0; ; attempt++) {
      const token = await requestAppToken(this.o.authorityHost, ctx.tenantId, appId, secret, GRAPH_DEFAULT);
      const roles = token.ok ? stringList(token.claims.roles) : [];
      if (token.ok && wanted.every((r) => roles.includes(r))) return;
      const replicating = !token.ok && 'error' in token ? aadstsCodes(token.error).some((c) => c === 7000215 || c === 700016) : true;
      if (!replicating) throw new SetupRefusal(SetupRefusals.secretUnproven);
      if (attempt >= this.waitsMs.length) throw new SetupRefusal(SetupRefusals.slowReplication);
      await this.wait(ctx, step, token.ok ? 'the app’s consent' : 'the new secret', attempt);
    }
  }

  /** The credentials are saved as the Entra card would (masked metadata, secret in the store), then the pre-flight runs. */
  private async preflight(ctx: RunContext): Promise<StepOutcome> {
    const { tenantId } = ctx;
    const partner = await this.o.partners.get(tenantId);
    if (!partner) throw new SetupRefusal(SetupRefusals.secretUnproven);
    const appId = String(ctx.outcomes.app!.appId);
    const secret = (await this.o.secrets.get(secretName(tenantId, 'appSecret')))!;
    const upn = String(ctx.outcomes.account!.upn);
    const old = partner.connection;
    const connection: Connection = {
      ...(old && old.partnerTenantId.toLowerCase() === tenantId.toLowerCase() ? old : {}),
      partnerTenantId: tenantId, serviceAccountUpn: upn, appId, botCreatedAppId: appId,
    };
    const endDateTime = ctx.outcomes.secret!.endDateTime;
    const meta = {
      storeName: secretName(tenantId, 'appSecret'), hint: secretHint(secret), setBy: ctx.actor, setAt: new Date().toISOString(),
      ...(typeof endDateTime === 'string' ? { expiresAt: endDateTime } : {}),
    };
    const record = await this.o.connections.saveCredentials(tenantId, connection, { appSecret: meta }, ctx.actor, randomUUID(), { adminConsentDetected: true });
    if (!record) throw new Error('the setup\'s credentials were not saved');
    // A repair after onboarding runs the full checks (the service account's sign-in is there), so the partner's verdict is fresh.
    const run = ctx.repair && consentComplete(partner) ? await this.o.checks.full(record, ctx.actor) : await this.o.checks.preflight(record, ctx.actor);
    await this.o.notifier.send(tenantId, ctx.conversationId, { attachments: [renderChecksCard(checksCardData(run))] });
    return { verdict: run.verdict };
  }

  // ---- waiting, failing, the card ------------------------------------------------------------

  /** Runs `fn`, waiting with backoff while Microsoft answers that a new object isn't there yet. */
  private async replicated<T>(ctx: RunContext, step: SetupStepId | RotateStepId, what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isNotReplicatedYet(err)) throw err;
        if (attempt >= this.waitsMs.length) throw new SetupRefusal(SetupRefusals.slowReplication);
        await this.wait(ctx, step, what, attempt);
      }
    }
  }

  private async wait(ctx: RunContext, step: SetupStepId | RotateStepId, what: string, attempt: number): Promise<void> {
    ctx.lines.set(step, 'waiting');
    if (!ctx.waitingSaid) {
      ctx.waitingSaid = true;
      await this.say(ctx, SetupMessages.waiting(what));
    }
    await this.show(ctx, 'running');
    if (ctx.kind === 'rotate') await this.o.setups.renewRotation(ctx.tenantId, ctx.runId, this.leaseMs + this.waitsMs[attempt]!);
    else await this.o.setups.renew(ctx.tenantId, ctx.runId, this.leaseMs + this.waitsMs[attempt]!);
    await this.sleep(this.waitsMs[attempt]!);
    ctx.lines.set(step, 'running');
  }

  private async failed(ctx: RunContext, step: SetupStepId, err: unknown): Promise<void> {
    const explanation = err instanceof SetupRefusal ? err.explanation : explainGraphWriteError(err, step as GraphWriteStep);
    if (!(err instanceof SetupRefusal)) this.o.logger.warn({ err, tenantId: ctx.tenantId, step }, 'setup step failed');
    else this.o.logger.info({ tenantId: ctx.tenantId, step, code: explanation.code }, 'setup step refused');
    ctx.lines.set(step, 'failed');
    await this.o.setups.fail(ctx.tenantId, ctx.runId, { step, code: explanation.code, text: toChatText(explanation) });
    await this.show(ctx, 'failed', step);
    await this.say(ctx, toChatText(explanation));
  }

  private async finishInChat(ctx: RunContext): Promise<void> {
    const { tenantId } = ctx;
    if (ctx.repair) {
      const items = repairedItems(ctx.outcomes);
      await this.spendCards(ctx, 'repair', renderSectionSummary({
        title: 'Your app is repaired',
        facts: [{ label: 'Repaired', value: items.length ? items.join('; ') : 'nothing: everything was in place' }, { label: 'On', value: new Date().toISOString().slice(0, 10) }],
        note: 'The fresh checks are in a newer card below.',
      }), 'A Global Administrator signed in to repair your app');
      await this.say(ctx, SetupMessages.repaired(items));
      return;
    }
    const partner = await this.o.partners.get(tenantId);
    const c = partner?.connection;
    const secret = partner?.credentials.appSecret;
    const until = typeof ctx.outcomes.secret?.endDateTime === 'string' ? ctx.outcomes.secret.endDateTime.slice(0, 10) : '—';
    if (c && secret) {
      await this.o.notifier.send(tenantId, ctx.conversationId, {
        attachments: [renderSectionSummary({
          title: 'Tenant and Entra app set up for you',
          facts: [
            { label: 'Partner tenant', value: c.partnerTenantName ? `${c.partnerTenantName} (${c.partnerTenantId})` : c.partnerTenantId },
            { label: 'Service account', value: c.serviceAccountUpn },
            { label: 'App (client) ID', value: c.appId },
            { label: 'Client secret', value: `${maskSecret(secret.hint)} · expires ${until}` },
          ],
          note: 'The secret went straight into the encrypted vault: nobody saw or copied it.',
        })],
      });
    }
    await this.say(ctx, `${SetupMessages.done(until)}\n\n${SetupMessages.partnerCenterOptional}`);
    await this.o.carryOn(tenantId, ctx.conversationId);
  }

  /**
   * The work is done: the cards that asked for it (the notice or checks card pressed, the sign-in
   * cards whose links are spent) say so, without a button that would start it again.
   */
  private async spendCards(ctx: RunContext, intent: ForMeIntent, done: Attachment, signedIn: string): Promise<void> {
    const cards = await this.o.setups.takeForMeCards(ctx.tenantId, intent).catch(() => []);
    const signInCard = renderSectionSummary({ title: signedIn, facts: [], note: 'The sign-in was used for this only and not kept.' });
    for (const c of cards) {
      await this.o.notifier.update(ctx.tenantId, c.conversationId, c.activityId, { attachments: [c.role === 'signIn' ? signInCard : done] }).catch(() => false);
    }
  }

  private async say(ctx: RunContext, text: string): Promise<void> {
    await this.o.notifier.send(ctx.tenantId, ctx.conversationId, { text } satisfies Partial<Activity>).catch(() => false);
  }

  private async show(ctx: RunContext, phase: 'running' | 'done' | 'failed', failedAt?: string): Promise<void> {
    if (!ctx.activityId) return;
    const card = ctx.kind === 'rotate' ? rotateCard(ctx.lines, phase, failedAt) : this.card(ctx.lines, phase, { failedAt, repair: ctx.repair === true });
    await this.o.notifier.update(ctx.tenantId, ctx.conversationId, ctx.activityId, { attachments: [card] }).catch(() => false);
  }

  private card(lines: Map<string, SetupLine['state']>, phase: 'running' | 'done' | 'failed', extra: { failedAt?: string; note?: string; repair?: boolean } = {}): Attachment {
    return renderSetupProgress({
      title: phase === 'done' ? '✓ Your Entra app is set up' : phase === 'failed' ? `The setup stopped at: ${setupStepLabel(extra.failedAt ?? '')}` : 'Setting up your Entra app…',
      lines: SETUP_STEPS.map((s) => ({ text: s.label, state: lines.get(s.id) ?? 'pending' })),
      note: extra.note ?? (phase === 'failed' ? 'The reason and the fix are in the chat below. Nothing done so far is lost or done twice.'
        : phase === 'done' ? 'Every step is done. The administrator’s sign-in was used for this run only and not kept.'
          : 'This card updates as each step ends. The administrator’s sign-in is used for this run only and never kept.'),
      retry: phase === 'failed',
      // After onboarding the setup's dialog is over: trying again is a new "Fix it for me" sign-in, which resumes here.
      ...(extra.repair ? { retryVerb: Verbs.setupRepair } : {}),
    });
  }
}

/** The requested permissions: the four Graph application permissions, User.Read, Partner Center user_impersonation; anything else already there is kept. */
function wantedAccess(current: readonly RequiredResourceAccess[]): RequiredResourceAccess[] {
  const want = new Map<string, Array<{ id: string; type: string }>>([
    [GRAPH_APP_ID, [...GRAPH_APP_PERMISSIONS, ...GRAPH_DELEGATED_PERMISSIONS].map((p) => ({ id: p.id, type: p.type }))],
    [PARTNER_CENTER_APP_ID, [{ id: PARTNER_CENTER_USER_IMPERSONATION_ID, type: 'Scope' }]],
  ]);
  const out: RequiredResourceAccess[] = current.map((r) => ({ resourceAppId: r.resourceAppId, resourceAccess: r.resourceAccess.map((a) => ({ id: a.id, type: a.type })) }));
  for (const [resourceAppId, access] of want) {
    let entry = out.find((r) => r.resourceAppId.toLowerCase() === resourceAppId);
    if (!entry) out.push((entry = { resourceAppId, resourceAccess: [] }));
    for (const a of access) if (!entry.resourceAccess.some((x) => x.id.toLowerCase() === a.id && x.type === a.type)) entry.resourceAccess.push(a);
  }
  return out;
}

/** The rotation's steps, in order, as its card shows them. */
const ROTATE_STEPS = [
  { id: 'add', label: 'Add a new client secret (into the vault, never shown)' },
  { id: 'prove', label: 'Prove the new secret with Microsoft' },
  { id: 'store', label: 'Use the new secret in place of the old one' },
  { id: 'remove', label: 'Remove the old secret' },
  { id: 'checks', label: 'Run the checks with the new secret' },
] as const;

type RotateStepId = (typeof ROTATE_STEPS)[number]['id'];

function rotateCard(lines: Map<string, SetupLine['state']>, phase: 'running' | 'done' | 'failed', failedAt?: string): Attachment {
  const label = ROTATE_STEPS.find((s) => s.id === failedAt)?.label ?? '';
  return renderSetupProgress({
    title: phase === 'done' ? '✓ Your app’s client secret is replaced' : phase === 'failed' ? `The secret’s rotation stopped at: ${label}` : 'Replacing your app’s client secret…',
    lines: ROTATE_STEPS.map((s) => ({ text: s.label, state: lines.get(s.id) ?? 'pending' })),
    note: phase === 'failed' ? 'The reason is in the chat below.'
      : phase === 'done' ? 'Every step is done. The administrator’s sign-in was used for this only and not kept.'
        : 'This card updates as each step ends. Your connection keeps working with the old secret until the new one is proven.',
    retry: false,
  });
}

/** What a repair run changed, in the partner's words (the recorded outcomes of its steps). */
function repairedItems(outcomes: Record<string, StepOutcome>): string[] {
  const out: string[] = [];
  const words: Record<string, string> = { tag: 'its tag', permissions: 'the permissions it requests', redirectUris: 'its redirect addresses' };
  const repaired = Array.isArray(outcomes.app?.repaired) ? (outcomes.app.repaired as string[]) : [];
  if (repaired.length) out.push(`the app registration (${repaired.map((r) => words[r] ?? r).join(', ')})`);
  if (outcomes.servicePrincipal?.created === true) out.push('its enterprise application, created again');
  if (outcomes.resources?.pcCreated === true) out.push('Partner Center added to your tenant');
  if (outcomes.secret?.kept === false) out.push('a new client secret, since Microsoft no longer accepted the stored one');
  const roles = Array.isArray(outcomes.consent?.appRolesAdded) ? (outcomes.consent.appRolesAdded as string[]) : [];
  if (roles.length) out.push(`admin consent for ${roles.join(', ')}`);
  const added = Array.isArray(outcomes.adminAgents?.added) ? (outcomes.adminAgents.added as string[]) : [];
  const spId = String(outcomes.servicePrincipal?.spId ?? '');
  if (added.some((id) => id === spId)) out.push('the app added to AdminAgents');
  if (added.some((id) => id !== spId)) out.push('the service account added to AdminAgents');
  return out;
}
