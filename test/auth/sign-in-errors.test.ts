import assert from 'node:assert/strict';
import { InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import {
  aadstsCodes, DOC_LINKS, entraErrorFromBody, entraErrorFromMsal, entraErrorFromQuery, EXPLAINED_AADSTS_CODES, explainSignInError,
  looksLikeSecretId, partnerCenterCode, toChatText, type LocalFailureInput, type RetryAdvice, type SignInExplanation,
} from '../../src/microsoft/sign-in-errors';
import { aadError } from '../simulator/http';

const TRACE = '0000aaaa-11bb-cccc-dd33-eeeeee333333';
const CORRELATION = 'aaaa0000-bb11-2222-33cc-444444dddddd';
/** What Entra puts in error_description: the code, a sentence, then ids and a timestamp. */
const description = (code: number, sentence = 'Something went wrong.') =>
  `AADSTS${code}: ${sentence}\r\nTrace ID: ${TRACE}\r\nCorrelation ID: ${CORRELATION}\r\nTimestamp: 2026-11-30 04:20:00Z`;
const entra = (code: number, error = 'invalid_grant') =>
  explainSignInError({ source: 'entra', error, error_description: description(code), error_codes: [code] });

interface Row {
  code: number;
  title: RegExp;
  retry: RetryAdvice;
  /** What the fix must mention. */
  fix: RegExp;
  link?: string;
}

// One row per code with specific advice: the brief's list, then the ones the credentials step meets.
const ROWS: Row[] = [
  { code: 50076, title: /multi-factor/i, retry: 'now', fix: /complete the MFA prompt.*Microsoft Entra MFA/s, link: DOC_LINKS.partnerCenterMfa },
  { code: 50079, title: /register MFA/i, retry: 'after-fix', fix: /aka\.ms\/mysecurityinfo.*Authenticator.*third-party/s, link: DOC_LINKS.securityInfo },
  { code: 50078, title: /MFA sign-in has expired/i, retry: 'now', fix: /sign-in frequency.*remember MFA on trusted devices/s, link: DOC_LINKS.sessionLifetime },
  { code: 70043, title: /sign-in frequency/i, retry: 'now', fix: /exclude the service account from the sign-in frequency/, link: DOC_LINKS.sessionLifetime },
  { code: 700082, title: /90 days unused/, retry: 'now', fix: /Sign in\*\* again with the service account/, link: DOC_LINKS.refreshTokenLifetime },
  { code: 50173, title: /revoked/i, retry: 'now', fix: /Sign in\*\* again.*audit log/s, link: DOC_LINKS.refreshTokenRevocation },
  { code: 700003, title: /device/i, retry: 'now', fix: /Sign in\*\* again with the service account/ },
  { code: 65001, title: /Consent is missing/, retry: 'after-fix', fix: /Global Administrator.*Grant admin consent/s, link: DOC_LINKS.adminConsent },
  { code: 65004, title: /declined/i, retry: 'now', fix: /\*\*Accept\*\*/ },
  { code: 90094, title: /administrator has to approve/i, retry: 'after-fix', fix: /Global Administrator of your partner tenant/, link: DOC_LINKS.adminConsent },
  { code: 650052, title: /service is missing/i, retry: 'after-fix', fix: /partner tenant.*New-MgServicePrincipal -AppId fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd/s },
  { code: 500011, title: /service is missing/i, retry: 'after-fix', fix: /partner tenant.*New-MgServicePrincipal/s },
  { code: 650053, title: /permission doesn’t exist/, retry: 'after-fix', fix: /\*\*support\*\*/ },
  { code: 650057, title: /isn’t on the app registration/, retry: 'after-fix', fix: /API permissions.*RoleManagement\.ReadWrite\.Directory.*user_impersonation.*Grant admin consent/s, link: DOC_LINKS.apiPermissions },
  { code: 50020, title: /another tenant/, retry: 'now', fix: /service account of your partner tenant.*private/s },
  { code: 53003, title: /Conditional Access/, retry: 'after-fix', fix: /\*\*Service provider users\*\* for your partner tenant/, link: DOC_LINKS.serviceProviderUsers },
  { code: 7000215, title: /client secret was rejected/, retry: 'wait', fix: /wait a minute.*copy its \*\*Value\*\*/s, link: DOC_LINKS.clientSecrets },
  { code: 7000222, title: /expired/, retry: 'after-fix', fix: /new client secret.*\*\*Value\*\*/s, link: DOC_LINKS.clientSecrets },
  { code: 530032, title: /security policy/, retry: 'after-fix', fix: /Sign-in logs.*policy/s, link: DOC_LINKS.conditionalAccessTroubleshooting },
  { code: 50057, title: /disabled/, retry: 'after-fix', fix: /Account enabled/ },
  { code: 700016, title: /app wasn’t found/, retry: 'after-fix', fix: /Application \(client\) ID/ },
  { code: 90002, title: /Tenant not found/, retry: 'after-fix', fix: /Tenant ID/ },
];

const LEARN_OR_AKA = /^https:\/\/(learn\.microsoft\.com\/en-us\/|aka\.ms\/)/;

/** Every explanation is complete, in plain sentences, with a safe code and a Microsoft link if any. */
function assertWellFormed(e: SignInExplanation): void {
  assert.match(e.code, /^[A-Za-z0-9_]+$/);
  for (const field of [e.title, e.what, e.why, e.fix]) {
    assert.ok(field.length > 0 && field.length < 600, `${e.code}: field length ${field.length}`);
    assert.doesNotMatch(field, /undefined|null|\$\{/);
  }
  if (e.link !== undefined) assert.match(e.link, LEARN_OR_AKA);
}

describe('sign-in errors as guidance', () => {
  describe('every AADSTS code with specific advice', () => {
    for (const row of ROWS) {
      it(`AADSTS${row.code}: ${row.retry}, fix mentions ${row.fix.source.slice(0, 40)}`, () => {
        const e = entra(row.code);
        assert.equal(e.code, `AADSTS${row.code}`);
        assert.match(e.title, row.title);
        assert.equal(e.retry, row.retry);
        assert.match(e.fix, row.fix);
        assert.equal(e.link, row.link);
        assertWellFormed(e);
      });
    }

    it('has a table row for every code it explains, and explains every code the brief names', () => {
      assert.deepEqual([...EXPLAINED_AADSTS_CODES].sort(), ROWS.map((r) => r.code).sort());
      for (const code of [50076, 50079, 50078, 70043, 700082, 50173, 700003, 65001, 65004, 650052, 500011, 650053, 650057, 50020, 53003, 7000215, 7000222, 530032]) {
        assert.ok(EXPLAINED_AADSTS_CODES.includes(code), `AADSTS${code}`);
      }
    });

    it('notes that a password change alone does not end a confidential client’s connection (AADSTS50173)', () => {
      assert.match(entra(50173).why, /password change by the account itself.*doesn’t end our connection/s);
    });
  });

  describe('Partner Center', () => {
    it('900421: MFA missing, fixed by Entra MFA on the service account, with the MFA requirements page', () => {
      const e = explainSignInError({ source: 'partner-center', status: 401, body: { code: 900421, description: 'MFA required', data: [], source: 'PartnerFD' } });
      assert.equal(e.code, 'PC900421');
      assert.match(e.title, /Partner Center needs MFA/);
      assert.equal(e.retry, 'after-fix');
      assert.match(e.fix, /Microsoft Entra MFA required for the service account/);
      assert.match(e.why, /third-party MFA/);
      assert.equal(e.link, DOC_LINKS.partnerCenterMfa);
      assertWellFormed(e);
    });

    it('reads the code as a number, a numeric string, from JSON text and from a nested error object', () => {
      assert.equal(partnerCenterCode({ code: 900421 }), '900421');
      assert.equal(partnerCenterCode({ code: '900421' }), '900421');
      assert.equal(partnerCenterCode(' {"code": "900421", "description": "x"} '), '900421');
      assert.equal(partnerCenterCode('{"code": 900421}'), '900421');
      assert.equal(partnerCenterCode({ error: { code: 900421 } }), '900421');
      assert.equal(partnerCenterCode({ code: 'Forbidden' }), 'Forbidden');
      assert.equal(partnerCenterCode('<html>not json</html>'), undefined);
      assert.equal(partnerCenterCode({ code: 'adele@contoso.com' }), undefined);
      assert.equal(partnerCenterCode(null), undefined);
      for (const body of [{ code: '900421' }, '{"code": "900421"}']) {
        assert.equal(explainSignInError({ source: 'partner-center', status: 401, body }).code, 'PC900421');
      }
    });

    it('900150: the service account has no Partner Center role; the fix is the AdminAgents group', () => {
      const e = explainSignInError({ source: 'partner-center', status: 403, body: { code: 900150, description: 'The supplied role does not have the rights to perform the requested operation', source: 'PartnerFD' } });
      assert.equal(e.code, 'PC900150');
      assert.match(e.fix, /\*\*AdminAgents\*\* group/);
      assert.equal(e.link, DOC_LINKS.partnerCenterRoles);
      assertWellFormed(e);
    });

    it('the simulator’s 900421 refusal reads the same', () => {
      // The simulator's PartnerFD body for a token without mfa in amr (test/simulator/services/partner-center.ts).
      const body = { code: 900421, description: 'Multi-factor authentication is required: the access token has no mfa in its amr claim. Sign in with MFA and retry.', data: [], source: 'PartnerFD' };
      assert.equal(explainSignInError({ source: 'partner-center', status: 401, body: JSON.stringify(body) }).code, 'PC900421');
    });

    it('2032 and a 403 without a code: "Partner Center refused access", naming the roles the seeds ask for, not "wrong tenant"', () => {
      // Microsoft's error-code table: 2032 is a plain 403 "Access denied", not "not enrolled".
      const rows = [
        { status: 403, body: { code: 2032, description: 'Access denied: tenant x is not enrolled', source: 'PartnerFD' }, code: 'PC2032' },
        { status: 403, body: { code: '2032' }, code: 'PC2032' },
        { status: 403, body: '', code: 'PC_HTTP_403' },
        { status: 403, body: '<html>Forbidden</html>', code: 'PC_HTTP_403' },
      ];
      for (const row of rows) {
        const e = explainSignInError({ source: 'partner-center', status: row.status, body: row.body });
        assert.equal(e.code, row.code);
        assert.equal(e.title, 'Partner Center refused access');
        assert.doesNotMatch(`${e.title} ${e.what}`, /wrong tenant|not enrolled|2032|403/i);
        for (const role of ['Admin Agent', 'Global Admin', 'Incentives Admin']) assert.ok(e.fix.includes(`**${role}**`), `${role} in: ${e.fix}`);
        assert.match(e.fix, /AdminAgents/);
        assert.equal(e.retry, 'after-fix');
        assert.equal(e.link, DOC_LINKS.partnerCenterRoles);
        assertWellFormed(e);
      }
    });

    it('other codes get a generic answer naming the code; throttling and outages say wait', () => {
      const other = explainSignInError({ source: 'partner-center', status: 400, body: { code: 3000, description: 'Something', source: 'PartnerFD' } });
      assert.equal(other.code, 'PC3000');
      assert.match(other.title, /code 3000/);
      assert.match(other.fix, /Partner Center code 3000/);
      assert.equal(other.retry, 'after-fix');
      assertWellFormed(other);

      const throttled = explainSignInError({ source: 'partner-center', status: 429, body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' } });
      assert.equal(throttled.code, 'PC_HTTP_429');
      assert.equal(throttled.retry, 'wait');
      assert.equal(explainSignInError({ source: 'partner-center', status: 503, body: '' }).retry, 'wait');
      assertWellFormed(throttled);
    });
  });

  describe('reading Entra errors', () => {
    it('takes the AADSTS number from error_description, ignoring the trace and correlation ids', () => {
      const input = {
        error_description:
          "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd'.\r\n" +
          `Trace ID: ${TRACE}\r\nCorrelation ID: ${CORRELATION}\r\nTimestamp: 2026-11-30 04:20:00Z`,
      };
      assert.deepEqual(aadstsCodes(input), [50076]);
      assert.equal(explainSignInError({ source: 'entra', error: 'invalid_grant', suberror: 'basic_action', ...input }).code, 'AADSTS50076');
    });

    it('falls back to error_codes (numbers or numeric strings) when the description has no code', () => {
      assert.equal(explainSignInError({ source: 'entra', error: 'invalid_grant', error_codes: [700082] }).code, 'AADSTS700082');
      assert.equal(explainSignInError({ source: 'entra', error: 'invalid_grant', error_description: 'The refresh token has expired.', error_codes: ['50173'] }).code, 'AADSTS50173');
      assert.deepEqual(aadstsCodes({ error_codes: [70043, 'x', -1, 1.5, '123abc', 70043] }), [70043]);
    });

    it('prefers a code it has advice for when several are present', () => {
      const e = explainSignInError({ source: 'entra', error: 'interaction_required', error_description: description(50058), error_codes: [50058, 50076] });
      assert.equal(e.code, 'AADSTS50076');
    });

    it('reads the simulator’s token-endpoint body', () => {
      const body = aadError(400, 'invalid_client', 7000222, "The provided client secret keys for app 'x' are expired.").body;
      const input = entraErrorFromBody(body);
      assert.ok(input);
      assert.equal(explainSignInError(input).code, 'AADSTS7000222');
      assert.equal(entraErrorFromBody({ hello: 'world' }), undefined);
      assert.equal(entraErrorFromBody('AADSTS50076'), undefined);
    });

    it('reads an admin-consent redirect, which says admin_consent=True next to the error', () => {
      const params = new URLSearchParams({
        admin_consent: 'True',
        error: 'access_denied',
        error_description: description(65004, 'The user declined to consent to access the app.'),
        state: 'abc',
      });
      const input = entraErrorFromQuery(params);
      assert.ok(input);
      const e = explainSignInError(input);
      assert.equal(e.code, 'AADSTS65004');
      assert.equal(e.retry, 'now');
      assert.equal(entraErrorFromQuery(new URLSearchParams({ admin_consent: 'True', tenant: 'x' })), undefined);
    });

    it('reads msal-node errors: ServerError and InteractionRequiredAuthError', () => {
      const msalText = `Error(s): 7000215 - Timestamp: 2026-11-30 04:20:00Z - Description: ${description(7000215, 'Invalid client secret provided.')} - Correlation ID: ${CORRELATION} - Trace ID: ${TRACE}`;
      const server = entraErrorFromMsal(new ServerError('invalid_client', CORRELATION, msalText, undefined, '7000215', 401));
      assert.ok(server);
      assert.equal(explainSignInError(server).code, 'AADSTS7000215');

      const interaction = entraErrorFromMsal(new InteractionRequiredAuthError('invalid_grant', CORRELATION, description(70043), 'bad_token', '', TRACE, '', '70043'));
      assert.ok(interaction);
      assert.equal(explainSignInError(interaction).code, 'AADSTS70043');

      assert.equal(entraErrorFromMsal(new Error('boom')), undefined);
      assert.equal(entraErrorFromMsal('AADSTS50076'), undefined);
    });

    it('without a number, uses the suberror or the OAuth error', () => {
      assert.equal(explainSignInError({ source: 'entra', error: 'invalid_grant', suberror: 'basic_action' }).code, 'AADSTS50076');
      assert.equal(explainSignInError({ source: 'entra', error: 'invalid_grant', suberror: 'consent_required' }).code, 'AADSTS65001');
      assert.equal(explainSignInError({ source: 'entra', error: 'access_denied' }).code, 'consent_declined');
      const busy = explainSignInError({ source: 'entra', error: 'temporarily_unavailable' });
      assert.equal(busy.code, 'entra_temporarily_unavailable');
      assert.equal(busy.retry, 'wait');
      const nothing = explainSignInError({ source: 'entra' });
      assert.equal(nothing.code, 'entra_unknown');
      assertWellFormed(nothing);
    });

    it('an unknown code gets a generic but useful answer that names it', () => {
      const e = entra(9999999);
      assert.equal(e.code, 'AADSTS9999999');
      assert.match(e.title, /AADSTS9999999/);
      assert.match(e.what, /AADSTS9999999/);
      assert.match(e.fix, /Sign in\*\* again.*\*\*support\*\*.*AADSTS9999999/s);
      assert.equal(e.link, DOC_LINKS.errorCodes);
      assert.equal(e.retry, 'after-fix');
      assert.equal(entra(9999999, 'temporarily_unavailable').retry, 'wait');
      assertWellFormed(e);
    });
  });

  describe('our own failures', () => {
    const cases: Array<[LocalFailureInput, RetryAdvice, RegExp]> = [
      [{ source: 'local', kind: 'consent_declined' }, 'now', /\*\*Accept\*\*/],
      [{ source: 'local', kind: 'state_expired' }, 'now', /latest card/],
      [{ source: 'local', kind: 'state_unknown' }, 'now', /latest card/],
      [{ source: 'local', kind: 'state_replayed' }, 'never', /latest card/],
      [{ source: 'local', kind: 'state_other_user' }, 'never', /your own latest card/],
      [{ source: 'local', kind: 'state_other_partner' }, 'never', /details you entered last/],
      [{ source: 'local', kind: 'wrong_account' }, 'now', /service account/],
      [{ source: 'local', kind: 'wrong_tenant' }, 'now', /partner tenant/],
      [{ source: 'local', kind: 'mfa_missing' }, 'after-fix', /Microsoft Entra MFA required/],
      [{ source: 'local', kind: 'bad_client_secret' }, 'wait', /\*\*Value\*\*/],
      [{ source: 'local', kind: 'bad_client_secret', reason: 'looks_like_secret_id' }, 'after-fix', /\*\*Value\*\* column/],
    ];
    for (const [input, retry, fix] of cases) {
      it(`${input.kind}${'reason' in input && input.reason ? ` (${input.reason})` : ''}: ${retry}`, () => {
        const e = explainSignInError(input);
        assert.equal(e.code, input.kind);
        assert.equal(e.retry, retry);
        assert.match(e.fix, fix);
        assertWellFormed(e);
      });
    }

    it('MFA missing from amr explains third-party MFA and trusted locations, and links the Partner Center MFA page', () => {
      const e = explainSignInError({ source: 'local', kind: 'mfa_missing' });
      assert.match(e.why, /trusted location.*Duo/s);
      assert.equal(e.link, DOC_LINKS.partnerCenterMfa);
    });

    it('wrong account names both accounts when they are plain UPNs, and neither when they are not', () => {
      const named = explainSignInError({ source: 'local', kind: 'wrong_account', expectedAccount: 'svc-onboard@fabrikam.onmicrosoft.com', signedInAccount: 'megan_b@fabrikam.com' });
      assert.match(named.what, /as `megan_b@fabrikam\.com`.*`svc-onboard@fabrikam\.onmicrosoft\.com`/);
      assert.match(named.fix, /`svc-onboard@fabrikam\.onmicrosoft\.com`/);

      const junk = explainSignInError({ source: 'local', kind: 'wrong_account', expectedAccount: '**x**@y.com`', signedInAccount: '<img src=x>@a.b' });
      assert.doesNotMatch(JSON.stringify(junk), /img|\*\*x/);
      assert.match(junk.what, /with a different account.*the service account you named/);
    });

    it('spots a secret ID pasted instead of the value', () => {
      assert.equal(looksLikeSecretId(' 3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b '), true);
      assert.equal(looksLikeSecretId('Abc8Q~x1y2z3W4v5U6t7S8r9Q0p1O2n3M4l5K6j7'), false);
    });
  });

  describe('leaks nothing from what Microsoft sent', () => {
    const EMAIL = 'adele.vance@contoso.com';
    const TRACE_ID = '7c1c8d2e-4b3a-4f5e-9a8b-1c2d3e4f5a6b';
    const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1cG4iOiJhZGVsZS52YW5jZUBjb250b3NvLmNvbSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const SECRETS = [EMAIL, TRACE_ID, JWT, TENANT, 'contoso', 'eyJ', 'Trace ID', 'Correlation'];
    const dirty = (code: number | string) =>
      `AADSTS${code}: User account '${EMAIL}' from identity provider 'https://sts.windows.net/${TENANT}/' does not exist. token=${JWT}\r\n` +
      `Trace ID: ${TRACE_ID}\r\nCorrelation ID: ${TRACE_ID}\r\nTimestamp: 2026-11-30 04:20:00Z`;

    function assertClean(e: SignInExplanation, what: string): void {
      const out = `${JSON.stringify(e)}\n${toChatText(e)}`;
      for (const s of SECRETS) assert.ok(!out.includes(s), `${what} leaked ${s}`);
    }

    it('for every explained code, an unknown code and no code at all', () => {
      for (const code of [...EXPLAINED_AADSTS_CODES, 9999999]) {
        assertClean(explainSignInError({ source: 'entra', error: 'invalid_grant', error_description: dirty(code), error_codes: [code] }), `AADSTS${code}`);
      }
      assertClean(explainSignInError({ source: 'entra', error: 'invalid_grant', error_description: dirty('') }), 'no code');
    });

    it('when the other fields carry junk too', () => {
      const input = { source: 'entra' as const, error: EMAIL, error_description: `${JWT} ${EMAIL}`, suberror: TRACE_ID, error_codes: [JWT, EMAIL] };
      const e = explainSignInError(input);
      assert.equal(e.code, 'entra_unknown');
      assertClean(e, 'junk fields');
      assertClean(explainSignInError(entraErrorFromQuery(new URLSearchParams({ error: 'access_denied', error_description: dirty(65004), state: JWT }))!), 'redirect');
    });

    it('in Partner Center bodies', () => {
      for (const body of [
        { code: 900421, description: dirty(900421), data: [EMAIL], source: 'PartnerFD' },
        { code: 2032, description: dirty(2032) },
        { code: JWT, description: EMAIL },
        { error: { code: EMAIL, message: JWT } },
        `{"code": "${TRACE_ID}", "description": "${EMAIL}"}`,
        dirty(1),
      ]) {
        assertClean(explainSignInError({ source: 'partner-center', status: 401, body }), JSON.stringify(body).slice(0, 40));
      }
    });

    it('in our own failures given junk context', () => {
      assertClean(explainSignInError({ source: 'local', kind: 'wrong_account', expectedAccount: JWT, signedInAccount: `${TRACE_ID} ${EMAIL}` }), 'wrong_account');
    });
  });

  it('renders one chat message in the bot’s what-happened / what-to-do shape', () => {
    const text = toChatText(entra(53003));
    assert.match(text, /^\*\*Blocked by Conditional Access\*\*\n\nA Conditional Access policy blocked the sign-in\. .+\n\n\*\*What to do:\*\* .+\n\nMore: https:\/\/learn\.microsoft\.com\//s);
    assert.doesNotMatch(toChatText(entra(700003)), /More:/);
  });
});
