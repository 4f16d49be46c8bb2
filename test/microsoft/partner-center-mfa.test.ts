import assert from 'node:assert/strict';
import { readMfaCompliant } from '../../src/microsoft/partner-center-mfa';

describe('Partner Center ValidateMfa answer', () => {
  it('reads isMfaCompliant from the response header first, then from the body; absent is unknown', () => {
    assert.equal(readMfaCompliant(new Headers({ isMfaCompliant: 'true' }), undefined), true);
    assert.equal(readMfaCompliant(new Headers({ ismfacompliant: 'False' }), { isMfaCompliant: true }), false);
    assert.equal(readMfaCompliant(new Headers(), { isMfaCompliant: false }), false);
    assert.equal(readMfaCompliant(new Headers(), { isMfaCompliant: 'true' }), true);
    assert.equal(readMfaCompliant(new Headers({ isMfaCompliant: 'maybe' }), {}), undefined);
    assert.equal(readMfaCompliant(new Headers(), 'not json'), undefined);
  });
});
