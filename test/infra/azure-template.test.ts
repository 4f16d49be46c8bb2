import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig } from '../../src/config';

/**
 * infra/azure.json checked without Azure: documented resource types and API versions, every
 * parameters()/variables()/resourceId() resolved, every app setting production config requires,
 * no secret in the template or its parameters, and teamsapp.yml wired to it.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The resource types and API versions the template may use, each with Microsoft's reference page (also infra/README.md). */
const DOCUMENTED: Record<string, { apiVersion: string; doc: string }> = {
  'Microsoft.ManagedIdentity/userAssignedIdentities': { apiVersion: '2023-01-31', doc: 'https://learn.microsoft.com/azure/templates/microsoft.managedidentity/2023-01-31/userassignedidentities' },
  'Microsoft.Web/serverfarms': { apiVersion: '2022-09-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.web/2022-09-01/serverfarms' },
  'Microsoft.Web/sites': { apiVersion: '2022-09-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.web/2022-09-01/sites' },
  'Microsoft.DBforPostgreSQL/flexibleServers': { apiVersion: '2022-12-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/2022-12-01/flexibleservers' },
  'Microsoft.DBforPostgreSQL/flexibleServers/configurations': { apiVersion: '2022-12-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/2022-12-01/flexibleservers/configurations' },
  'Microsoft.DBforPostgreSQL/flexibleServers/administrators': { apiVersion: '2022-12-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/2022-12-01/flexibleservers/administrators' },
  'Microsoft.DBforPostgreSQL/flexibleServers/databases': { apiVersion: '2022-12-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/2022-12-01/flexibleservers/databases' },
  'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules': { apiVersion: '2022-12-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/2022-12-01/flexibleservers/firewallrules' },
  'Microsoft.KeyVault/vaults': { apiVersion: '2023-07-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.keyvault/2023-07-01/vaults' },
  'Microsoft.Authorization/roleAssignments': { apiVersion: '2022-04-01', doc: 'https://learn.microsoft.com/azure/templates/microsoft.authorization/2022-04-01/roleassignments' },
  'Microsoft.BotService/botServices': { apiVersion: '2022-09-15', doc: 'https://learn.microsoft.com/azure/templates/microsoft.botservice/2022-09-15/botservices' },
  'Microsoft.BotService/botServices/channels': { apiVersion: '2022-09-15', doc: 'https://learn.microsoft.com/azure/templates/microsoft.botservice/2022-09-15/botservices/channels' },
};

interface Template {
  parameters?: Record<string, { type: string; defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: { type: string; apiVersion: string; name: string; properties?: { siteConfig?: { appSettings?: { name: string; value: unknown }[] } } }[];
  outputs?: Record<string, { type: string; value: unknown }>;
}
interface ParametersFile { parameters: Record<string, { value?: unknown; reference?: unknown }> }

/** Every string in a JSON value, with where it is. */
function strings(value: unknown, path = '$'): { path: string; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [{ path: `${path}.${k} (key)`, text: k }, ...strings(v, `${path}.${k}`)]);
  return [];
}

/** The keys production config names as missing in `env` (loadConfig lists every problem, one per line). */
function requiredKeys(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return [...(err as Error).message.matchAll(/^\s+- ([A-Z_]+): required/gm)].map((m) => m[1]!);
  }
}

const SECRET_NAME = /password|secret|(^|_)key$|connectionstring/i;

