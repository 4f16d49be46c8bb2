// `npm run bench -- --fuzz`: the fuzz properties of test/fuzz over many cases (BENCH_FUZZ_CASES,
// default 10,000, shared out over the properties), counted instead of stopping at the first.
import fc from 'fast-check';
import { connectorServiceUrl } from '../test/harness/activities';
import { anyActivityBody, anyAuthQuery, anyExecute, anySubmit, anyVerifyForm, AUTH_ROUTES, FuzzRig, rejectedSubmit, Tally, type FormCard, type Outcome } from '../test/fuzz/fuzz-rig';

export async function benchFuzz(): Promise<void> {
  const total = Number(process.env.BENCH_FUZZ_CASES ?? 10_000);
  const seed = Number(process.env.BENCH_FUZZ_SEED ?? Date.now() % 2 ** 31);
  const rig = await FuzzRig.start();
  const forms = await rig.formCards();
  const serviceUrl = connectorServiceUrl(rig.bot.sim.baseUrl);
  // Submits are most of the surface: half the cases, shared by the form cards; the rest evenly.
  const share = (parts: number, of: number) => Math.max(1, Math.round(of / parts));
  const submits = share(2, total);
  const perForm = share(forms.length * 2, submits);
  const rest = share(4, total - submits);
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, offset: number): T[] => fc.sample(arb, { numRuns: n, seed: seed + offset });

  const rows: Array<[string, Tally]> = [];
  // The test client reads a chat's whole transcript per turn: a fresh partner every CHUNK cases keeps that short.
  const CHUNK = 200;
  const run = async <T>(name: string, inputs: T[], one: (input: T, i: number) => Promise<Outcome>) => {
    const tally = new Tally();
    const started = Date.now();
    for (const [i, input] of inputs.entries()) tally.add(await one(input, i));
    rows.push([name, tally]);
    console.log(`  ${name.padEnd(46)} ${String(tally.cases).padStart(6)} cases  crashes ${tally.counts.crash}  500s ${tally.counts.http500}  state changes ${tally.counts.stateChange}  generic ${tally.counts.generic}  silent ${tally.counts.silent}  (${((Date.now() - started) / tally.cases).toFixed(1)} ms/case)`);
  };

  console.log(`Fuzz (fast-check, seed ${seed}; in-process bot over HTTP, the simulator as Teams and Microsoft)`);
  /** The form card for case i: a fresh one every CHUNK cases. */
  const rotating = (first: FormCard) => {
    let form = first;
    return async (i: number) => {
      if (i > 0 && i % CHUNK === 0) form = await form.again();
      return form;
    };
  };
  for (const [i, form] of forms.entries()) {
    const at = rotating(form);
    // The arbitrary is made for the first card; a fresh card has another id, so the case's id is swapped for it.
    await run(`refused submit: ${form.name} card`, sample(rejectedSubmit(form), perForm, i), async (v, n) => {
      const f = await at(n);
      return rig.submitCase(f, { ...v, cardId: f.cardId }, true);
    });
  }
  for (const [i, form] of forms.entries()) {
    const at = rotating(await form.again());
    await run(`any submit: ${form.name} card`, sample(anySubmit(form.cardId), perForm, 10 + i), async (v, n) => {
      const f = await at(n);
      return rig.submitCase(f, v.cardId === form.cardId ? { ...v, cardId: f.cardId } : v, false);
    });
  }
  const invokeAt = rotating(await forms[0]!.again());
  await run('adaptiveCard/action invoke', sample(anyExecute, rest, 20), async (a, n) => rig.executeCase(await invokeAt(n), a));
  await run('POST /api/messages', sample(anyActivityBody(serviceUrl, forms[0]!.tenant), rest, 21), (b) => rig.messagesCase(b));
  await run('GET /auth/*', sample(fc.tuple(fc.constantFrom(...AUTH_ROUTES), anyAuthQuery), rest, 22), ([r, q]) => rig.authCase(r, q));
  await run('GET and POST /verify-email', sample(fc.tuple(fc.constantFrom<'GET' | 'POST'>('GET', 'POST'), anyVerifyForm), rest, 23), ([m, p]) => rig.verifyCase(m, p));

  const sum = new Tally();
  for (const [, t] of rows) {
    sum.cases += t.cases;
    for (const k of Object.keys(sum.counts) as Array<keyof Tally['counts']>) sum.counts[k] += t.counts[k];
    for (const e of t.examples) if (sum.examples.length < 10) sum.examples.push(e);
  }
  console.log(`  ${'total'.padEnd(46)} ${String(sum.cases).padStart(6)} cases  crashes ${sum.counts.crash}  500s ${sum.counts.http500}  state changes ${sum.counts.stateChange}  generic ${sum.counts.generic}  silent ${sum.counts.silent}`);
  for (const e of sum.examples) console.log(`    ${e.problems.join(', ')}: ${JSON.stringify(e.input).slice(0, 300)}`);
  await rig.stop();
}