/** Everything wrong with the template and its parameters file, one line each. */
export function templateProblems(template: Template, parameters: ParametersFile): string[] {
  const problems: string[] = [];
  const types = new Set(template.resources.map((r) => r.type));
  for (const r of template.resources) {
    const known = DOCUMENTED[r.type];
    if (!known) problems.push(`${r.type}: not a documented resource type in the allow-list`);
    else if (known.apiVersion !== r.apiVersion) problems.push(`${r.type}@${r.apiVersion}: not the documented API version (${known.apiVersion}, ${known.doc})`);
  }
  const all = strings(template);
  for (const { path, text } of all) {
    for (const m of text.matchAll(/\bparameters\('([^']+)'\)/g)) if (!template.parameters?.[m[1]!]) problems.push(`${path}: parameters('${m[1]}') is not declared`);
    for (const m of text.matchAll(/\bvariables\('([^']+)'\)/g)) if (!(template.variables && m[1]! in template.variables)) problems.push(`${path}: variables('${m[1]}') is not declared`);
    for (const m of text.matchAll(/\bresourceId\('([^']+)'/g)) {
      if (!types.has(m[1]!) && m[1] !== 'Microsoft.Authorization/roleDefinitions') problems.push(`${path}: resourceId('${m[1]}') names no resource of the template`);
    }
    for (const m of text.matchAll(/reference\(resourceId\('([^']+)'[^)]*\)\s*,\s*'([^']+)'\)/g)) {
      const known = DOCUMENTED[m[1]!];
      if (known && known.apiVersion !== m[2]) problems.push(`${path}: reference() of ${m[1]} with API version ${m[2]}, not the documented ${known.apiVersion}`);
    }
    if (/:\/\/[^/\s:@'{}]+:[^@\s'{}]+@/.test(text)) problems.push(`${path}: a URL with a password in it`);
  }
  for (const [name, p] of Object.entries(template.parameters ?? {})) {
    if (SECRET_NAME.test(name) && !/^secure(string|object)$/i.test(p.type)) problems.push(`parameter ${name}: a secret must be a securestring`);
    if (SECRET_NAME.test(name) && p.defaultValue !== undefined && p.defaultValue !== '') problems.push(`parameter ${name}: a secret has no default value in the template`);
  }
  for (const [name, p] of Object.entries(parameters.parameters)) {
    if (SECRET_NAME.test(name) && typeof p.value === 'string' && !/^\$\{\{[A-Z0-9_]+\}\}$/.test(p.value)) problems.push(`azure.parameters.json ${name}: a secret value written in the file`);
  }
  const site = template.resources.find((r) => r.type === 'Microsoft.Web/sites');
  const settings = new Map((site?.properties?.siteConfig?.appSettings ?? []).map((s) => [s.name, s.value]));
  for (const [name, value] of settings) {
    if (SECRET_NAME.test(name)) problems.push(`app setting ${name}: the bot on Azure holds no secret (its identity is the managed identity)`);
    if (typeof value === 'string' && !value.startsWith('[') && /password|secret/i.test(value)) problems.push(`app setting ${name}: a secret-looking literal value`);
  }
  const literal = (name: string): string => {
    const v = settings.get(name);
    return typeof v === 'string' && !v.startsWith('[') ? v : '';
  };
  // What production requires with nothing set, then with the identity kind the template chose.
  const required = new Set([
    ...requiredKeys({ NODE_ENV: 'production' }),
    ...requiredKeys({ NODE_ENV: 'production', BOT_TYPE: literal('BOT_TYPE'), DATABASE_AUTH: literal('DATABASE_AUTH') }),
  ]);
  for (const key of required) if (!settings.has(key)) problems.push(`app setting ${key}: required by the bot's production config, not set by the template`);
  if (literal('NODE_ENV') !== 'production') problems.push('app setting NODE_ENV: expected production');
  return problems;
}

const template = (): Template => JSON.parse(read('infra/azure.json')) as Template;
const parameters = (): ParametersFile => JSON.parse(read('infra/azure.parameters.json')) as ParametersFile;

describe('infra/azure.json (the Azure deployment), checked without Azure', () => {
  it('is structurally sound: documented types and versions, everything it names declared, every required app setting, no secret', () => {
    assert.deepEqual(templateProblems(template(), parameters()), []);
  });

  it('derives the required app settings from the config itself, and the template sets them', () => {
    const keys = requiredKeys({ NODE_ENV: 'production' });
    for (const key of ['BOT_ID', 'PUBLIC_BASE_URL', 'DATABASE_URL', 'KEY_VAULT_URL', 'MAIL_SENDER']) assert.ok(keys.includes(key), `${key} in ${keys.join(', ')}`);
    assert.ok(requiredKeys({ NODE_ENV: 'production', BOT_TYPE: 'UserAssignedMSI', DATABASE_AUTH: 'entra' }).includes('AZURE_CLIENT_ID'));
  });

  it('the web app: Linux Node (a parameter), always on, HTTPS only, health check on /readyz; the plan\'s instance count a parameter', () => {
    const t = template();
    const site = t.resources.find((r) => r.type === 'Microsoft.Web/sites') as unknown as { properties: { httpsOnly: boolean; siteConfig: Record<string, unknown> } };
    assert.equal(site.properties.httpsOnly, true);
    assert.equal(site.properties.siteConfig.alwaysOn, true);
    assert.equal(site.properties.siteConfig.healthCheckPath, '/readyz');
    assert.equal(site.properties.siteConfig.linuxFxVersion, "[format('NODE|{0}', parameters('nodeVersion'))]");
    const plan = t.resources.find((r) => r.type === 'Microsoft.Web/serverfarms') as unknown as { sku: { capacity: string } };
    assert.equal(plan.sku.capacity, "[parameters('instanceCount')]");
    const pgServer = t.resources.find((r) => r.type === 'Microsoft.DBforPostgreSQL/flexibleServers') as unknown as { properties: { authConfig: Record<string, string> } };
    assert.deepEqual([pgServer.properties.authConfig.activeDirectoryAuth, pgServer.properties.authConfig.passwordAuth], ['Enabled', 'Disabled']);
    const vault = t.resources.find((r) => r.type === 'Microsoft.KeyVault/vaults') as unknown as { properties: Record<string, unknown> };
    assert.deepEqual([vault.properties.enableRbacAuthorization, vault.properties.enableSoftDelete, vault.properties.enablePurgeProtection], [true, true, true]);
  });

  it('fails a broken copy: a missing app setting, an unknown API version, a secret, an undeclared name', () => {
    const missing = template();
    const site = missing.resources.find((r) => r.type === 'Microsoft.Web/sites')!;
    site.properties!.siteConfig!.appSettings = site.properties!.siteConfig!.appSettings!.filter((s) => s.name !== 'KEY_VAULT_URL');
    assert.deepEqual(templateProblems(missing, parameters()), ['app setting KEY_VAULT_URL: required by the bot\'s production config, not set by the template']);

    const version = template();
    version.resources.find((r) => r.type === 'Microsoft.KeyVault/vaults')!.apiVersion = '2099-01-01';
    assert.deepEqual(templateProblems(version, parameters()), [`Microsoft.KeyVault/vaults@2099-01-01: not the documented API version (2023-07-01, ${DOCUMENTED['Microsoft.KeyVault/vaults']!.doc})`]);

    const secret = template();
    secret.resources.find((r) => r.type === 'Microsoft.Web/sites')!.properties!.siteConfig!.appSettings!.push({ name: 'BOT_PASSWORD', value: 'hunter2-hunter2' });
    assert.deepEqual(templateProblems(secret, parameters()), ['app setting BOT_PASSWORD: the bot on Azure holds no secret (its identity is the managed identity)']);

    const urlPassword = template();
    urlPassword.resources.find((r) => r.type === 'Microsoft.Web/sites')!.properties!.siteConfig!.appSettings!.find((s) => s.name === 'DATABASE_URL')!.value = 'postgres://bot:Pa55word@db.example.com:5432/onboarding';
    assert.ok(templateProblems(urlPassword, parameters()).some((p) => p.endsWith('a URL with a password in it')));

    const adminParam = template();
    adminParam.parameters!.administratorLoginPassword = { type: 'string', defaultValue: 'P@ssw0rd!' };
    assert.deepEqual(templateProblems(adminParam, parameters()), [
      'parameter administratorLoginPassword: a secret must be a securestring',
      'parameter administratorLoginPassword: a secret has no default value in the template',
    ]);

    const inFile = parameters();
    inFile.parameters.botPassword = { value: 'hunter2-hunter2' };
    assert.deepEqual(templateProblems(template(), inFile), ['azure.parameters.json botPassword: a secret value written in the file']);

    const undeclared = template();
    delete undeclared.parameters!.mailSender;
    assert.ok(templateProblems(undeclared, parameters()).some((p) => p.endsWith("parameters('mailSender') is not declared")));
  });

  it('teamsapp.yml deploys it in provision, and every value the later steps and the manifest read is an output, another step\'s, or in env/.env.dev', () => {
    const yml = read('teamsapp.yml');
    const provision = yml.slice(yml.indexOf('\nprovision:'), yml.indexOf('\ndeploy:'));
    assert.match(provision, /- uses: arm\/deploy\n\s+with:\n\s+subscriptionId: \$\{\{AZURE_SUBSCRIPTION_ID\}\}\n\s+resourceGroupName: \$\{\{AZURE_RESOURCE_GROUP_NAME\}\}\n\s+templates:\n\s+- path: \.\/infra\/azure\.json\n\s+parameters: \.\/infra\/azure\.parameters\.json\n\s+deploymentName: \S+/);
    assert.doesNotMatch(yml, /generateClientSecret|aadApp\/create|botFramework\/create/, 'no client secret: the managed identity is the bot\'s identity');
    const outputs = new Set(Object.keys(template().outputs ?? {}).map((k) => k.toUpperCase()));
    const written = new Set([...yml.matchAll(/^\s+\w+: ([A-Z_]+)$/gm)].map((m) => m[1]!));
    const envDev = Object.keys(parseEnv(read('env/.env.dev')));
    const builtIn = new Set(['TEAMSFX_ENV']);
    const later = yml.slice(yml.indexOf('- uses: arm/deploy')) + read('manifest/manifest.json');
    for (const m of later.matchAll(/\$\{\{([A-Z_]+)\}\}/g)) {
      const name = m[1]!;
      assert.ok(outputs.has(name) || written.has(name) || builtIn.has(name) || envDev.includes(name), `${name} comes from nowhere`);
    }
    for (const name of ['BOT_ID', 'BOT_TENANT_ID', 'BOT_DOMAIN', 'PUBLIC_BASE_URL', 'BOT_AZURE_APP_SERVICE_RESOURCE_ID', 'DATABASE_URL', 'KEY_VAULT_URL', 'AZURE_CLIENT_ID']) {
      assert.ok(outputs.has(name), `the template outputs ${name}`);
      assert.ok(envDev.includes(name), `env/.env.dev has a line for ${name}`);
    }
    for (const m of read('infra/azure.parameters.json').matchAll(/\$\{\{([A-Z_]+)\}\}/g)) assert.ok(envDev.includes(m[1]!), `env/.env.dev declares ${m[1]} for the parameters file`);
  });

  it('infra/README.md lists every allowed type and version with its reference page', () => {
    const readme = read('infra/README.md');
    for (const [type, { apiVersion, doc }] of Object.entries(DOCUMENTED)) assert.ok(readme.includes(`| ${type} | ${apiVersion} | ${doc} |`), type);
  });
});
